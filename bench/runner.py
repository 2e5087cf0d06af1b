"""Benchmark orchestrator: `bash bench/run.sh [options]` (see docs/bench.md).

Runs in bench/.venv (standard library only) and starts everything it measures itself:
fresh PostgreSQL databases seeded with `seed_demo --products N`, localstripe and the web server
(granian through `python -m backend.serve`, 2 workers, production settings plus the bench ping
URL) on free loopback ports, wrk for the read scenarios and bench/checkout.py for the checkout
mix. It stops what it started, writes bench/results/<run>/results.json and renders BENCHMARKS.md
through bench/report.py.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import re
import resource
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
PROJECT_PY = ROOT / ".venv" / "bin" / "python"
BENCH_PY = Path(sys.executable)
HOST = "127.0.0.1"  # the only address this harness ever sends traffic to
PG = {"host": "127.0.0.1", "port": "5432", "user": "postgres"}
REDIS_DB_URL = "redis://127.0.0.1:6379/13"
REDIS_PREFIX = "novacart-bench"
UNIQUE_PATHS = 60_000  # distinct URLs for a cache-miss scenario: more than 15 s can use


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def run(cmd: list[str], *, env: dict | None = None, quiet: bool = True, timeout: float = 900) -> str:
    result = subprocess.run(
        cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    if result.returncode != 0:
        sys.stderr.write(result.stdout[-4000:] + result.stderr[-4000:])
        raise SystemExit(f"bench: command failed ({result.returncode}): {shlex.join(cmd)}")
    if not quiet:
        print(result.stdout, end="")
    return result.stdout


def psql(sql: str, database: str = "postgres") -> str:
    return run(
        [
            "psql",
            "-w",
            "-X",
            "-q",
            "-t",
            "-A",
            "-h",
            PG["host"],
            "-p",
            PG["port"],
            "-U",
            PG["user"],
            "-d",
            database,
            "-c",
            sql,
        ]
    ).strip()


def cpu_times() -> tuple[int, int, int]:
    """(busy, total, steal) jiffies of the whole machine. Steal is time the hypervisor gave this
    virtual machine's cores to another guest while they had work: part of busy, and no process's."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]
    total = sum(fields[:8])
    return total - idle, total, fields[7]


def _all_process_ticks() -> dict[int, tuple[int, str]]:
    """pid -> (user+system ticks, command line) for every process on the machine."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        found[int(entry.name)] = (int(fields[11]) + int(fields[12]), cmdline)
    return found


class CpuMeter:
    """Where the cores went while a scenario ran, from /proc: the web server's processes, the
    PostgreSQL backends of the bench databases, the load generator (children this script waited
    for), helpers (localstripe, the Stripe delay proxy, Redis), every other process on the machine
    (other people's work: the noise indicator), and the rest of the busy time, which no live
    process was charged for (interrupts, processes that came and went within the window)."""

    def __init__(self, server_pids: list[int], helper_pids: list[int] | None = None):
        self.server_pids = set(server_pids)
        self.helper_pids = set(helper_pids or [])
        self.wall = time.monotonic()
        self.busy, _, self.steal = cpu_times()
        self.processes = _all_process_ticks()
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        self.children = usage.ru_utime + usage.ru_stime

    def stop(self) -> dict:
        ticks = os.sysconf("SC_CLK_TCK")
        wall = time.monotonic() - self.wall
        busy, _, steal = cpu_times()
        busy, steal = (busy - self.busy) / ticks, (steal - self.steal) / ticks
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        loadgen = usage.ru_utime + usage.ru_stime - self.children
        buckets = {"server": 0, "database": 0, "helpers": 0, "other_processes": 0}
        me = os.getpid()
        for pid, (after, cmdline) in _all_process_ticks().items():
            if pid == me:
                continue
            # A process started during the window (a new database connection) counts in full; the
            # load generator has exited by now and is counted from this script's children.
            before = self.processes.get(pid, (0, ""))[0]
            delta = after - before
            if pid in self.server_pids:
                buckets["server"] += delta
            elif cmdline.startswith("postgres:") and "novacart_bench_" in cmdline:
                buckets["database"] += delta
            elif pid in self.helper_pids or cmdline.startswith("redis-server"):
                buckets["helpers"] += delta  # localstripe, the delay proxy, Redis (our cache)
            else:
                buckets["other_processes"] += delta
        seconds = {k: v / ticks for k, v in buckets.items()}
        attributed = sum(seconds.values()) + loadgen
        cores = os.cpu_count() or 1
        return {
            "wall_s": round(wall, 2),
            "cores": cores,
            "machine_busy_s": round(busy, 2),
            "server_s": round(seconds["server"], 2),
            "database_s": round(seconds["database"], 2),
            "loadgen_s": round(loadgen, 2),
            "helpers_s": round(seconds["helpers"], 2),
            "other_processes_s": round(seconds["other_processes"], 2),
            "steal_s": round(steal, 2),
            "unattributed_s": round(max(0.0, busy - steal - attributed), 2),
            "idle_s": round(max(0.0, wall * cores - busy), 2),
        }


def process_cpu(pids: list[int]) -> float:
    """User+system CPU seconds of the given processes (threads included)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])
    return total / ticks


