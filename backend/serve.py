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
- Each process takes up to 1,000 connections at once (granian's "backpressure", which counts
  connections, kept-alive ones included; gunicorn's worker_connections was 1,000 too) with 2,048
  more queued by the kernel; a request's line and headers may take 64 KiB (gunicorn refused more
  than 8 KiB per header; granian's own default is 417 kB).
- An app thread idle for `WEB_THREAD_IDLE_TIMEOUT` seconds (default 30) ends, and its database
  connection is closed with it (core/thread_connections.py).
- A port already in use stops the start (granian's sockets share a port with any other
  SO_REUSEPORT listener, which would split the traffic with a stale instance).
- SIGTERM stops gracefully: requests in flight finish, for at most `WEB_GRACEFUL_TIMEOUT` seconds.
  A worker that dies is started again.
- Logs: granian's own lines are JSON in the app's format; the app writes one JSON line per request
  (`novacart.request`, with its request id), so granian's access log stays off.
- `WEB_MAX_RSS_MB` (default 0, off) restarts a worker whose memory passes that many MiB. On Linux,
  connections queued on that worker's socket may be dropped unless the kernel is 5.14 or later with
  `net.ipv4.tcp_migrate_req=1` (granian's documentation), so it is off unless asked for. The same
  holds for any worker restart: a reload (SIGHUP) or a worker that died.
"""

from __future__ import annotations

import ipaddress
import os
import socket
import sys
from typing import Any

TARGET = "backend.wsgi:application"


MAX_CONNECTIONS_PER_WORKER = 1000
LISTEN_BACKLOG = 2048
MAX_HEAD_BYTES = 64 * 1024


def _env_int(environ, name: str, default: int, *, minimum: int, maximum: int | None = None) -> int:
    value = environ.get(name, "").strip()
    if not value:
        return default
    try:
        number = int(value)
    except ValueError:
        number = None
    if number is None or number < minimum or (maximum is not None and number > maximum):
        bounds = f"at least {minimum}" if maximum is None else f"from {minimum} to {maximum}"
        raise SystemExit(f"{name} must be a whole number {bounds}, not {value!r}.")
    return number


def _address(environ) -> str:
    value = environ.get("WEB_BIND_ADDRESS", "").strip() or "0.0.0.0"  # noqa: S104
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        raise SystemExit(
            f"WEB_BIND_ADDRESS must be an IP address (0.0.0.0, 127.0.0.1, ::), not {value!r}."
        ) from None


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
    from granian.http import HTTP1Settings

    threads = _env_int(environ, "WEB_THREADS", 8, minimum=1)
    max_rss = _env_int(environ, "WEB_MAX_RSS_MB", 0, minimum=0)
    return {
        "target": target,
        "interface": Interfaces.WSGI,
        "address": _address(environ),
        "port": _env_int(environ, "PORT", 8000, minimum=1, maximum=65535),
        "workers": _env_int(environ, "WEB_CONCURRENCY", min(_usable_cores(), 4), minimum=1),
        "blocking_threads": threads,
        "blocking_threads_idle_timeout": _env_int(
            environ, "WEB_THREAD_IDLE_TIMEOUT", 30, minimum=5, maximum=600
        ),
        "backpressure": MAX_CONNECTIONS_PER_WORKER,
        "backlog": LISTEN_BACKLOG,
        "http1_settings": HTTP1Settings(max_buffer_size=MAX_HEAD_BYTES),
        "websockets": False,
        "log_level": _log_level(environ),
        "log_dictconfig": log_config(),
        "log_access": False,
        "respawn_failed_workers": True,
        "workers_kill_timeout": _env_int(environ, "WEB_GRACEFUL_TIMEOUT", 30, minimum=1),
        "workers_max_rss": max_rss or None,
    }


def ensure_port_is_free(address: str, port: int) -> None:
    """Stop if anything listens on the address and port already. granian's workers each bind
    with SO_REUSEPORT, so beside another such listener (an instance left running) they would
    start without complaint and share its connections; a plain bind fails instead."""
    family = socket.AF_INET6 if ipaddress.ip_address(address).version == 6 else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        # SO_REUSEADDR: the connections of an instance that just stopped (TIME_WAIT) do not count;
        # on Linux it never allows a second listener.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((address, port))
        except OSError as error:
            raise SystemExit(f"PORT {port} on {address} is not free: {error.strerror}.") from None


def main(argv: list[str]) -> None:
    from granian import Granian

    if len(argv) > 1 or (argv and ":" not in argv[0]):
        raise SystemExit("usage: python -m backend.serve [module:application]")
    chosen = options(target=argv[0] if argv else TARGET)
    ensure_port_is_free(chosen["address"], chosen["port"])
    Granian(**chosen).serve()


if __name__ == "__main__":
    main(sys.argv[1:])
