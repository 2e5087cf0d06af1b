"""What one backend choice costs a request, in process, the two settings interleaved.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/novacart_profile \\
        .venv/bin/python bench/inprocess_ab.py --switch {health-check,timestamp-loader} \\
        [--rounds 6] [--requests 300]

Uses `bench/profile_requests.py`'s database and requests (`make_request`: detail, list of 20,
cart of 3), but runs Django's request-start step before each request (`close_old_connections`,
which Django's test client skips), so the kept connection is due its `CONN_HEALTH_CHECKS` check
every request as under the web server. Each round measures CPU per request (`time.process_time`) with
the project's choice ("ours") and without it ("django's"), alternating, and prints the medians and
their ratio. Both run in one process minutes apart at most, so the ratio is the figure to read on a
noisy machine. The switches (`core/postgresql/base.py`):

- `health-check`: the quiet-socket check against Django's `SELECT 1` every request (poll off);
- `timestamp-loader`: timestamps loaded by psycopg's compiled loader against Django's own loader
  (a new connection at each switch, as the loader is chosen when one is made).
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
from django.db import close_old_connections, connections
from django.test import override_settings

from core.postgresql import base

COMPILED_LOADER = base.COMPILED_TIMESTAMPTZ_LOADER
SWITCHES = {
    "health-check": ("quiet-socket check", "SELECT 1 every request"),
    "timestamp-loader": ("psycopg's compiled timestamp loader", "Django's timestamp loader"),
}


def use(switch: str, ours: bool) -> None:
    if switch == "health-check":
        base._POLL = select.poll if ours else None
    else:
        base.COMPILED_TIMESTAMPTZ_LOADER = COMPILED_LOADER if ours else None
        connections.close_all()  # the next request connects with the chosen adapters


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--switch", choices=SWITCHES, required=True)
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--requests", type=int, default=300)
    args = parser.parse_args()

    state = profile_requests.prepare(0)
    ours_label, theirs_label = SWITCHES[args.switch]
    print(f"| request | CPU ms, {ours_label} | CPU ms, {theirs_label} | ratio |")
    print("|---|---:|---:|---:|")
    with override_settings(CATALOG_CACHE_SECONDS=0):
        for name in ("detail", "list", "cart"):
            call = profile_requests.make_request(name, state)
            measured: dict[bool, list[float]] = {True: [], False: []}
            for _ in range(args.rounds):
                for ours in measured:
                    use(args.switch, ours)
                    for _ in range(20):  # warm-up
                        close_old_connections()
                        assert call().status_code == 200
                    started = time.process_time()
                    for _ in range(args.requests):
                        close_old_connections()
                        call()
                    measured[ours].append((time.process_time() - started) * 1000 / args.requests)
            ours, theirs = statistics.median(measured[True]), statistics.median(measured[False])
            print(f"| {name} | {ours:.3f} | {theirs:.3f} | {ours / theirs:.2f} |")
    use(args.switch, True)


if __name__ == "__main__":
    main()
