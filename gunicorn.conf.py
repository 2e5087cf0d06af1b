"""gunicorn settings: `gunicorn backend.wsgi:application -c gunicorn.conf.py`.

Everything comes from the environment (see docs/production.md). Migrations never run here:
they are a release step (`python manage.py migrate --noinput`, Render's preDeployCommand).
"""

import gc
import json
import os
import threading
from datetime import UTC, datetime

from gunicorn.glogging import Logger


def _env_int(name: str, default: int, *, minimum: int = 0) -> int:
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    try:
        number = int(value)
    except ValueError:
        number = None
    if number is None or number < minimum:
        raise SystemExit(f"{name} must be a whole number of at least {minimum}, not {value!r}.")
    return number


def _cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


# Listen on every interface: the platform's router (or nginx) connects from outside the container.
bind = f"0.0.0.0:{_env_int('PORT', 8000)}"

# Threaded workers (gthread): a request waiting on the network (Stripe, the pincode lookup, the
# mail relay) holds a thread, not a whole process, so the other threads keep serving. Processes
# still give the CPU-bound work (the GIL is per process) the cores: the usual 2 x cores + 1,
# capped because a container often sees the host's cores but not its memory.
# Sizing, together: each thread keeps its own database connection (DB_CONN_MAX_AGE, persistent
# connections), so one instance holds at most WEB_CONCURRENCY x GUNICORN_THREADS connections to
# PostgreSQL (or to PgBouncer); keep instances x that (+ Celery workers) below max_connections.
# 8 threads: with +150 ms on every Stripe call the bench's checkout kept 0.84-0.91 of its
# no-delay throughput at 8 threads against 0.66-0.67 at 4 (BENCHMARKS.md, bench/NOTES.md).
worker_class = os.environ.get("GUNICORN_WORKER_CLASS", "gthread") or "gthread"
# (gunicorn reads WEB_CONCURRENCY itself too, before this file: a value int() cannot read stops it
# with its own traceback.) 0 workers would listen and never answer.
workers = _env_int("WEB_CONCURRENCY", min(2 * _cpu_count() + 1, 4), minimum=1)
# gunicorn turns `sync` with threads > 1 into gthread; a deliberate `sync` gets one thread.
threads = _env_int("GUNICORN_THREADS", 8, minimum=1) if worker_class == "gthread" else 1

# A worker that stops answering the master for `timeout` seconds is killed and restarted (with
# gthread: all its threads stuck; one slow request is bounded by DB_LOCK_TIMEOUT,
# DB_STATEMENT_TIMEOUT and the Stripe timeout instead); on SIGTERM (deploys, scale-in) workers
# get `graceful_timeout` to finish the requests they hold.
timeout = _env_int("GUNICORN_TIMEOUT", 30)
graceful_timeout = _env_int("GUNICORN_GRACEFUL_TIMEOUT", 30)
keepalive = _env_int("GUNICORN_KEEPALIVE", 5)

# Recycle workers now and then, so a slow leak never takes an instance down.
max_requests = _env_int("GUNICORN_MAX_REQUESTS", 1000)
max_requests_jitter = max(max_requests // 10, 0)

# Each worker imports the app itself: database and Redis connections are never shared across a fork.
preload_app = False

# Once a worker has served this many requests (its imports done, its caches and compiled queries
# built), one full collection, then gc.freeze(): the ~150,000 objects alive then move to a
# permanent generation that later collections skip. Without it every full collection walks them
# all (about 75 ms here), every few hundred requests: about a tenth of an uncached detail's or
# list page's CPU (docs/bench.md, ninth look). What the freeze holds is never collected: the
# collection just before leaves only the cyclic garbage of the requests the worker's other threads
# are serving at that moment (measured at 1,000-4,600 objects, a few hundred kB, once per worker);
# GUNICORN_MAX_REQUESTS recycles the worker. 0 turns it off.
_gc_freeze_after = _env_int("GUNICORN_GC_FREEZE_AFTER", 200)
# Taken by the first thread past the count and never released: one freeze per worker process (the
# master never serves requests, so each worker forks it unlocked).
_gc_freeze_once = threading.Lock()


def post_request(worker, req, environ, resp):
    """gunicorn's hook after each request (any thread): the freeze above, once per worker."""
    if _gc_freeze_after and worker.nr >= _gc_freeze_after and _gc_freeze_once.acquire(blocking=False):
        gc.collect()
        gc.freeze()
        worker.log.info("gc: %d objects frozen after %d requests", gc.get_freeze_count(), worker.nr)


# Trust X-Forwarded-Proto/For only from the proxy in front: Render's router ("*": the app is not
# reachable any other way there), nginx on the same host (the default).
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")

# The heartbeat file on tmpfs: a slow container disk must not make healthy workers look stuck.
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None  # noqa: S108

# gunicorn's control socket is a single per-user path; several servers on one host would collide.
control_socket_disable = True

loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
errorlog = "-"
# Access log: one JSON line per request on stdout ("" turns it off). The app's own request
# line (core/middleware.py) adds the user id; both carry the same request id.
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-") or None


class JsonAccessLogger(Logger):
    """Access lines as JSON. The path without its query string, no headers but the request id:
    tokens and credentials never reach the access log. gunicorn's own lines (booting, worker
    timeouts, shutdown) are JSON too, in the app's format, so a log pipeline parses every line."""

    def setup(self, cfg):
        super().setup(cfg)
        from core.logging import JSON_FORMAT, JSON_RENAME_FIELDS, RedactingJsonFormatter  # imports Django

        formatter = RedactingJsonFormatter(JSON_FORMAT, rename_fields=JSON_RENAME_FIELDS)
        for handler in self.error_log.handlers:
            handler.setFormatter(formatter)

    def access(self, resp, req, environ, request_time):
        if not self.access_log_enabled:
            return
        status = resp.status.split(None, 1)[0] if isinstance(resp.status, str) else resp.status
        headers = resp.headers.items() if hasattr(resp.headers, "items") else resp.headers
        response_headers = {name.lower(): value for name, value in headers}
        line = {
            "time": datetime.now(tz=UTC).isoformat(timespec="milliseconds"),
            "level": "INFO",
            "logger": "gunicorn.access",
            "method": environ.get("REQUEST_METHOD"),
            "path": environ.get("PATH_INFO"),
            "status": int(status),
            "bytes": getattr(resp, "sent", None),
            "duration_ms": round(request_time.total_seconds() * 1000, 2),
            "remote_addr": environ.get("REMOTE_ADDR"),
            "request_id": response_headers.get("x-request-id", "-"),
            "user_agent": environ.get("HTTP_USER_AGENT", ""),
        }
        try:
            self.access_log.info(json.dumps(line))
        except Exception:
            self.exception("access log failed")


logger_class = JsonAccessLogger
