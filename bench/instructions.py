"""The middleware and authentication stack's cost in instructions, which a noisy machine cannot move.

    .venv/bin/python bench/instructions.py [--requests 300] [--out stack.json] [--path /api/...]

Issue 12 asks that the full stack cost at most 1.25x a bare view. In CPU ms per request under load
(bench/runner.py, bench/cpu_split.sh) that ratio moves by a tenth between rounds on shared cores.
Here valgrind's callgrind counts the instructions one request executes, in process, through the
production WSGI application (`bench.wsgi`, DEBUG off, production settings): the ping view through
the full middleware stack (`full`) against the same view through a handler with no middleware
(`bare`). Each variant runs twice under callgrind, with and without the measured requests after
the same start-up and warm-up, and the difference divided by the requests is the count per
request. The warm-up (250 requests) passes GC_FREEZE_AFTER, so the production freeze
(core/gc_freeze.py: one full collection, then `gc.freeze()`) is behind every measured request, as
in a warmed server, instead of a full collection of every long-lived object falling inside the
measured requests or not. `full` runs at the caller's LOG_LEVEL (the bench's WARNING);
`full_info` at production's default, INFO, where every request also writes its JSON line (the
access log). With the hash seed fixed and address-space randomisation off, two runs of the same
code agree to within a few hundred instructions on paths that touch neither Redis nor PostgreSQL (the
ping and the bare view), whatever else the machine is doing; a cached catalogue page did not (two
runs 14 % apart, docs/bench.md, twelfth look). What it leaves out is what no instruction
count can see (cache misses, the kernel, the web server's own threads), so the CPU ratio under
load is still measured and reported beside it.

Run by bench/runner.py at the end of a full run (not with --quick), with the bench's own environment;
on its own it needs the bench settings' variables (bench/runner.py `django_env`): DATABASE_URL of
any database (no query is made), SECRET_KEY, ALLOWED_HOSTS=127.0.0.1.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import re
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Past GC_FREEZE_AFTER (200 by default): the warm-up ends with the production freeze done (below).
WARMUP = 250
PATH = "/api/bench/ping/"


VARIANTS = ("bare", "full", "full_info")


def child(variant: str, requests: int, path: str) -> None:
    """Start Django, warm up, then serve `requests` GETs of `path` through `variant`'s handler."""
    sys.path.insert(0, str(ROOT))
    if variant == "full_info":
        # Production's default level: the request line (the access log) is written, to stdout,
        # which the parent reads and drops.
        os.environ["LOG_LEVEL"] = "INFO"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings_bench")
    from django.conf import settings

    import bench.wsgi as bench_wsgi
    from core.gc_freeze import FreezeAfterWarmup

    # As every production process (and the bench's server) runs: one full collection and
    # gc.freeze() after GC_FREEZE_AFTER requests, which the warm-up passes, so no full collection
    # of every long-lived object falls inside the measured requests. GC_FREEZE_AFTER=0 (a server
    # without the freeze) is measured without it.
    if settings.GC_FREEZE_AFTER >= WARMUP:
        raise SystemExit(f"GC_FREEZE_AFTER must be below the warm-up's {WARMUP} requests here")
    handler = bench_wsgi.bare_application if variant == "bare" else bench_wsgi.full_application
    app = FreezeAfterWarmup(handler, after=settings.GC_FREEZE_AFTER)

    def environ() -> dict:
        return {
            "REQUEST_METHOD": "GET",
            "PATH_INFO": path,
            "SCRIPT_NAME": "",
            "QUERY_STRING": "",
            "SERVER_NAME": "127.0.0.1",
            "SERVER_PORT": "8000",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "HTTP_HOST": "127.0.0.1:8000",
            "REMOTE_ADDR": "127.0.0.1",
            "wsgi.input": io.BytesIO(b""),
            "wsgi.errors": sys.stderr,
            "wsgi.url_scheme": "http",
            "wsgi.version": (1, 0),
            "wsgi.multithread": True,
            "wsgi.multiprocess": True,
            "wsgi.run_once": False,
        }

    statuses = set()

    def start_response(status, headers, exc_info=None):
        statuses.add(status)

    for _ in range(WARMUP + requests):
        response = app(environ(), start_response)
        b"".join(response)
        response.close()
    if statuses != {"200 OK"}:
        raise SystemExit(f"{variant}: unexpected answers {sorted(statuses)}")


def _instructions(variant: str, requests: int, path: str) -> int:
    # Address-space randomisation off (`setarch -R`): objects hashed by address land elsewhere in
    # their dicts and sets on every start, which moved the counts by up to 1 %; without it two runs
    # agree to within a few instructions.
    cmd = [
        "setarch",
        platform.machine(),
        "-R",
        "valgrind",
        "--tool=callgrind",
        "--callgrind-out-file=/dev/null",
        sys.executable,
        __file__,
        "--child",
        variant,
        "--requests",
        str(requests),
        "--path",
        path,
    ]
    env = {**os.environ, "PYTHONHASHSEED": "0", "PYTHONDONTWRITEBYTECODE": "1"}
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=1800)
    found = re.search(r"Collected : (\d+)", done.stderr)
    if done.returncode != 0 or not found:
        raise RuntimeError(f"callgrind ({variant}, {requests} requests) failed:\n{done.stderr[-2000:]}")
    return int(found.group(1))


def measure(requests: int, path: str = PATH) -> dict:
    """Instructions per request of each variant; two valgrind processes at a time."""
    runs = [(variant, n) for variant in VARIANTS for n in (0, requests)]
    with ThreadPoolExecutor(max_workers=2) as pool:
        counts = pool.map(lambda run: _instructions(*run, path), runs)
        totals = dict(zip(runs, counts, strict=True))
    per_request = {
        variant: round((totals[(variant, requests)] - totals[(variant, 0)]) / requests)
        for variant in VARIANTS
    }
    version = subprocess.run(["valgrind", "--version"], capture_output=True, text=True).stdout.strip()
    return {
        "path": path,
        "requests": requests,
        "warmup": WARMUP,
        "valgrind": version,
        "log_level": os.environ.get("LOG_LEVEL", "INFO"),
        "bare": per_request["bare"],
        "full": per_request["full"],
        "ratio": round(per_request["full"] / per_request["bare"], 3),
        "full_info": per_request["full_info"],
        "ratio_info": round(per_request["full_info"] / per_request["bare"], 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--out", type=Path)
    parser.add_argument(
        "--path", default=PATH, help="another GET path (a seeded database), e.g. /api/products/1/"
    )
    parser.add_argument("--child", choices=VARIANTS, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.requests, args.path)
        return
    if not (shutil.which("valgrind") and shutil.which("setarch")):
        raise SystemExit("needs valgrind and setarch (Debian packages valgrind, util-linux)")
    result = measure(args.requests, args.path)
    print(
        f"instructions per request: bare {result['bare']:,}, full stack {result['full']:,}, "
        f"ratio {result['ratio']:.3f}; with the request line at INFO {result['full_info']:,}, "
        f"ratio {result['ratio_info']:.3f}"
    )
    if args.out:
        args.out.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
