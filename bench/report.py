"""Render a results.json from bench/runner.py as Markdown (BENCHMARKS.md) and a short summary.

    python bench/report.py bench/results/<run>/results.json BENCHMARKS.md

The human part (what was changed to reach the targets) lives in bench/NOTES.md and is
copied in verbatim, so regenerating the report never loses it.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TITLES = {
    "bare": "0. Bare view: `GET /api/bench/bare/` (the ping view with no middleware)",
    "ceiling": "1. Ceiling: `GET /api/bench/ping/` (DRF, no DB, full middleware stack)",
    "product_list": "2. Product list (20/page, filter + ordering)",
    "product_list_miss": "2b. Product list, every URL distinct (response-cache misses)",
    "product_detail": "3. Product detail",
    "cart_read": "4. Authenticated cart read",
    "web_list": "6. Storefront list (`/api/web/products/`, ~20 products)",
    "product_list_nocache": "2c. Product list, catalogue cache off",
    "product_detail_nocache": "3b. Product detail, catalogue cache off",
    "web_list_nocache": "6b. Storefront list, catalogue cache off",
}

# Issue 12's targets, in web server CPU ms per request with the catalogue cache off (the original
# backend's figures on this machine class divided by 1.5, as the issue states them).
CPU_TARGETS_MS = {"web_list": 2.0, "product_detail": 1.3, "cart_read": 2.5, "product_list": 3.0}
# The issue's bare figure: the original backend's bare DRF view (behind its own, light middleware),
# 0.62 CPU ms per request. Machines of "this class" differ by more than the targets' margins (our
# bare view has measured 0.46 to 1.13 ms here), so each target is also read as a multiple of the
# bare view (no middleware) measured in the same run: CPU_TARGETS_MS / ISSUE_BARE_CPU_MS. Dividing
# by our bare view, not by our full stack, is the stricter of the two readings.
# Since the web server became granian (docs/bench.md, tenth look) the bare view costs half what it
# did under gunicorn on the same machine: the server's share of a request went, not the machine's
# speed, so those multiples stopped carrying the targets from one machine to another. They are
# still printed (the issue asks for each read as a ratio to the bare view) but no longer judged.
ISSUE_BARE_CPU_MS = 0.62
MIDDLEWARE_TARGET = 1.25  # full stack / bare view (no middleware), CPU or instructions per request
WEB_LIST_ALL_P50_TARGET_MS = 100.0
WEB_LIST_ALL_CPU_TARGET_MS = 19.0  # half of the ~38 ms the issue measured
STRIPE_DELAY_TARGET = 0.7


def fmt(value, digits: int = 2) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def ratio(numerator, denominator) -> float | None:
    if numerator is None or not denominator:
        return None
    return numerator / denominator


def get(data: dict, *keys):
    for key in keys:
        if not isinstance(data, dict) or key not in data or "skipped" in data:
            return None
        data = data[key]
    return data


def _cpu_per_request(row: dict | None) -> float | None:
    """Web server CPU seconds per request: what a request costs the server, whatever else ran."""
    if not row or "skipped" in row or not row.get("requests"):
        return None
    return row["cpu"]["server_s"] / row["requests"]


def targets(results: dict) -> list[dict]:
    s = results["scenarios"]
    scale = results.get("scale", {})
    sizes = sorted(int(k) for k in scale)
    small, large = (str(sizes[0]), str(sizes[-1])) if len(sizes) >= 2 else (None, None)
    size_label = (
        f"{fmt(int(large)) if large else '100,000'} / at {fmt(int(small)) if small else '1,000'} products"
    )
    checkout = s.get("checkout", {})
    verify = checkout.get("verify", {})
    list_queries = get(results, "queries", "product_list", "queries")
    rows = [
        {
            "name": "product list / ceiling (req/s)",
            "value": ratio(get(s, "product_list", "rps"), get(s, "ceiling", "rps")),
            "target": ">= 0.50",
            "ok": lambda v: v >= 0.5,
        },
        {
            "name": "product list / ceiling by server CPU per request (noise-robust cross-check)",
            "value": ratio(_cpu_per_request(s.get("ceiling")), _cpu_per_request(s.get("product_list"))),
            "target": "(reported)",
            "ok": None,
        },
        {
            "name": "product detail / ceiling (req/s)",
            "value": ratio(get(s, "product_detail", "rps"), get(s, "ceiling", "rps")),
            "target": "(reported)",
            "ok": None,
        },
        {
            "name": "checkout p95 / detail p95 (order create vs. detail)",
            "value": ratio(get(s, "checkout", "order", "p95_ms"), get(s, "product_detail", "p95_ms")),
            "target": "<= 10",
            "ok": lambda v: v <= 10,
        },
        {
            "name": f"product-list p50 at {size_label}",
            "value": ratio(get(scale, large, "hit", "p50_ms"), get(scale, small, "hit", "p50_ms"))
            if small
            else None,
            "target": "<= 1.5",
            "ok": lambda v: v <= 1.5,
        },
        {
            "name": f"product-list p50 at {size_label}, response-cache misses",
            "value": ratio(get(scale, large, "miss", "p50_ms"), get(scale, small, "miss", "p50_ms"))
            if small
            else None,
            "target": "<= 1.5",
            "ok": lambda v: v <= 1.5,
        },
        {
            "name": "queries per product-list request",
            "value": list_queries,
            "target": "<= 4",
            "ok": lambda v: v <= 4,
        },
        {
            "name": "checkout oversold units (+ stock/order-line mismatches)",
            "value": (verify["oversold_units"] + verify["stock_mismatches"]) if verify else None,
            "target": "0",
            "ok": lambda v: v == 0,
        },
        {
            "name": "checkout 5xx",
            "value": checkout.get("five_xx") if "skipped" not in checkout else None,
            "target": "0",
            "ok": lambda v: v == 0,
        },
    ]
    rows += issue12_targets(results)
    for row in rows:
        value = row["value"]
        row["met"] = (
            "n/a" if value is None or row["ok"] is None else ("yes" if row["ok"](value) else "**NO**")
        )
    return rows


def _cpu_ms(row: dict | None) -> float | None:
    per = _cpu_per_request(row)
    return None if per is None else 1000 * per


def _uncached(s: dict, key: str) -> dict | None:
    """The cache-off measurement of a read scenario (the cart is never cached: its own row)."""
    row = s.get(f"{key}_nocache") if key != "cart_read" else s.get(key)
    return row if row and "skipped" not in row else None


def issue12_targets(results: dict) -> list[dict]:
    s = results["scenarios"]
    stack = results.get("stack_instructions", {})
    rows = [
        {
            "name": "middleware + authentication stack: ping / bare view, server CPU per request",
            "value": ratio(_cpu_ms(s.get("ceiling")), _cpu_ms(s.get("bare"))),
            "target": f"<= {MIDDLEWARE_TARGET}",
            "ok": lambda v: v <= MIDDLEWARE_TARGET,
            "digits": 3,
        },
        {
            "name": "middleware + authentication stack: ping / bare view, instructions per request "
            "(callgrind, in process; bench/instructions.py)",
            "value": stack.get("ratio") if "skipped" not in stack else None,
            "target": f"<= {MIDDLEWARE_TARGET}",
            "ok": lambda v: v <= MIDDLEWARE_TARGET,
            "digits": 3,
        },
        {
            "name": "the same with production's LOG_LEVEL=INFO (every request writes its JSON line, "
            "the access log), instructions per request",
            "value": stack.get("ratio_info") if "skipped" not in stack else None,
            "target": "(reported)",
            "ok": None,
            "digits": 3,
        },
        {
            "name": "ping view behind the full stack: server CPU ms per request, against the original "
            f"backend's bare DRF view behind its stack ({ISSUE_BARE_CPU_MS:g} ms on the issue's machine)",
            "value": _cpu_ms(s.get("ceiling")),
            "target": f"<= {MIDDLEWARE_TARGET * ISSUE_BARE_CPU_MS:.3f} "
            f"({MIDDLEWARE_TARGET:g} x {ISSUE_BARE_CPU_MS:g})",
            "ok": lambda v: v <= MIDDLEWARE_TARGET * ISSUE_BARE_CPU_MS,
        },
    ]
    labels = {
        "web_list": "storefront list (~20 products)",
        "product_detail": "product detail",
        "cart_read": "cart read (3 lines)",
        "product_list": "canonical list page of 20",
    }
    for key, target in CPU_TARGETS_MS.items():
        rows.append(
            {
                "name": f"{labels[key]}, cache off: server CPU ms per request",
                "value": _cpu_ms(_uncached(s, key)),
                "target": f"<= {target}",
                "ok": lambda v, t=target: v <= t,
            }
        )
    for key, target in CPU_TARGETS_MS.items():
        relative = target / ISSUE_BARE_CPU_MS
        rows.append(
            {
                "name": f"{labels[key]}, cache off: server CPU per request / the bare view's (same run)",
                "value": ratio(_cpu_ms(_uncached(s, key)), _cpu_ms(s.get("bare"))),
                "target": f"(reported; {relative:.2f} = {target:g} ms / the issue's bare "
                f"{ISSUE_BARE_CPU_MS:g} ms)",
                "ok": None,
            }
        )
    web = results.get("web_list_all", {})
    size = fmt(web.get("products_total")) if web else "1,000"
    rows.append(
        {
            "name": f"storefront list at {size} products, cached: p50 ms",
            "value": get(web, "hit", "p50_ms"),
            "target": f"<= {WEB_LIST_ALL_P50_TARGET_MS:g}",
            "ok": lambda v: v <= WEB_LIST_ALL_P50_TARGET_MS,
        }
    )
    rows.append(
        {
            "name": f"storefront list at {size} products, cache off: server CPU ms per response",
            "value": _cpu_ms(web.get("nocache")) if web else None,
            "target": f"<= {WEB_LIST_ALL_CPU_TARGET_MS:g}",
            "ok": lambda v: v <= WEB_LIST_ALL_CPU_TARGET_MS,
        }
    )
    checkout = s.get("checkout", {})
    slow = results.get("stripe_latency_whatif", {})
    rows.append(
        {
            "name": f"checkout orders/s with +{slow.get('stripe_latency_ms', 150):g} ms Stripe / without",
            "value": ratio(slow.get("orders_per_s"), checkout.get("orders_per_s"))
            if slow and "skipped" not in checkout
            else None,
            "target": f">= {STRIPE_DELAY_TARGET}",
            "ok": lambda v: v >= STRIPE_DELAY_TARGET,
        }
    )
    return rows


def render_cache_off(results: dict) -> list[str]:
    """Issue 12's table: each read scenario, cache on and off, as CPU per request and as a ratio to
    the bare view (the ping view without middleware)."""
    s = results["scenarios"]
    bare = s.get("bare")
    if not bare or "skipped" in bare:
        return []
    bare_cpu, bare_rps = _cpu_ms(bare), bare["rps"]
    out = ["## Cache off: every read against the bare view (issue 12)\n"]
    out.append(
        "The same code and database served by two web servers side by side: the production default "
        "(catalogue cache on) and `CATALOG_CACHE_SECONDS=0` (every request runs the view), measured in "
        "the same interleaved rounds. *bare* is the ping view through a Django handler with no "
        "middleware at all (`bench/wsgi.py`, `/api/bench/bare/`, bench only). *CPU / bare* is the "
        "web server's CPU per request divided by the bare view's (lower is better; the noise-robust figure); "
        "*req/s / bare* the throughput ratio (higher is better; moves with the machine's other load). "
        "Targets are issue 12's, in web server CPU ms per request with the cache off. The same "
        f"targets divided by the {ISSUE_BARE_CPU_MS:g} ms bare view of the issue's run are shown as "
        "multiples of the bare view for reference, not judged: under granian the bare view costs half "
        "what it did under gunicorn on the same machine, so it no longer measures the machine's speed "
        "(docs/bench.md, tenth look).\n"
    )
    out.append(
        "| scenario | cached req/s | cached p50 ms | cached CPU ms/req | cache off req/s "
        "| cache off p50 ms | cache off CPU ms/req | CPU / bare | req/s / bare | target (cache off) | met |"
    )
    out.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---|")

    def cells(row: dict | None) -> list[str]:
        if not row or "skipped" in row:
            return ["n/a", "n/a", "n/a"]
        return [fmt(row["rps"], 1), fmt(row["p50_ms"]), fmt(_cpu_ms(row))]

    def line(label, cached, uncached, target=None, ok=None, relative=None):
        off = uncached if uncached and "skipped" not in uncached else None
        cpu = _cpu_ms(off)
        vs_cpu = ratio(cpu, bare_cpu)
        vs_rps = ratio(off["rps"], bare_rps) if off else None
        met = "n/a" if target is None or cpu is None else ("yes" if ok(cpu) else "**NO**")
        if relative is not None and vs_cpu is not None:
            target = f"{target} (reference: {relative:.2f} x bare)"
        out.append(
            f"| {label} | {' | '.join(cells(cached))} | {' | '.join(cells(off))} | "
            f"{fmt(vs_cpu)} | {fmt(vs_rps)} | {target or ''} | {met} |"
        )

    line("bare view, no middleware", bare, bare)
    line(
        "the same view behind the full middleware + auth stack (`ping`)",
        s.get("ceiling"),
        s.get("ceiling"),
        f"CPU <= {MIDDLEWARE_TARGET} x bare",
        lambda v: v <= MIDDLEWARE_TARGET * bare_cpu,
    )
    n = results.get("web_list_products")
    rows = [
        ("web_list", f"storefront list `/api/web/products/` ({fmt(n) if n else '~20'} products)"),
        ("product_detail", "product detail"),
        ("cart_read", "authenticated cart read, 3 lines (never cached)"),
        ("product_list", "canonical list page of 20 `/api/products/`"),
    ]
    for key, label in rows:
        target = CPU_TARGETS_MS[key]
        line(
            label,
            s.get(key),
            _uncached(s, key),
            f"<= {target:g} ms",
            lambda v, t=target: v <= t,
            relative=target / ISSUE_BARE_CPU_MS,
        )
    web = results.get("web_list_all")
    if web:
        hit, off = web["hit"], web["nocache"]
        p50_ok = (
            "n/a"
            if "skipped" in hit
            else ("yes" if hit["p50_ms"] <= WEB_LIST_ALL_P50_TARGET_MS else "**NO**")
        )
        line(
            f"storefront list at {fmt(web['products_total'])} products ({fmt(web['products_returned'])} "
            "returned, WEB_PRODUCT_LIST_MAX)",
            hit,
            off,
            f"cached p50 <= {WEB_LIST_ALL_P50_TARGET_MS:g} ms ({p50_ok}); "
            f"CPU <= {WEB_LIST_ALL_CPU_TARGET_MS:g} ms",
            lambda v: v <= WEB_LIST_ALL_CPU_TARGET_MS,
        )
    out.append("")
    stack = results.get("stack_instructions")
    if stack and "skipped" not in stack:
        met = "met" if stack["ratio"] <= MIDDLEWARE_TARGET else "**not met**"
        ping = _cpu_ms(s.get("ceiling"))
        ours = "n/a" if ping is None else f"{ping:.2f}"
        out.append(
            f"**The stack in instructions** (`bench/instructions.py`: callgrind, in process, "
            f"{fmt(stack['requests'])} requests after {fmt(stack['warmup'])} of warm-up, the production "
            f"application; {stack['valgrind']}): the bare view {fmt(stack['bare'])} instructions per "
            f"request, the ping view behind the full middleware and authentication stack "
            f"{fmt(stack['full'])}, **{stack['ratio']:.3f} x** (target <= {MIDDLEWARE_TARGET:g} x: {met}). "
            "Unlike the CPU ratio above, no other load on the machine moves this figure; it leaves out "
            "what counts no instructions (cache misses, the web server's own threads). "
            + (
                f"At production's default `LOG_LEVEL=INFO`, where every request also writes its JSON "
                f"line (the access log; the bench runs at WARNING): {fmt(stack['full_info'])}, "
                f"{stack['ratio_info']:.3f} x. "
                if "full_info" in stack
                else ""
            )
            + "The issue's own "
            f"comparison, the same view behind the whole stack against the original backend's "
            f"({ISSUE_BARE_CPU_MS:g} ms on the issue's machine): {ours} ms of server CPU per request "
            f"(<= {MIDDLEWARE_TARGET * ISSUE_BARE_CPU_MS:.3f} ms asked).\n"
        )
    c = s.get("checkout", {})
    slow = results.get("stripe_latency_whatif")
    threads = results.get("stripe_latency_threads", {})
    if c and "skipped" not in c and slow:
        out.append("### Checkout: Stripe delay and server threads\n")
        out.append(
            f"The checkout mix (50 users, 2 workers) with localstripe answering directly, then with "
            f"+{slow['stripe_latency_ms']:g} ms on every Stripe call, with the server's default threads "
            "and with one thread per worker (`WEB_THREADS=1`, i.e. what sync workers give). Target: "
            f"orders/s with the delay >= {STRIPE_DELAY_TARGET} x without, 0 oversells, 0 5xx.\n"
        )
        out.append(
            "| run | threads per worker | orders | orders/s | / no delay | order p50 ms | order p95 ms "
            "| 5xx | oversold + mismatches |"
        )
        out.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
        runs = [
            ("no delay", c, _threads(c)),
            (f"+{slow['stripe_latency_ms']:g} ms", slow, None),
        ]
        runs += [
            (f"+{r['stripe_latency_ms']:g} ms", r, None)
            for _, r in sorted(threads.items(), key=lambda kv: int(kv[0]))
        ]
        for label, r, shown_threads in runs:
            v = r.get("verify", {})
            bad = v.get("oversold_units", 0) + v.get("stock_mismatches", 0) if v else "n/a"
            out.append(
                f"| {label} | {shown_threads or _threads(r) or ''} | {fmt(r['orders'])} | "
                f"{fmt(r['orders_per_s'])} | {fmt(ratio(r['orders_per_s'], c['orders_per_s']))} | "
                f"{fmt(r['order']['p50_ms'])} | {fmt(r['order']['p95_ms'])} | {r['five_xx']} | {bad} |"
            )
        out.append("")
    return out


def _threads(run: dict) -> int | None:
    """Threads per worker of a checkout run (`gunicorn_threads` in runs before granian)."""
    return run.get("server_threads") or run.get("gunicorn_threads")


BASELINE_ROWS = [
    ("product_list_nocache", "canonical list page of 20, cache off"),
    ("product_detail_nocache", "product detail, cache off"),
    ("web_list_nocache", "storefront list (~20), cache off"),
    ("cart_read", "cart read, 3 lines"),
    ("product_list", "canonical list page of 20, cached"),
    ("product_detail", "product detail, cached"),
]


def render_baseline(results: dict, baseline: dict | None, label: str) -> list[str]:
    """Each read scenario against a recorded earlier run (`bench/baseline/`): web server CPU per
    request in both runs, and the ratio of their *CPU / bare* figures (each run's own bare view as
    the unit, so a busier or quieter machine cancels out)."""
    if not baseline:
        return []
    now, before = results["scenarios"], baseline["scenarios"]
    bare_now, bare_before = _cpu_ms(now.get("bare")), _cpu_ms(before.get("bare"))
    out = [f"## Against the baseline run: {label}\n"]
    out.append(
        f"Baseline: `{baseline['command']}` at commit `{baseline['machine']['git_commit']}`, started "
        f"{baseline['started_at']}. *x bare* is the scenario's web server CPU per request divided by its "
        "own run's bare view; *change* is this run's *x bare* over the baseline's (above 1: costlier "
        "now). Two runs on a shared machine: read the change, not the absolute milliseconds.\n"
    )
    out.append("| scenario | baseline CPU ms/req | baseline x bare | CPU ms/req | x bare | change |")
    out.append("|---|---:|---:|---:|---:|---:|")
    for key, name in BASELINE_ROWS:
        a, b = _cpu_ms(before.get(key)), _cpu_ms(now.get(key))
        ra, rb = ratio(a, bare_before), ratio(b, bare_now)
        out.append(f"| {name} | {fmt(a)} | {fmt(ra)} | {fmt(b)} | {fmt(rb)} | {fmt(ratio(rb, ra))} |")
    out.append("")
    return out


def render(
    results: dict, source: str, baseline: dict | None = None, baseline_label: str = ""
) -> tuple[str, str]:
    m = results["machine"]
    st = results["settings"]
    s = results["scenarios"]
    out: list[str] = []
    w = out.append
    w("# Benchmarks\n")
    w(
        f"Generated by `bench/report.py` from `{source}` (a full run of the harness in `bench/`; how to run "
        "it and how to read it: [docs/bench.md](docs/bench.md)). Regenerate rather than edit; the notes at "
        "the end come from `bench/NOTES.md`.\n"
    )
    w("## Command\n")
    w(f"```\n{results['command']}\n```\n")
    w(
        f"Started {results['started_at']}, finished {results.get('finished_at', '?')}, "
        f"commit `{m['git_commit']}`.\n"
    )
    w("## Machine\n")
    w("| | |\n|---|---|")
    for label, key in [
        ("CPU", "cpu_model"),
        ("cores (nproc)", "nproc"),
        ("memory (GiB)", "memory_gib"),
        ("OS", "os"),
        ("kernel", "kernel"),
        ("Python", "python"),
        ("Django", "django"),
        ("web server", "server"),
        ("PostgreSQL", "postgresql"),
        ("load generator", "wrk"),
    ]:
        w(f"| {label} | {m.get(key, '')} |")
    w("")
    w(
        "Server and load generator share the same cores, and PostgreSQL runs on them too; "
        "the CPU columns below show how the cores were split.\n"
    )
    w("## Setup\n")
    w(
        f"- web server: {st.get('server') or st.get('gunicorn', '?')}, DEBUG off, throttles off, "
        "LOG_LEVEL=WARNING, "
        f"cache/broker: {st.get('redis')}."
    )
    w(
        f"- Catalogue: {fmt(st['products'])} products from `seed_demo`; list filter on category "
        f"`{get(results, 'category', 'slug')}` "
        f"({fmt(get(results, 'category', 'products'))} active products in "
        "its subtree)."
    )
    rounds = st.get("rounds", 1)
    w(
        f"- Read scenarios: wrk, {st['connections']} connections, {st['wrk_threads']} thread, "
        f"{st['warmup_s']:g} s warm-up each, then {rounds} interleaved rounds of "
        f"{max(1, round(st['duration_s'] / rounds))} s; each figure is the "
        f"median over the rounds. Budget {fmt(st['budget'])} requests per round."
    )
    w(
        f"- Checkout mix: {st['checkout_users']} users, {st['hot_products']} hot products x "
        f"{st['hot_stock']} units, payment method `{st['payment_method']}`"
        + (" (PaymentIntents on a loopback localstripe)." if st["payment_method"] == "card" else ".")
    )
    w("")

    w("## Results\n")
    w("| scenario | req/s | p50 ms | p95 ms | p99 ms | errors | 5xx | requests | req/s per round |")
    w("|---|---:|---:|---:|---:|---:|---:|---:|---|")
    cpu_rows = []
    for key, title in TITLES.items():
        r = s.get(key)
        if not r:
            continue
        if "skipped" in r:
            w(f"| {title} | skipped: {r['skipped']} | | | | | | | |")
            continue
        per_round = ", ".join(fmt(x, 0) for x in r.get("rounds_rps", []))
        w(
            f"| {title} | {fmt(r['rps'], 1)} | {fmt(r['p50_ms'])} | {fmt(r['p95_ms'])} | "
            f"{fmt(r['p99_ms'])} | {r['errors']} | {r['five_xx']} | {fmt(r['requests'])} | {per_round} |"
        )
        cpu_rows.append((key, r["cpu"], r["requests"]))
    c = s.get("checkout")
    if c and "skipped" not in c:
        a = c["all_requests"]
        w(
            f"| 5. Checkout mix, all requests (add, order, clear) | {fmt(a['rps'], 1)} | "
            f"{fmt(a['p50_ms'])} | "
            f"{fmt(a['p95_ms'])} | {fmt(a['p99_ms'])} | {c['unexpected'] + c['transport_errors']} | "
            f"{c['five_xx']} | {fmt(a['requests'])} | |"
        )
        w(
            f"| 5. Checkout mix, `POST /api/orders/create/` only | {fmt(c['order']['rps'], 1)} | "
            f"{fmt(c['order']['p50_ms'])} | {fmt(c['order']['p95_ms'])} | {fmt(c['order']['p99_ms'])} | | | "
            f"{fmt(c['order']['requests'])} | |"
        )
        cpu_rows.append(("checkout", c["cpu"], a["requests"]))
    w("")
    w("Paths: " + "; ".join(f"{k}: `{s[k]['path']}`" for k in TITLES if k in s and "path" in s[k]) + ".\n")
    scale = results.get("scale", {})
    for size, row in sorted(scale.items(), key=lambda kv: int(kv[0])):
        if int(size) == st["products"]:
            continue
        for kind in ("hit", "miss"):
            if "cpu" in row.get(kind, {}):
                label = f"product_list{'_miss' if kind == 'miss' else ''} at {fmt(int(size))}"
                cpu_rows.append((label, row[kind]["cpu"], row[kind]["requests"]))
    if cpu_rows:
        w("### Where the CPU went\n")
        w(
            "CPU seconds during each measured window (all rounds), from /proc: the web server (main "
            "process and workers), "
            "the PostgreSQL backends of the bench databases, the load generator, helpers (localstripe, "
            "Redis), *other processes* (anything else on the machine: other people's work, so a large value "
            "means the scenario was disturbed and its throughput is low by about that share), *steal* (time "
            "the hypervisor gave this virtual machine's cores to another guest while they had work: the "
            "same kind of disturbance, from outside the machine; n/a in runs before it was recorded), "
            "*unattributed* "
            "(busy time charged to no live process: interrupts, processes that came and went) and idle. "
            "*ms/request* is the web server's CPU per request, the figure least sensitive to noise.\n"
        )
        w(
            "| scenario | wall s | server s | server ms/request | PostgreSQL s | load generator s "
            "| helpers s | other processes s | steal s | unattributed s | idle s |"
        )
        w("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        for key, cpu, requests in cpu_rows:
            per = 1000 * cpu["server_s"] / requests if requests else None
            w(
                f"| {key} | {fmt(cpu['wall_s'], 1)} | {fmt(cpu['server_s'], 1)} | {fmt(per)} | "
                f"{fmt(cpu.get('database_s'), 1)} | {fmt(cpu['loadgen_s'], 1)} | "
                f"{fmt(cpu.get('helpers_s'), 1)} | "
                f"{fmt(cpu.get('other_processes_s', cpu.get('other_s')), 1)} | "
                f"{fmt(cpu.get('steal_s'), 1)} | {fmt(cpu.get('unattributed_s'), 1)} | "
                f"{fmt(cpu['idle_s'], 1)} |"
            )
        w("")
    bg = results.get("background_load")
    if bg:
        w(
            f"Machine load just before the run: {bg['busy_pct_of_all_cores']}% of all cores busy "
            f"(load average {' '.join(bg['loadavg'])}).\n"
        )

    if c and "skipped" not in c:
        v = c.get("verify", {})
        w("## Checkout mix\n")
        w(
            f"{c['users']} concurrent users, each looping *add a hot product (qty 1-2) -> create a "
            f"`{c['payment_method']}` order*, until every hot product was sold out "
            f"({c['elapsed_s']} s, limit {c['duration_limit_s']:g} s, "
            f"budget {fmt(c['budget_iterations'])} rounds).\n"
        )
        w("| | value |\n|---|---:|")
        w(f"| orders created | {fmt(c['orders'])} |")
        w(f"| orders/s (until the last order) | {fmt(c['orders_per_s'])} |")
        w(f"| units ordered / units on offer | {fmt(c['units_ordered'])} / {fmt(v.get('units_initial'))} |")
        for kind, label in (
            ("order", "POST /api/orders/create/"),
            ("add", "POST /api/cart/add/"),
            ("clear", "DELETE /api/cart/clear/ (after a lost race)"),
        ):
            k = c[kind]
            w(
                f"| {label}: n / p50 / p95 / p99 ms | {fmt(k['requests'])} / {fmt(k['p50_ms'])} / "
                f"{fmt(k['p95_ms'])} / {fmt(k['p99_ms'])} |"
            )
        w(f"| status codes | {json.dumps(c['statuses'])} |")
        w(f"| 5xx | {c['five_xx']} |")
        w(f"| unexpected answers / transport errors | {c['unexpected']} / {c['transport_errors']} |")
        if v:
            w(f"| oversold units (order lines beyond the initial stock) | {v['oversold_units']} |")
            w(f"| products where stock taken != units on order lines | {v['stock_mismatches']} |")
            w(f"| hot products sold out | {v['sold_out']} / {len(v['products'])} |")
            w(
                f"| orders in the database / by status | {v['orders_in_db']} / "
                f"{json.dumps(v['orders_by_status'])} |"
            )
        w("")
        if c["unexpected_examples"]:
            w("Unexpected answers (first few):\n")
            for line in c["unexpected_examples"]:
                w(f"- `{line}`")
            w("")

    slow = results.get("stripe_latency_whatif")
    if slow and c and "skipped" not in c:
        sv = slow.get("verify", {})
        w(f"### What-if: Stripe answering in +{slow['stripe_latency_ms']:g} ms\n")
        w(
            "The same mix again (fresh stock, same users) with a loopback proxy adding a fixed delay to "
            "every Stripe call, as the real API is a network hop away. Not a target; it shows how much of "
            "the checkout waits on the payment provider.\n"
        )
        w("| | localstripe direct | with delay |\n|---|---:|---:|")
        w(f"| orders created | {fmt(c['orders'])} | {fmt(slow['orders'])} |")
        w(f"| orders/s | {fmt(c['orders_per_s'])} | {fmt(slow['orders_per_s'])} |")
        for kind, label in (("order", "order create"), ("add", "cart add")):
            w(
                f"| {label} p50 / p95 ms | {fmt(c[kind]['p50_ms'])} / {fmt(c[kind]['p95_ms'])} | "
                f"{fmt(slow[kind]['p50_ms'])} / {fmt(slow[kind]['p95_ms'])} |"
            )
        w(f"| 5xx | {c['five_xx']} | {slow['five_xx']} |")
        if sv:
            direct = c.get("verify", {})
            bad = direct.get("oversold_units", 0) + direct.get("stock_mismatches", 0)
            w(f"| oversold units + mismatches | {bad} | {sv['oversold_units'] + sv['stock_mismatches']} |")
        w("")

    if results.get("queries"):
        w("## Queries per request\n")
        w(
            "Counted once in-process (`CaptureQueriesContext`, Django test client) "
            "against the bench database: with the catalogue cache off (the real work), on a response-cache "
            "miss (the COUNT(*) cached) and on a hit. The budget of 4 is also a test: "
            "`products/tests/test_catalog_read.py::test_list_query_budget`.\n"
        )
        w("| request | HTTP | queries |\n|---|---:|---:|")
        for key, q in results["queries"].items():
            w(f"| {key}: `{q['path']}` | {q['status']} | {q['queries']} |")
        w("")

    if scale:
        w("## Scale: product list against catalogue size\n")
        w(
            "Same path shape (busiest category, `ordering=-price`), same settings, "
            "a fresh database per size.\n"
        )
        w(
            "*hit*: one URL, answered from the catalogue cache (`CATALOG_CACHE_SECONDS`) after the first "
            "request; *miss*: every request a distinct URL, so each one runs the view (the cached COUNT(*) "
            "still applies).\n"
        )
        w(
            "| products | category (active in subtree) | | req/s | p50 ms | p95 ms | p99 ms | errors | 5xx "
            "| p50 ms per round |"
        )
        w("|---:|---|---|---:|---:|---:|---:|---:|---:|---|")
        for size in sorted(scale, key=int):
            row = scale[size]
            for kind in ("hit", "miss"):
                r = row.get(kind, {"skipped": "not run"})
                category = row["category"]
                lead = (
                    f"| {fmt(row['products'])} | `{category['slug']}` ({fmt(category['products'])})"
                    if kind == "hit"
                    else "| |"
                )
                if "skipped" in r:
                    w(f"{lead} | {kind} | skipped: {r['skipped']} | | | | | | |")
                    continue
                per_round = ", ".join(fmt(x) for x in r.get("rounds_p50_ms", []))
                w(
                    f"{lead} | {kind} | {fmt(r['rps'], 1)} | {fmt(r['p50_ms'])} | {fmt(r['p95_ms'])} | "
                    f"{fmt(r['p99_ms'])} | {r['errors']} | {r['five_xx']} | {per_round} |"
                )
        w("")

    out.extend(render_cache_off(results))
    out.extend(render_baseline(results, baseline, baseline_label))

    rows = targets(results)
    w("## Ratios and targets (same run)\n")
    w("| measure | value | target | met |\n|---|---:|---|---|")
    for row in rows:
        value = row["value"]
        shown = fmt(value, row.get("digits", 2)) if isinstance(value, float) else fmt(value)
        w(f"| {row['name']} | {shown} | {row['target']} | {row['met']} |")
    w("")

    p = results.get("profile")
    if p:
        w(f"## Profile: {p['scenario']}\n")
        w(
            f"py-spy, {p['seconds']:g} s at 200 Hz on both web server workers "
            f"while `{p['scenario']}` ran again "
            f"(a separate pass; the numbers above were measured without the profiler). {fmt(p['samples'])} "
            "samples (py-spy drops idle samples; time waiting on PostgreSQL counts as busy).\n"
        )
        if p["errors"]:
            w("py-spy errors: " + "; ".join(f"`{e.strip()[:200]}`" for e in p["errors"]) + "\n")
        w("Hottest project frames (inclusive):\n")
        w("| % of samples | frame |\n|---:|---|")
        for row in p["top_inclusive_project"][:15]:
            w(f"| {row['pct']} | `{row['frame']}` |")
        w("\nHottest leaf frames (self):\n")
        w("| % of samples | frame |\n|---:|---|")
        for row in p["top_self"][:12]:
            w(f"| {row['pct']} | `{row['frame']}` |")
        w("")

    notes = ROOT / "bench" / "NOTES.md"
    if notes.exists():
        w(notes.read_text().rstrip() + "\n")

    summary = [
        f"{row['name']}: "
        f"{fmt(row['value'], row.get('digits', 2)) if isinstance(row['value'], float) else fmt(row['value'])}"
        f" (target {row['target']}, met: {row['met'].strip('*')})"
        for row in rows
    ]
    return "\n".join(out), "\n".join(summary) + "\n"


def main() -> None:
    """`report.py RESULTS.json BENCHMARKS.md [BASELINE.json]`: the baseline defaults to
    `bench/baseline/before-variants.json`, the last full run before product variants (issue 13)."""
    source = Path(sys.argv[1]).resolve()
    target = Path(sys.argv[2]).resolve()
    baseline_file = (
        Path(sys.argv[3]) if len(sys.argv) > 3 else ROOT / "bench" / "baseline" / "before-variants.json"
    )
    baseline = json.loads(baseline_file.read_text()) if baseline_file.exists() else None
    results = json.loads(source.read_text())
    try:
        shown = source.relative_to(ROOT)
    except ValueError:
        shown = source
    markdown, summary = render(results, str(shown), baseline, "before product variants (issue 13)")
    target.write_text(markdown)
    (source.parent / "summary.txt").write_text(summary)


if __name__ == "__main__":
    main()
