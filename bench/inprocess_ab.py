"""What the connection health check costs a request, in process, the two checks interleaved.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/novacart_profile \\
        .venv/bin/python bench/health_check_ab.py [--rounds 6] [--requests 300]

Uses `bench/profile_requests.py`'s database and requests (`make_request`: detail, list of 20,
cart of 3), but runs Django's request-start step before each request (`close_old_connections`,
which Django's test client skips), so the kept connection is due its `CONN_HEALTH_CHECKS` check
every request as under gunicorn. Each round measures CPU per request (`time.process_time`) with
the quiet-socket check of `core.postgresql` ("poll") and with Django's `SELECT 1` every request
("select1": the backend with poll switched off), alternating, and prints the medians and their
ratio. Both run in one process minutes apart at most, so the ratio is the figure to read on a
noisy machine.
"""

from __future__ import annotations

import argparse
import select
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import profile_requests  # sets up Django (bench settings, DEBUG off)
from django.db import close_old_connections
from django.test import override_settings

from core.postgresql import base


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--requests", type=int, default=300)
    args = parser.parse_args()

    state = profile_requests.prepare(0)
    print("| request | CPU ms, quiet-socket check | CPU ms, SELECT 1 every request | ratio |")
    print("|---|---:|---:|---:|")
    with override_settings(CATALOG_CACHE_SECONDS=0):
        for name in ("detail", "list", "cart"):
            call = profile_requests.make_request(name, state)
            measured: dict[str, list[float]] = {"poll": [], "select1": []}
            for _ in range(args.rounds):
                for mode in measured:
                    base._POLL = select.poll if mode == "poll" else None
                    for _ in range(20):  # warm-up
                        close_old_connections()
                        assert call().status_code == 200
                    started = time.process_time()
                    for _ in range(args.requests):
                        close_old_connections()
                        call()
                    measured[mode].append((time.process_time() - started) * 1000 / args.requests)
            poll, select1 = statistics.median(measured["poll"]), statistics.median(measured["select1"])
            print(f"| {name} | {poll:.3f} | {select1:.3f} | {poll / select1:.2f} |")
    base._POLL = getattr(select, "poll", None)


if __name__ == "__main__":
    main()
