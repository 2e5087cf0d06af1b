"""Tabulate alternating quick runs (`bash bench/run.sh --quick --only ...`) of two checkouts.

    .venv/bin/python bench/ab_table.py OLD-1.json NEW-1.json OLD-2.json NEW-2.json ...

Each argument is a run's results.json (or its directory). For every read scenario the runs share,
one line per run: web server CPU ms per request (cpu.server_s / requests), that as a multiple of the
run's own bare view, requests per second (the median round), and PostgreSQL's CPU ms per request
(cpu.database_s / requests: the server processes' CPU, which a 2-core machine shares with the web server).
Used for docs/bench.md's A/B tables; a single pair says little on a noisy machine.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ORDER = (
    "bare",
    "ceiling",
    "product_detail_nocache",
    "web_list_nocache",
    "product_list_nocache",
    "cart_read",
    "product_detail",
    "product_list",
    "product_list_miss",
    "web_list",
)


def load(arg: str) -> tuple[str, dict]:
    path = Path(arg)
    if path.is_dir():
        path = path / "results.json"
    return (path.parent.name if path.name == "results.json" else path.stem), json.loads(path.read_text())


def per_request(row: dict, key: str) -> float | None:
    if not row or "skipped" in row or not row.get("requests"):
        return None
    return row["cpu"][key] * 1000 / row["requests"]


def main(args: list[str]) -> None:
    if not args:
        sys.exit(__doc__)
    runs = [load(arg) for arg in args]
    present = [name for name in ORDER if all(name in data["scenarios"] for _, data in runs)]
    print("| scenario | run | server CPU ms/req | x bare | req/s | PostgreSQL CPU ms/req |")
    print("|---|---|---:|---:|---:|---:|")
    for name in present:
        for label, data in runs:
            rows = data["scenarios"]
            cpu, bare = per_request(rows[name], "server_s"), per_request(rows.get("bare"), "server_s")
            database = per_request(rows[name], "database_s")
            times = f"{cpu / bare:.2f}" if cpu and bare else "-"
            print(
                f"| {name} | {label} | {cpu:.2f} | {times} | {rows[name]['rps']:.0f} | {database:.2f} |"
                if cpu is not None
                else f"| {name} | {label} | - | - | - | - |"
            )


if __name__ == "__main__":
    main(sys.argv[1:])
