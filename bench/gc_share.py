"""What Python's garbage collector costs one uncached request, in process, by generation.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/novacart_profile \\
        .venv/bin/python bench/gc_share.py [--requests 1000] [--freeze]

Uses `bench/profile_requests.py`'s database and requests (detail, list of 20, cart of 3): each
scenario is warmed up, then run `--requests` times while `gc.callbacks` time every collection
(`time.process_time`). Django's test client keeps about a dozen objects per request alive (its
signal receivers' finalizers), which a web server worker does not, so in process the heap grows
and full collections get dearer as the run goes on. Printed per scenario: collections per
request and their CPU per request by generation, as a share of the request. Then the full
collection's own cost: how many objects it walks and how long it takes. `--freeze` runs one full
collection and `gc.freeze()` after the warm-up, as core/gc_freeze.py does in each web server
process (GC_FREEZE_AFTER).
"""

from __future__ import annotations

import argparse
import gc
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import profile_requests  # sets up Django (bench settings, DEBUG off)
from django.test import override_settings


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--freeze", action="store_true")
    args = parser.parse_args()

    state = profile_requests.prepare(0)
    started = [0.0]
    spent: dict[int, list[float]] = {}

    def timed(phase: str, info: dict) -> None:
        if phase == "start":
            started[0] = time.process_time()
        else:
            count_and_seconds = spent.setdefault(info["generation"], [0, 0.0])
            count_and_seconds[0] += 1
            count_and_seconds[1] += time.process_time() - started[0]

    print("| request | CPU ms | gen 0: per request, us (share) | gen 1 | gen 2 |")
    print("|---|---:|---:|---:|---:|")
    with override_settings(CATALOG_CACHE_SECONDS=0):
        calls = {name: profile_requests.make_request(name, state) for name in ("detail", "list", "cart")}
        for call in calls.values():
            for _ in range(50):
                assert call().status_code == 200
        if args.freeze:
            gc.collect()
            gc.freeze()
        for name, call in calls.items():
            spent.clear()
            gc.callbacks.append(timed)
            begun = time.process_time()
            for _ in range(args.requests):
                call()
            total = time.process_time() - begun
            gc.callbacks.remove(timed)
            cells = []
            for generation in (0, 1, 2):
                count, seconds = spent.get(generation, (0, 0.0))
                per_request = seconds * 1e6 / args.requests
                cells.append(f"{count / args.requests:.3f}, {per_request:.0f} ({seconds / total:.1%})")
            print(f"| {name} | {total * 1000 / args.requests:.3f} | {' | '.join(cells)} |")
    walked = len(gc.get_objects())
    begun = time.process_time()
    gc.collect()
    took = (time.process_time() - begun) * 1000
    print(f"\none full collection: {took:.1f} ms over {walked:,} tracked objects", end=" ")
    print(f"({gc.get_freeze_count():,} frozen, not walked)")


if __name__ == "__main__":
    main()