def child_pids(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        with contextlib.suppress(OSError):
            found += [int(x) for x in (task / "children").read_text().split()]
    return found


# --- Machine ----------------------------------------------------------------------------
def machine() -> dict:
    cpu_model = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    if not cpu_model and shutil.which("lscpu"):
        match = re.search(r"Model name:\s*(.+)", run(["lscpu"]))
        cpu_model = match.group(1).strip() if match else ""
    mem_kb = int(re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text()).group(1))
    git = run(["git", "rev-parse", "--short", "HEAD"]).strip()
    dirty = bool(run(["git", "status", "--porcelain", "--untracked-files=no"]).strip())
    return {
        "nproc": os.cpu_count(),
        "cpu_model": cpu_model,
        "memory_gib": round(mem_kb / 1024 / 1024, 1),
        "kernel": platform.release(),
        "os": _os_name(),
        "python": run([str(PROJECT_PY), "-c", "import sys; print(sys.version.split()[0])"]).strip(),
        "django": run([str(PROJECT_PY), "-c", "import django; print(django.__version__)"]).strip(),
        "server": "granian "
        + run([str(PROJECT_PY), "-c", "import granian; print(granian.__version__)"]).strip(),
        "postgresql": psql("SHOW server_version"),
        "wrk": (
            subprocess.run(
                ["wrk", "--version"], capture_output=True, text=True, check=False
            ).stdout.splitlines()
            or [""]
        )[0].split(" [")[0],
        "git_commit": git + ("-dirty" if dirty else ""),
    }


def _os_name() -> str:
    with contextlib.suppress(OSError):
        match = re.search(r'PRETTY_NAME="([^"]+)"', Path("/etc/os-release").read_text())
        if match:
            return match.group(1)
    return platform.system()


# --- Database ---------------------------------------------------------------------------
def django_env(database: str, extra: dict | None = None) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_"))}
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "bench.settings_bench",
            "DATABASE_URL": f"postgres://{PG['user']}@{PG['host']}:{PG['port']}/{database}",
            "SECRET_KEY": "bench-only-secret-key-not-used-anywhere-else-0123456789",
            "DEBUG": "false",
            "ALLOWED_HOSTS": HOST,
            "SECURE_SSL_REDIRECT": "false",
            "THROTTLE_DISABLED": "true",
            "LOG_LEVEL": "WARNING",
            "PYTHONDONTWRITEBYTECODE": "1",
            # Never a Redis from the caller's environment: `queries` clears its cache.
            "REDIS_URL": "",
        }
    )
    env.update(extra or {})
    return env


def redis_available() -> bool:
    try:
        with socket.create_connection((HOST, 6379), timeout=1) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def redis_cleanup() -> None:
    """Drop the cache keys and the never-consumed Celery messages this run left in its Redis DB."""
    pattern = f":1:{REDIS_PREFIX}*"
    script = (
        f"import redis; r = redis.Redis.from_url({REDIS_DB_URL!r})\n"
        f"keys = list(r.scan_iter(match={pattern!r}))\n"
        "keys += [k for k in r.scan_iter() if k.startswith((b'celery', b'_kombu', b'unacked'))]\n"
        "r.delete(*keys) if keys else None\n"
    )
    with contextlib.suppress(SystemExit):
        run([str(PROJECT_PY), "-c", script])


def create_database(name: str, products: int) -> float:
    started = time.perf_counter()
    psql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    psql(f'CREATE DATABASE "{name}"')
    env = django_env(name)
    log(f"{name}: migrate")
    run([str(PROJECT_PY), "manage.py", "migrate", "--noinput"], env=env)
    log(f"{name}: seed_demo --products {products}")
    seeded = time.perf_counter()
    run([str(PROJECT_PY), "manage.py", "seed_demo", "--products", str(products)], env=env)
    seed_s = time.perf_counter() - seeded
    psql("VACUUM ANALYZE", database=name)
    log(f"{name}: ready in {time.perf_counter() - started:.0f}s (seed {seed_s:.0f}s)")
    return round(seed_s, 1)


def drop_database(name: str) -> None:
    with contextlib.suppress(SystemExit):
        psql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def django_task(database: str, *args: str) -> None:
    run([str(PROJECT_PY), str(BENCH / "django_tasks.py"), *args], env=django_env(database))


