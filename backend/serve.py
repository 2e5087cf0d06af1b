"""The production web server: granian serving `backend.wsgi:application`.

    python -m backend.serve            # backend.wsgi:application
    python -m backend.serve bench.wsgi:application   # another WSGI target (the bench's)

Everything comes from the environment (docs/production.md); a value it cannot use stops the start
with the variable's name. Migrations never run here: they are a release step
(`python manage.py migrate --noinput`, Render's preDeployCommand).

- `WEB_CONCURRENCY` worker processes (default: the usable cores, at most 4), each with
  `WEB_THREADS` threads that run the app (default 8). granian's own Rust threads read and write
  the sockets, so a thread is taken only while the app runs, and up to 8 requests per process may
  wait on the network (Stripe, PostgreSQL) without holding the others up. Each thread keeps its own
  database connection: an instance holds up to WEB_CONCURRENCY x WEB_THREADS of them.
- Connections are not limited per process (granian's backpressure counts kept-alive connections,
  not requests, so a limit would stop a proxy's idle connections from being accepted).
- SIGTERM stops gracefully: requests in flight finish, for at most `WEB_GRACEFUL_TIMEOUT` seconds.
  A worker that dies is started again.
- Logs: granian's own lines are JSON in the app's format; the app writes one JSON line per request
  (`novacart.request`, with its request id), so granian's access log stays off.
- `WEB_MAX_RSS_MB` (default 0, off) restarts a worker whose memory passes that many MiB. On Linux,
  connections queued on that worker's socket may be dropped unless the kernel is 5.14 or later with
  `net.ipv4.tcp_migrate_req=1` (granian's documentation), so it is off unless asked for.
"""

from __future__ import annotations

import os
import sys
from typing import Any

TARGET = "backend.wsgi:application"


def _env_int(environ, name: str, default: int, *, minimum: int) -> int:
    value = environ.get(name, "").strip()
    if not value:
        return default
    try:
        number = int(value)
    except ValueError:
        number = None
    if number is None or number < minimum:
        raise SystemExit(f"{name} must be a whole number of at least {minimum}, not {value!r}.")
    return number


def _usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _log_level(environ) -> str:
    level = environ.get("LOG_LEVEL", "").strip().lower() or "info"
    if level not in {"critical", "error", "warning", "info", "debug"}:
        raise SystemExit(f"LOG_LEVEL must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL, not {level!r}.")
    return level


def log_config() -> dict[str, Any]:
    """granian's own lines (workers starting, stopping, dying) as JSON, in the app's format."""
    from core.logging import JSON_FORMAT, JSON_RENAME_FIELDS

    json_formatter = {
        "()": "core.logging.RedactingJsonFormatter",
        "fmt": JSON_FORMAT,
        "rename_fields": JSON_RENAME_FIELDS,
    }
    stdout = {"class": "logging.StreamHandler", "stream": "ext://sys.stdout", "formatter": "json"}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": json_formatter},
        "handlers": {"console": stdout},
        "loggers": {
            "_granian": {"handlers": ["console"], "propagate": False},
            "granian.access": {"handlers": ["console"], "propagate": False},
        },
    }


def options(environ=os.environ, target: str = TARGET) -> dict[str, Any]:
    """granian's arguments from the environment, checked."""
    from granian.constants import Interfaces

    threads = _env_int(environ, "WEB_THREADS", 8, minimum=1)
    max_rss = _env_int(environ, "WEB_MAX_RSS_MB", 0, minimum=0)
    return {
        "target": target,
        "interface": Interfaces.WSGI,
        "address": environ.get("WEB_BIND_ADDRESS", "").strip() or "0.0.0.0",  # noqa: S104
        "port": _env_int(environ, "PORT", 8000, minimum=1),
        "workers": _env_int(environ, "WEB_CONCURRENCY", min(_usable_cores(), 4), minimum=1),
        "blocking_threads": threads,
        "websockets": False,
        "log_level": _log_level(environ),
        "log_dictconfig": log_config(),
        "log_access": False,
        "respawn_failed_workers": True,
        "workers_kill_timeout": _env_int(environ, "WEB_GRACEFUL_TIMEOUT", 30, minimum=1),
        "workers_max_rss": max_rss or None,
    }


def main(argv: list[str]) -> None:
    from granian import Granian

    if len(argv) > 1 or (argv and ":" not in argv[0]):
        raise SystemExit("usage: python -m backend.serve [module:application]")
    Granian(**options(target=argv[0] if argv else TARGET)).serve()


if __name__ == "__main__":
    main(sys.argv[1:])
