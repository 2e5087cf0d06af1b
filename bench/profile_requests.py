"""Where the time of one uncached request goes: cProfile over Django's test client, in process.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/novacart_profile \\
        .venv/bin/python bench/profile_requests.py [--repeat 200] [--top 25] [--scenario NAME ...]

Migrates and seeds the database it is given (`seed_demo`: the sample catalogue, plus
`--products N` generated ones), makes one customer with a 3-line cart, then for each scenario
runs the request `--warmup` times, and `--repeat` times under cProfile. The catalog cache is off
(`CATALOG_CACHE_SECONDS=0`), DEBUG off, throttles off, so every request runs the view.

Printed per scenario: Python function calls per request (deterministic for the same code and
data, so comparable across machines and noisy runs: the figure to compare), CPU ms per request
without the profiler (noisy on a shared machine; a hint only) and the top functions by
cumulative time. `docs/bench.md` records the before/after figures.

Scenarios: `bare` (/api/bench/ping/, a DRF view without database, through the test client with
no middleware), `ping` (the same behind the full middleware stack), `detail` (/api/products/<id>/), `list`
(/api/products/, page of 20), `list-new-filters` (the same page with a `min_price` no earlier
request named, so its SQL is compiled afresh: the cost of a filter set new to the thread),
`web-list` (/api/web/products/, 20 products), `cart` (GET /api/cart/ with 3 lines, authenticated).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings_bench")
os.environ.setdefault("DEBUG", "false")
os.environ.setdefault("SECRET_KEY", "profile-requests-" + "x" * 40)
os.environ.setdefault("ALLOWED_HOSTS", "testserver")
os.environ.setdefault("SECURE_SSL_REDIRECT", "false")
os.environ.setdefault("THROTTLE_DISABLED", "true")
os.environ.setdefault("LOG_LEVEL", "WARNING")
os.environ.setdefault("CATALOG_CACHE_SECONDS", "0")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db.models import Subquery, Sum  # noqa: E402
from django.db.models.functions import Coalesce  # noqa: E402
from django.test import Client, override_settings  # noqa: E402
from rest_framework_simplejwt.tokens import RefreshToken  # noqa: E402

from cart import services as cart_services  # noqa: E402
from cart.models import CartItem  # noqa: E402
from products.models import Product, ProductVariant  # noqa: E402
from users.models import User  # noqa: E402

SCENARIOS = ("bare", "ping", "detail", "list", "list-new-filters", "web-list", "cart")

# The usual suspects of issue 12: (label, path fragment of the file, function name). Their share
# is cumulative time / the request's time; the calls are per request.
SUSPECTS = (
    ("serializer get_fields", "rest_framework/serializers.py", "get_fields"),
    ("serializer to_representation", "rest_framework/serializers.py", "to_representation"),
    ("prebuilt to_representation", "core/serializers.py", "to_representation"),
    ("filterset form", "django_filters/filterset.py", "form"),
    ("filterset qs", "django_filters/filterset.py", "qs"),
    ("build_absolute_uri", "django/http/request.py", "build_absolute_uri"),
    ("JWT authenticate", "rest_framework_simplejwt/authentication.py", "authenticate"),
    ("SQL compile (as_sql)", "django/db/models/sql/compiler.py", "as_sql"),
    ("SQL execute (cursor)", "django/db/backends/utils.py", "execute"),
    ("session middleware", "django/contrib/sessions/middleware.py", "process_response"),
    ("message middleware", "django/contrib/messages/middleware.py", "process_response"),
    ("JSON render", "rest_framework/renderers.py", "render"),
    ("paginate_queryset", "rest_framework/pagination.py", "paginate_queryset"),
    ("model init (from_db)", "django/db/models/base.py", "from_db"),
)


def suspects(stats: pstats.Stats, repeat: int) -> list[tuple[str, float, float]]:
    """(label, share of the request's time, calls per request) of each suspect seen."""
    total = max(ct for (_, _, _), (_, _, _, ct, _) in stats.stats.items())
    rows = []
    for label, fragment, function in SUSPECTS:
        # The outermost match's cumulative time (nested matches are inside it), all matches' calls.
        cumulative = calls = 0.0
        for (filename, _line, name), (_cc, nc, _tt, ct, _callers) in stats.stats.items():
            if name == function and filename.replace(os.sep, "/").endswith(fragment):
                cumulative = max(cumulative, ct)
                calls += nc
        if calls:
            rows.append((label, cumulative / total, calls / repeat))
    return rows


def prepare(products: int) -> dict:
    call_command("migrate", "--noinput", verbosity=0)
    call_command("seed_demo", "--no-accounts", "--products", str(products), stdout=io.StringIO())
    user, _ = User.objects.get_or_create(
        email="profile@bench.novacart.test", defaults={"username": "profile-bench"}
    )
    active = list(Product.objects.filter(is_active=True).order_by("id").values_list("id", flat=True))
    if len(active) < 20:
        raise SystemExit(f"need at least 20 active products, found {len(active)}")
    CartItem.objects.filter(cart__user=user).delete()
    for product_id in active[:3]:
        # Stock lives on variants; the product's stock is their (active) sum.
        ProductVariant.objects.filter(product_id=product_id, stock__lt=10).update(stock=10)
        Product.objects.filter(pk=product_id).update(
            stock=Coalesce(
                Subquery(
                    ProductVariant.objects.filter(product_id=product_id, is_active=True)
                    .values("product_id")
                    .annotate(total=Sum("stock"))
                    .values("total")
                ),
                0,
            )
        )
        cart_services.cart_item_add(user=user, product_id=product_id, quantity=1, first_in_stock=True)
    token = str(RefreshToken.for_user(user).access_token)
    return {"detail_id": active[len(active) // 2], "token": token}


def make_request(name: str, state: dict):
    """A zero-argument callable doing one request of the scenario; asserts a 200."""
    if name == "bare":
        # The same view and test client with no middleware at all: `ping` minus `bare` is what the
        # middleware stack costs.
        with override_settings(MIDDLEWARE=[]):
            client = Client()
            client.get("/api/bench/ping/")  # the handler loads its (empty) middleware chain now

        def call():
            return client.get("/api/bench/ping/")

        return call
    client = Client()
    headers = {}
    if name == "ping":
        path = "/api/bench/ping/"
    elif name == "detail":
        path = f"/api/products/{state['detail_id']}/"
    elif name in ("list", "list-new-filters"):
        path = "/api/products/?page_size=20"
    elif name == "web-list":
        path = "/api/web/products/"
    elif name == "cart":
        path = "/api/cart/"
        headers["HTTP_AUTHORIZATION"] = f"Bearer {state['token']}"
    else:
        raise SystemExit(f"unknown scenario {name!r}; choose from {', '.join(SCENARIOS)}")

    if name == "list-new-filters":
        counter = iter(range(1, 10**9))

        def call():
            # 0.00001, 0.00002, ...: every request a new filter set, the same 20 products.
            return client.get(f"{path}&min_price={next(counter) / 100000:.5f}")

        return call

    def call():
        return client.get(path, **headers)

    return call


def run(name: str, state: dict, *, warmup: int, repeat: int, top: int, cpu_timer: bool = False) -> dict:
    call = make_request(name, state)
    for _ in range(warmup):
        response = call()
        assert response.status_code == 200, (name, response.status_code, response.content[:500])
    if name == "web-list":
        count = len(response.json())
        assert count >= 20, count

    started = time.process_time()
    for _ in range(repeat):
        call()
    cpu_ms = (time.process_time() - started) * 1000 / repeat

    # cProfile's default clock is wall time, so waits on PostgreSQL show as the top cost;
    # --cpu-timer profiles with the process's CPU clock instead (a system call per reading, so more
    # overhead, but waits drop out).
    profiler = cProfile.Profile(time.process_time) if cpu_timer else cProfile.Profile()
    profiler.enable()
    for _ in range(repeat):
        call()
    profiler.disable()
    stats = pstats.Stats(profiler)
    calls_per_request = stats.total_calls / repeat
    out = io.StringIO()
    out.write("suspect | share of request time | calls/request\n")
    for label, share, calls in suspects(stats, repeat):
        out.write(f"  {label:32} {share:6.1%} {calls:8.1f}\n")
    pstats.Stats(profiler, stream=out).strip_dirs().sort_stats("cumulative").print_stats(top)
    pstats.Stats(profiler, stream=out).strip_dirs().sort_stats("tottime").print_stats(15)
    return {"name": name, "calls": calls_per_request, "cpu_ms": cpu_ms, "profile": out.getvalue()}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--scenario", action="append", choices=SCENARIOS, help="repeatable; default all")
    parser.add_argument("--products", type=int, default=0, help="generated products besides the sample ones")
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=200)
    parser.add_argument("--top", type=int, default=25, help="functions shown per profile")
    parser.add_argument("--summary", action="store_true", help="only the summary table")
    parser.add_argument(
        "--cpu-timer", action="store_true", help="profile CPU time (time.process_time), not wall time"
    )
    args = parser.parse_args()

    state = prepare(args.products)
    results = []
    with override_settings(CATALOG_CACHE_SECONDS=0):
        for name in args.scenario or SCENARIOS:
            result = run(
                name, state, warmup=args.warmup, repeat=args.repeat, top=args.top, cpu_timer=args.cpu_timer
            )
            results.append(result)
            if not args.summary:
                calls, cpu_ms = result["calls"], result["cpu_ms"]
                print(f"===== {name}: {calls:.0f} calls/request, {cpu_ms:.2f} CPU ms/request")
                print(result["profile"])
    print("| scenario | Python calls / request | CPU ms / request (noisy) |")
    print("|---|---:|---:|")
    for result in results:
        print(f"| {result['name']} | {result['calls']:.0f} | {result['cpu_ms']:.2f} |")


if __name__ == "__main__":
    main()