# --- Processes --------------------------------------------------------------------------
class Service:
    def __init__(self, name: str, cmd: list[str], env: dict, logfile: Path, port: int):
        self.name, self.cmd, self.env, self.logfile, self.port = name, cmd, env, logfile, port
        self.proc: subprocess.Popen | None = None

    def start(self, ready_path: str | None = None, timeout: float = 60) -> None:
        self.log_handle = self.logfile.open("ab")
        self.proc = subprocess.Popen(
            self.cmd, cwd=ROOT, env=self.env, stdout=self.log_handle, stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise SystemExit(f"bench: {self.name} exited early; see {self.logfile}")
            if self._ready(ready_path):
                return
            if time.monotonic() > deadline:
                self.stop()
                raise SystemExit(f"bench: {self.name} did not become ready; see {self.logfile}")
            time.sleep(0.2)

    def _ready(self, path: str | None) -> bool:
        if path is None:
            try:
                with socket.create_connection((HOST, self.port), timeout=0.5):
                    return True
            except OSError:
                return False
        status, _ = http_get(f"http://{HOST}:{self.port}{path}")
        return status == 200

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()  # the web server: graceful stop of its own workers
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        with contextlib.suppress(AttributeError):
            self.log_handle.close()


def http_request(
    method: str, url: str, token: str | None = None, body: dict | None = None
) -> tuple[int, bytes, str]:
    """(status, body, content type); status 0 when nothing answered. Loopback only."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method)
    if data is not None:
        request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read(), response.headers.get("Content-Type", "")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read(), exc.headers.get("Content-Type", "")
    except OSError:
        return 0, b"", ""


def http_get(url: str, token: str | None = None) -> tuple[int, bytes]:
    status, body, _ = http_request("GET", url, token)
    return status, body


def server_cmd(port: int) -> tuple[list[str], dict[str, str]]:
    """The production launcher (backend/serve.py) on bench.wsgi: backend.wsgi's application plus
    /api/bench/bare/ (the ping view without any middleware), so the middleware stack's cost is
    measured in the same server and run. 2 workers, on loopback; threads as WEB_THREADS says."""
    cmd = [str(PROJECT_PY), "-m", "backend.serve", "bench.wsgi:application"]
    return cmd, {"PORT": str(port), "WEB_BIND_ADDRESS": HOST, "WEB_CONCURRENCY": "2"}


# --- Load -------------------------------------------------------------------------------
def wrk(
    base: str,
    paths: list[str],
    out: Path,
    args,
    *,
    tokens_file: Path | None = None,
    duration: float | None = None,
    server_pids: list[int] | None = None,
    helper_pids: list[int] | None = None,
) -> dict:
    duration = max(1, round(duration or args.duration))  # wrk takes whole seconds
    paths_file = out.with_suffix(".paths")
    paths_file.write_text("\n".join(paths) + "\n")
    env = {
        **os.environ,
        "BENCH_PATHS": str(paths_file),
        "BENCH_TOKENS": str(tokens_file or ""),
        "BENCH_BUDGET": str(args.budget),
        "BENCH_THREADS": str(args.threads),
        "BENCH_OUT": str(out),
    }
    cmd = [
        "wrk",
        f"-t{args.threads}",
        f"-c{args.connections}",
        f"-d{duration:g}s",
        "--timeout",
        "10s",
        "-s",
        str(BENCH / "lua" / "read.lua"),
        f"{base}{paths[0]}",
    ]
    meter = CpuMeter(server_pids or [], helper_pids)
    subprocess.run(cmd, env=env, capture_output=True, text=True, check=True, timeout=duration + 60)
    cpu = meter.stop()
    data = json.loads(out.read_text())
    seconds = data["duration_us"] / 1e6
    lat = data["latency_us"]
    return {
        "command": shlex.join(cmd),
        "connections": args.connections,
        "duration_s": round(seconds, 2),
        "requests": data["requests"],
        "budget": args.budget,
        "budget_reached": data["requests"] >= args.budget,
        "rps": round(data["requests"] / seconds, 1),
        "p50_ms": round(lat["p50"] / 1000, 2),
        "p95_ms": round(lat["p95"] / 1000, 2),
        "p99_ms": round(lat["p99"] / 1000, 2),
        "max_ms": round(lat["max"] / 1000, 2),
        # Non-2xx answers and socket errors; a read scenario expects 200 for every request.
        "errors": sum(data["errors"].values()),
        "errors_detail": data["errors"],
        "status": data["status"],
        "five_xx": data["status"]["5xx"],
        "cpu": cpu,
    }


class PySpy:
    """py-spy on every web server worker for `seconds`; `collect()` returns the hottest frames."""

    def __init__(self, pids: list[int], seconds: float, out_dir: Path, name: str):
        pyspy = BENCH / ".venv" / "bin" / "py-spy"
        self.procs = []
        for pid in pids:
            raw = out_dir / f"profile-{name}-{pid}.txt"
            cmd = [
                str(pyspy),
                "record",
                "-p",
                str(pid),
                "-d",
                str(int(seconds)),
                "-r",
                "200",
                "--format",
                "raw",
                "-o",
                str(raw),
                "--nonblocking",
            ]
            proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            self.procs.append((proc, raw))

    def collect(self) -> dict:
        inclusive: dict[str, int] = {}
        self_time: dict[str, int] = {}
        total = 0
        errors = []
        for proc, raw in self.procs:
            _, err = proc.communicate(timeout=120)
            if proc.returncode != 0 or not raw.exists():
                errors.append(err.decode(errors="replace")[-500:])
                continue
            for line in raw.read_text().splitlines():
                stack, _, count = line.rpartition(" ")
                if not stack or not count.isdigit():
                    continue
                samples = int(count)
                total += samples
                frames = stack.split(";")
                for frame in set(frames):
                    inclusive[frame] = inclusive.get(frame, 0) + samples
                self_time[frames[-1]] = self_time.get(frames[-1], 0) + samples

        def top(table: dict[str, int], n: int = 25) -> list[dict]:
            rows = sorted(table.items(), key=lambda kv: kv[1], reverse=True)[:n]
            return [{"frame": frame, "pct": round(100 * count / max(1, total), 1)} for frame, count in rows]

        apps = ("products", "cart", "orders", "payments", "core", "users", "addresses")
        # Project files appear as "(orders/views.py:117)", installed packages as "(django/...)".
        project = {k: v for k, v in inclusive.items() if any(f"({app}/" in k for app in apps)}
        return {
            "samples": total,
            "errors": errors,
            "top_self": top(self_time),
            "top_inclusive_project": top(project),
            "raw_files": [str(raw.relative_to(ROOT)) for _, raw in self.procs],
        }


# --- The run ----------------------------------------------------------------------------
class Bench:
    def __init__(self, args: argparse.Namespace):
        self.args = args
        self.only = {s for s in args.only.split(",") if s}
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        self.out_dir = BENCH / "results" / stamp
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self.services: list[Service] = []
        self.databases: list[str] = []
        self.use_redis = not args.no_redis and redis_available()
        self.server_env = {"WEB_CONCURRENCY": "2"}
        if self.use_redis:
            self.server_env.update({"REDIS_URL": REDIS_DB_URL, "CACHE_KEY_PREFIX": REDIS_PREFIX})
        argv = sys.argv[1:]
        shown = "" if argv in ([], ["--write-report"]) else " " + shlex.join(argv)
        self.results: dict = {
            "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "command": "bash bench/run.sh" + shown,
            "machine": machine(),
            "settings": {
                "duration_s": args.duration,
                "warmup_s": args.warmup,
                "rounds": args.rounds,
                "connections": args.connections,
                "wrk_threads": args.threads,
                "budget": args.budget,
                "products": args.products,
                "checkout_users": args.users,
                "hot_products": args.hot,
                "hot_stock": args.hot_stock,
                "payment_method": args.payment,
                "redis": REDIS_DB_URL if self.use_redis else "none (in-process cache, eager Celery)",
            },
            "scenarios": {},
            "scale": {},
        }
        self.tokens_file = self.out_dir / "tokens.json"

    def helper_pids(self) -> list[int]:
        return [s.proc.pid for s in self.services if s.name != "server" and s.proc is not None]

    def wanted(self, name: str) -> bool:
        return not self.only or name in self.only

    # --- services ---------------------------------------------------------------------
    def start_stripe(self) -> None:
        port = free_port()
        cmd = [str(PROJECT_PY), "-m", "core.testing.localstripe_server", str(port)]
        stripe = Service("localstripe", cmd, {**os.environ}, self.out_dir / "localstripe.log", port)
        stripe.start()
        self.services.append(stripe)
        self.stripe_port = port
        self.server_env.update(
            {
                "STRIPE_API_BASE": f"http://{HOST}:{port}",
                "STRIPE_SECRET_KEY": "sk_test_bench",
                "STRIPE_PUBLISHABLE_KEY": "pk_test_bench",
                "STRIPE_WEBHOOK_SECRET": "whsec_bench",
            }
        )

    def start_server(
        self, database: str, label: str, extra_env: dict | None = None
    ) -> tuple[Service, str, list[int]]:
        port = free_port()
        cmd, server_env = server_cmd(port)
        shown = " ".join(f"{k}={v}" for k, v in server_env.items() if k != "PORT")
        shown = f"{shown} python {shlex.join(cmd[1:])}"
        self.results["settings"]["server"] = f"`{shown}` (backend/serve.py)"
        env = django_env(database, {**self.server_env, **server_env, **(extra_env or {})})
        server = Service("server", cmd, env, self.out_dir / f"server-{label}.log", port)
        server.start(ready_path="/api/bench/ping/")
        self.services.append(server)
        deadline = time.monotonic() + 60
        while len(workers := child_pids(server.proc.pid)) < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
        time.sleep(1.0)  # let the second worker finish importing Django
        return server, f"http://{HOST}:{port}", workers

    def stop_server(self, server: Service) -> None:
        server.stop()
        self.services.remove(server)

    def stop_all(self) -> None:
        for service in reversed(self.services):
            service.stop()
        self.services.clear()
        if self.use_redis:
            redis_cleanup()
        if not self.args.keep_db:
            for name in self.databases:
                drop_database(name)
        self.databases.clear()

    # --- data ---------------------------------------------------------------------------
    def setup_database(self, size: int, users: int) -> tuple[str, dict]:
        name = f"novacart_bench_{size}"
        exists = psql(f"SELECT 1 FROM pg_database WHERE datname = '{name}'") == "1"
        if not (self.args.reuse_db and exists):
            self.results.setdefault("seed_seconds", {})[str(size)] = create_database(name, size)
        self.databases.append(name)
        state_file = self.out_dir / f"state-{size}.json"
        return name, self.prepare(name, state_file, users)

    def prepare(self, database: str, state_file: Path, users: int) -> dict:
        a = self.args
        django_task(
            database,
            "prepare",
            "--out",
            str(state_file),
            "--users",
            str(users),
            "--hot",
            str(a.hot),
            "--hot-stock",
            str(a.hot_stock),
        )
        return json.loads(state_file.read_text()) | {"_file": str(state_file)}

    def driver(self, command: str, base: str, state: dict, *extra: str, timeout: float = 900) -> None:
        cmd = [str(BENCH_PY), str(BENCH / "checkout.py"), command, "--base", base, "--state", state["_file"]]
        run([*cmd, *extra], timeout=timeout)

    def login(self, base: str, state: dict) -> list[str]:
        log(f"login {len(state['users'])} users via POST /api/token/")
        self.driver("login", base, state, "--out", str(self.tokens_file))
        return json.loads(self.tokens_file.read_text())

    # --- scenarios ------------------------------------------------------------------------
    def read_scenarios(self, specs: list[dict]) -> dict[str, dict]:
        """Measure read scenarios with wrk, interleaved: after one warm-up each, `--rounds`
        rounds of duration/rounds seconds, A B C A B C ..., and the median of each figure over
        the rounds. A burst of unrelated work on the machine then spoils one round of every
        scenario instead of all of one scenario, and the median drops it.

        A spec: name, base, paths (round-robin), pids (the web server, for the CPU split), and optional
        tokens_file (Bearer tokens, rotated), token (for the first check request), unique (every
        request a distinct URL, via an ignored `nocache` parameter: no catalogue-cache hits)."""
        a = self.args
        results: dict[str, dict] = {}
        live = []
        for spec in specs:
            first = spec["paths"][0]
            status, body = http_get(f"{spec['base']}{first}", spec.get("token"))
            if status != 200:
                log(f"{spec['name']}: SKIPPED, GET {first} answered {status} {body[:200]!r}")
                results[spec["name"]] = {"skipped": f"GET {first} answered {status}"}
                continue
            live.append(spec)

        def paths_for(spec: dict, tag: str) -> list[str]:
            if not spec.get("unique"):
                return spec["paths"]
            return [f"{spec['paths'][0]}&nocache={tag}-{i}" for i in range(UNIQUE_PATHS)]

        for spec in live:
            if a.warmup:
                out = self.out_dir / f"{spec['name']}-warmup.json"
                wrk(
                    spec["base"],
                    paths_for(spec, "w"),
                    out,
                    a,
                    tokens_file=spec.get("tokens_file"),
                    duration=a.warmup,
                )
        rounds: dict[str, list[dict]] = {spec["name"]: [] for spec in live}
        slice_s = max(1, round(a.duration / a.rounds))  # wrk takes whole seconds
        for number in range(1, a.rounds + 1):
            for spec in live:
                out = self.out_dir / f"{spec['name']}-round{number}.json"
                rounds[spec["name"]].append(
                    wrk(
                        spec["base"],
                        paths_for(spec, f"r{number}"),
                        out,
                        a,
                        tokens_file=spec.get("tokens_file"),
                        duration=slice_s,
                        server_pids=spec["pids"],
                        helper_pids=self.helper_pids(),
                    )
                )
        for spec in live:
            result = _combine(rounds[spec["name"]])
            paths = spec["paths"]
            result["path"] = (
                paths[0] if len(paths) == 1 else f"{paths[0]} (+{len(paths) - 1} more, round-robin)"
            )
            if spec.get("unique"):
                result["path"] = f"{paths[0]}&nocache=<distinct per request>"
            results[spec["name"]] = result
            log(
                f"{spec['name']}: {result['rps']} req/s (rounds {result['rounds_rps']}), "
                f"p50 {result['p50_ms']} ms, "
                f"p95 {result['p95_ms']} ms, p99 {result['p99_ms']} ms, errors {result['errors']}, "
                f"5xx {result['five_xx']}"
            )
        return results

    def checkout(
        self,
        base: str,
        state: dict,
        server_pids: list[int],
        *,
        duration: float | None = None,
        name: str = "checkout",
    ) -> dict:
        a = self.args
        duration = duration or max(a.duration, 20)
        out = self.out_dir / f"{name}.json"
        meter = CpuMeter(server_pids, self.helper_pids())
        self.driver(
            "mix",
            base,
            state,
            "--tokens",
            str(self.tokens_file),
            "--out",
            str(out),
            "--duration",
            str(duration),
            "--budget",
            str(a.checkout_budget),
            "--payment",
            a.payment,
            timeout=duration + 120,
        )
        result = json.loads(out.read_text())
        result["cpu"] = meter.stop()
        log(
            f"{name}: {result['orders']} orders, {result['orders_per_s']} orders/s, order p95 "
            f"{result['order']['p95_ms']} ms, 5xx {result['five_xx']}, unexpected {result['unexpected']}"
        )
        return result

    def endpoints_missing(self, base: str, token: str) -> str | None:
        """Why the cart/checkout scenarios cannot run yet, or None. With a valid token and an
        empty body, the real endpoints answer 200 (cart) and 400 (add, order create); an
        unrouted URL answers 404 (or 405 when only another method is routed there)."""
        for method, path in (
            ("GET", "/api/cart/"),
            ("POST", "/api/cart/add/"),
            ("POST", "/api/orders/create/"),
        ):
            body = {} if method == "POST" else None
            status, _, _ = http_request(method, f"{base}{path}", token, body)
            if status in (0, 404, 405) or status >= 500:
                return f"{method} {path} answered {status}"
        return None

    def main_run(self) -> None:
        a, r = self.args, self.results
        db, state = self.setup_database(a.products, a.users)
        queries_file = self.out_dir / "queries.json"
        django_task(db, "queries", "--state", state["_file"], "--out", str(queries_file))
        r["queries"] = json.loads(queries_file.read_text())
        r["category"] = state["category"]
        log(
            "queries per request: "
            + ", ".join(f"{k} {v['queries']} (HTTP {v['status']})" for k, v in r["queries"].items())
        )

        server, base, workers = self.start_server(db, str(a.products))
        pids = [server.proc.pid, *workers]
        # The same code and database with the catalogue cache off: every request runs the view.
        uncached = [n for n in UNCACHED_SCENARIOS if self.wanted(n)]
        if uncached:
            nc_server, nc_base, nc_workers = self.start_server(
                db, f"{a.products}-nocache", extra_env={"CATALOG_CACHE_SECONDS": "0"}
            )
            nc_pids = [nc_server.proc.pid, *nc_workers]
        self.replay: dict[str, dict] = {}
        reads = [
            {"name": "bare", "paths": ["/api/bench/bare/"]},
            {"name": "ceiling", "paths": ["/api/bench/ping/"]},
            {"name": "product_list", "paths": [state["list_path"]]},
            {"name": "product_list_miss", "paths": [state["list_path"]], "unique": True},
            {"name": "product_detail", "paths": [f"/api/products/{pk}/" for pk in state["detail_ids"]]},
            {"name": "web_list", "paths": [state["web_list_path"]]},
        ]
        reads = [spec | {"base": base, "pids": pids} for spec in reads if self.wanted(spec["name"])]
        if uncached:
            nocache = [
                {"name": "product_list_nocache", "paths": [state["list_path"]]},
                {"name": "product_detail_nocache", "paths": reads_detail_paths(state)},
                {"name": "web_list_nocache", "paths": [state["web_list_path"]]},
            ]
            reads += [
                spec | {"base": nc_base, "pids": nc_pids} for spec in nocache if spec["name"] in uncached
            ]
        r["web_list_products"] = state["web_list_products"]

        tokens = None
        if self.wanted("cart_read") or self.wanted("checkout"):
            tokens = self.login(base, state)
            missing = self.endpoints_missing(base, tokens[0])
            if missing:
                log(f"cart/checkout SKIPPED: {missing}")
                for name in ("cart_read", "checkout"):
                    if self.wanted(name):
                        r["scenarios"][name] = {"skipped": missing}
                tokens = None
            elif self.wanted("cart_read"):
                # Authenticated: never cached, so one figure serves both columns of the report.
                self.driver("fill-carts", base, state, "--tokens", str(self.tokens_file))
                reads.append(
                    {
                        "name": "cart_read",
                        "base": base,
                        "paths": ["/api/cart/"],
                        "pids": pids,
                        "token": tokens[0],
                        "tokens_file": self.tokens_file.with_suffix(".txt"),
                    }
                )
        # All read scenarios interleaved in one set of rounds, cached and uncached alike.
        r["scenarios"].update(self.read_scenarios(reads))
        self.replay.update({spec["name"]: spec for spec in reads})
        if uncached:
            self.stop_server(nc_server)
        if tokens and self.wanted("checkout"):
            r["scenarios"]["checkout"] = self.checkout(base, state, pids)
            r["scenarios"]["checkout"]["server_threads"] = server_threads()
        self.stop_server(server)

        checkout = r["scenarios"].get("checkout", {})
        if checkout and "skipped" not in checkout:
            self.verify(db, state, checkout)
        self.profile_pass(db, state)
        if not a.quick and self.wanted("bare") and self.wanted("ceiling"):
            self.stack_instructions(db)
        if checkout and "skipped" not in checkout and a.stripe_latency_ms and a.payment == "card":
            self.checkout_stripe_latency(db)
            if a.compare_threads:
                # The same what-if with one thread per worker: what the threads buy while Stripe is slow.
                self.checkout_stripe_latency(db, threads=1)

        if "product_list" in r["scenarios"]:
            miss = r["scenarios"].get("product_list_miss", {"skipped": "not run"})
            r["scale"][str(a.products)] = _scale_row(r["scenarios"]["product_list"], miss, state)

    def verify(self, db: str, state: dict, result: dict) -> None:
        verify_file = Path(state["_file"]).with_name(f"verify-{Path(state['_file']).stem}.json")
        django_task(db, "verify", "--state", state["_file"], "--out", str(verify_file))
        result["verify"] = v = json.loads(verify_file.read_text())
        log(
            f"checkout verify: oversold units {v['oversold_units']}, stock mismatches "
            f"{v['stock_mismatches']}, orders in DB {v['orders_in_db']}"
        )

    def checkout_stripe_latency(self, db: str, threads: int | None = None) -> None:
        """What-if: the checkout mix again with a Stripe that answers as slowly as the real one
        (with `threads`, WEB_THREADS for this pass; else the server's default)."""
        ms = self.args.stripe_latency_ms
        port = free_port()
        cmd = [str(BENCH_PY), str(BENCH / "stripe_delay.py"), str(port), str(self.stripe_port), str(ms)]
        proxy = Service("stripe-delay", cmd, {**os.environ}, self.out_dir / "stripe-delay.log", port)
        proxy.start()
        self.services.append(proxy)
        state = self.prepare(db, self.out_dir / "state-stripe-latency.json", self.args.users)
        extra = {"STRIPE_API_BASE": f"http://{HOST}:{port}"}
        label = "stripe-latency" + (f"-threads{threads}" if threads else "")
        if threads:
            extra["WEB_THREADS"] = str(threads)
        server, base, workers = self.start_server(db, label, extra_env=extra)
        log(f"checkout with {ms:g} ms added to every Stripe call (what-if), threads {threads or 'default'}")
        self.login(base, state)
        result = self.checkout(base, state, [server.proc.pid, *workers], name=label.replace("-", "_"))
        result["stripe_latency_ms"] = ms
        result["server_threads"] = threads or server_threads()
        self.stop_server(server)
        self.stop_server(proxy)
        self.verify(db, state, result)
        if threads:
            self.results.setdefault("stripe_latency_threads", {})[str(threads)] = result
        else:
            self.results["stripe_latency_whatif"] = result

    def profile_pass(self, db: str, state: dict) -> None:
        """Profile the slowest measured scenario again under py-spy (not part of the numbers)."""
        measured = {k: v for k, v in self.results["scenarios"].items() if "skipped" not in v}
        target = self.args.profile
        if target == "auto" and measured:
            target = max(measured, key=lambda k: _p50(measured[k]))
        if target not in measured:
            return
        # The checkout mix sold the hot stock out: fresh stock, users and carts for this pass.
        state = self.prepare(db, Path(state["_file"]).with_name("state-profile.json"), self.args.users)
        server, base, workers = self.start_server(db, "profile")
        seconds = min(self.args.duration, 15)
        log(f"profiling {target} for {seconds:g} s with py-spy on workers {workers}")
        if target in ("checkout", "cart_read"):
            self.login(base, state)
        if target == "cart_read":
            self.driver("fill-carts", base, state, "--tokens", str(self.tokens_file))
        spy = PySpy(workers, seconds, self.out_dir, target)
        if target == "checkout":
            self.checkout(base, state, [], duration=seconds, name="checkout-profile")
        else:
            spec = self.replay[target]
            paths = spec["paths"]
            if spec.get("unique"):
                paths = [f"{paths[0]}&nocache=p-{i}" for i in range(UNIQUE_PATHS)]
            out = self.out_dir / f"{target}-profile.json"
            wrk(base, paths, out, self.args, tokens_file=spec.get("tokens_file"), duration=seconds)
        self.results["profile"] = {"scenario": target, "seconds": seconds, **spy.collect()}
        self.stop_server(server)

    def stack_instructions(self, db: str) -> None:
        """The middleware stack against the bare view in instructions per request, counted by
        callgrind in process (bench/instructions.py): the ratio no other load on the machine moves."""
        if not (shutil.which("valgrind") and shutil.which("setarch")):
            self.results["stack_instructions"] = {"skipped": "valgrind or setarch is not installed"}
            log("stack instructions SKIPPED: valgrind or setarch is not installed")
            return
        out = self.out_dir / "stack-instructions.json"
        log("counting the stack's instructions per request under callgrind (about 2.5 minutes)")
        run([str(PROJECT_PY), str(BENCH / "instructions.py"), "--out", str(out)], env=django_env(db))
        self.results["stack_instructions"] = json.loads(out.read_text())
        r = self.results["stack_instructions"]
        log(f"instructions per request: bare {r['bare']:,}, full stack {r['full']:,} ({r['ratio']:.3f} x)")

    def scale_run(self) -> None:
        """The product list (cache hit and miss) on every scale size: all databases seeded and all
        servers up first (an idle server costs nothing), then measured interleaved."""
        sizes = [int(x) for x in self.args.scale.split(",") if x.strip()]
        if not sizes or not (self.wanted("product_list") or self.wanted("web_list_all")):
            return
        states, servers, specs = {}, [], []
        for size in sizes:
            _, states[size] = self.setup_database(size, 0)
        web_size = sizes[0]  # the storefront's whole list (capped) at the smallest size (1,000)
        for size in sizes:
            server, base, workers = self.start_server(f"novacart_bench_{size}", str(size))
            servers.append(server)
            pids = [server.proc.pid, *workers]
            common = {"base": base, "pids": pids, "paths": [states[size]["list_path"]]}
            specs.append({"name": f"product_list_{size}", **common})
            specs.append({"name": f"product_list_miss_{size}", "unique": True, **common})
            if size == web_size and self.wanted("web_list_all"):
                web = {"paths": [states[size]["web_list_all_path"]]}
                specs.append({"name": f"web_list_all_{size}", "base": base, "pids": pids, **web})
                nc_server, nc_base, nc_workers = self.start_server(
                    f"novacart_bench_{size}", f"{size}-nocache", extra_env={"CATALOG_CACHE_SECONDS": "0"}
                )
                servers.append(nc_server)
                nc = {"base": nc_base, "pids": [nc_server.proc.pid, *nc_workers]}
                specs.append({"name": f"web_list_all_nocache_{size}", **nc, **web})
        measured = self.read_scenarios(specs)
        for server in servers:
            self.stop_server(server)
        for size in sizes:
            hit, miss = measured[f"product_list_{size}"], measured[f"product_list_miss_{size}"]
            self.results["scale"][str(size)] = _scale_row(hit, miss, states[size])
        if f"web_list_all_{web_size}" in measured:
            self.results["web_list_all"] = {
                "products_total": states[web_size]["products_total"],
                "products_returned": states[web_size]["web_list_all_products"],
                "path": states[web_size]["web_list_all_path"],
                "hit": measured[f"web_list_all_{web_size}"],
                "nocache": measured[f"web_list_all_nocache_{web_size}"],
            }

    def execute(self) -> Path:
        log(f"results in {self.out_dir.relative_to(ROOT)}")
        signal.signal(signal.SIGTERM, _raise_interrupt)
        try:
            deadline = time.monotonic() + self.args.wait_quiet
            while (load := background_load())["busy_pct_of_all_cores"] > 15 and time.monotonic() < deadline:
                log("waiting for the machine to quieten down (--wait-quiet)")
                time.sleep(10)
            self.results["background_load"] = load
            self.start_stripe()
            self.main_run()
            self.scale_run()
        except KeyboardInterrupt:
            log("interrupted: stopping what this run started")
            raise SystemExit(130) from None
        finally:
            self.stop_all()
        self.results["finished_at"] = datetime.now(UTC).isoformat(timespec="seconds")
        results_file = self.out_dir / "results.json"
        results_file.write_text(json.dumps(self.results, indent=2))
        (BENCH / "results" / "latest.json").write_text(json.dumps(self.results, indent=2))
        return results_file


UNCACHED_SCENARIOS = ("product_list_nocache", "product_detail_nocache", "web_list_nocache")


def reads_detail_paths(state: dict) -> list[str]:
    return [f"/api/products/{pk}/" for pk in state["detail_ids"]]


def server_threads() -> int | None:
    """WEB_THREADS as backend/serve.py reads it (its default 8 when unset; keep in step)."""
    value = os.environ.get("WEB_THREADS", "").strip()
    return int(value) if value else 8


def _raise_interrupt(*_) -> None:
    raise KeyboardInterrupt


def background_load(seconds: float = 3.0) -> dict:
    """How busy the machine was just before the run (other people's work is noise here)."""
    busy0, total0, _ = cpu_times()
    time.sleep(seconds)
    busy1, total1, _ = cpu_times()
    pct = 100 * (busy1 - busy0) / max(1, total1 - total0)
    load = Path("/proc/loadavg").read_text().split()[:3]
    if pct > 15:
        log(
            f"WARNING: the machine was {pct:.0f}% busy before the run (load {' '.join(load)}); "
            "numbers will be noisy"
        )
    return {"busy_pct_of_all_cores": round(pct, 1), "loadavg": load}


def _p50(result: dict) -> float:
    return result["order"]["p50_ms"] if "order" in result else result.get("p50_ms", 0.0)


def _median(values: list[float]) -> float:
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def _combine(rounds: list[dict]) -> dict:
    """One scenario's rounds: medians of the rates and percentiles, sums of the counts."""
    first = rounds[0]
    combined = {
        "command": first["command"].replace(f"-d{first['duration_s']:g}s", "-d<slice>s"),
        "connections": first["connections"],
        "rounds": len(rounds),
        "duration_s": round(sum(r["duration_s"] for r in rounds), 2),
        "requests": sum(r["requests"] for r in rounds),
        "budget": first["budget"],
        "budget_reached": any(r["budget_reached"] for r in rounds),
        "errors": sum(r["errors"] for r in rounds),
        "five_xx": sum(r["five_xx"] for r in rounds),
        "status": {k: sum(r["status"][k] for r in rounds) for k in first["status"]},
        "errors_detail": {k: sum(r["errors_detail"][k] for r in rounds) for k in first["errors_detail"]},
        "cpu": {k: round(sum(r["cpu"][k] for r in rounds), 2) for k in first["cpu"] if k != "cores"},
        "rounds_rps": [r["rps"] for r in rounds],
        "rounds_p50_ms": [r["p50_ms"] for r in rounds],
    }
    combined["cpu"]["cores"] = first["cpu"]["cores"]
    for key in ("rps", "p50_ms", "p95_ms", "p99_ms", "max_ms"):
        combined[key] = round(_median([r[key] for r in rounds]), 2)
    return combined


def _scale_row(hit: dict, miss: dict, state: dict) -> dict:
    keys = (
        "rps",
        "p50_ms",
        "p95_ms",
        "p99_ms",
        "errors",
        "five_xx",
        "requests",
        "cpu",
        "rounds_rps",
        "rounds_p50_ms",
    )

    def pick(row: dict) -> dict:
        return row if "skipped" in row else {k: row[k] for k in keys}

    return {
        "products": state["products_total"],
        "category": state["category"],
        "path": state["list_path"],
        "hit": pick(hit),
        "miss": pick(miss),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description="NovaCart benchmark (loopback only).")
    add = parser.add_argument
    add("--duration", type=float, default=10, help="seconds per measured scenario (all rounds)")
    add("--warmup", type=float, default=2, help="seconds of unmeasured warm-up per scenario")
    add("--rounds", type=int, default=5, help="interleaved rounds per read scenario (median reported)")
    add("--connections", type=int, default=50, help="concurrent connections (read scenarios)")
    add("--threads", type=int, default=1, help="wrk threads")
    add("--budget", type=int, default=200_000, help="request budget per wrk run (each round)")
    add("--products", type=int, default=10_000, help="catalogue size of the main run")
    add("--scale", default="1000,100000", help="catalogue sizes for the scale run ('' = skip)")
    add("--users", type=int, default=50, help="checkout mix users")
    add("--hot", type=int, default=20, help="hot products in the checkout mix")
    add("--hot-stock", type=int, default=30, help="stock of each hot product")
    add("--checkout-budget", type=int, default=5000, help="add+order rounds, all users")
    add("--payment", choices=["card", "cod"], default="card")
    add(
        "--stripe-latency-ms",
        type=float,
        default=150,
        help="what-if checkout: delay per Stripe call (0 = skip)",
    )
    add("--profile", default="auto", help="scenario to profile after measuring ('auto' = slowest, 'none')")
    add("--only", default="", help="comma list of scenarios to run (development)")
    add("--keep-db", action="store_true", help="keep the bench databases afterwards")
    add("--reuse-db", action="store_true", help="skip create/seed when the database exists (development)")
    add("--write-report", action="store_true", help="render BENCHMARKS.md at the repository root")
    add("--wait-quiet", type=float, default=0, help="wait up to this many seconds for an idle machine")
    add("--no-redis", action="store_true", help="in-process cache and eager Celery instead of Redis")
    add(
        "--no-compare-threads",
        dest="compare_threads",
        action="store_false",
        help="skip the Stripe-delay checkout with 1 thread per worker",
    )
    add(
        "--quick",
        action="store_true",
        help="a short subset (1,000 products, no scale run, no profile, no thread comparison, "
        "5 s per scenario); the report goes to bench/results/ unless --write-report",
    )
    args = parser.parse_args()
    if args.quick:
        args.products, args.scale, args.profile, args.compare_threads = 1000, "", "none", False
        args.duration, args.warmup, args.rounds = 5, 1, 5

    bench = Bench(args)
    results_file = bench.execute()
    target = ROOT / "BENCHMARKS.md" if args.write_report else bench.out_dir / "BENCHMARKS.md"
    run([str(BENCH_PY), str(BENCH / "report.py"), str(results_file), str(target)])
    log(f"report: {target.relative_to(ROOT)}")
    print((bench.out_dir / "summary.txt").read_text(), end="")


if __name__ == "__main__":
    main()
