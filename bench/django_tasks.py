"""Database-side steps of the benchmark, run with the project's virtualenv under
bench.settings_bench against the bench database (bench/runner.py calls these):

    python bench/django_tasks.py prepare --out state.json [--users 50 --hot 20 --hot-stock 30]
    python bench/django_tasks.py queries --state state.json --out queries.json
    python bench/django_tasks.py verify  --state state.json --out verify.json

`prepare` creates the bench users (one shipping address each) and puts a small, known stock
on the "hot" products the checkout mix fights over. `verify` compares, per hot product, the
stock taken with the order lines that hold it: any difference is an oversell or a lost unit.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings_bench")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.contrib.auth.hashers import make_password  # noqa: E402
from django.core.cache import cache  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.db.models import Count, OuterRef, Q, Subquery, Sum  # noqa: E402
from django.db.models.functions import Coalesce  # noqa: E402
from django.test import Client, override_settings  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402

from addresses.models import Address  # noqa: E402
from cart.models import CartItem  # noqa: E402
from cart.services import cart_get_or_create  # noqa: E402
from core.catalog_cache import catalog_changed  # noqa: E402
from orders.models import ItemStatus, Order, OrderItem  # noqa: E402
from products.models import Category, Product, ProductVariant  # noqa: E402

User = get_user_model()
EMAIL_DOMAIN = "bench.novacart.test"
SEED = 20240601


def _busiest_category() -> dict:
    """The category whose subtree holds the most active products (the list filter includes
    sub-categories), so the filtered list is a realistic slice of the catalogue."""
    direct = dict(
        Product.objects.filter(is_active=True, category__isnull=False)
        .values_list("category_id")
        .annotate(n=Count("id"))
        .values_list("category_id", "n")
    )
    parents = dict(Category.objects.values_list("id", "parent_id"))
    totals: dict[int, int] = {}
    for category_id, count in direct.items():
        node, seen = category_id, set()
        while node is not None and node not in seen:
            seen.add(node)
            totals[node] = totals.get(node, 0) + count
            node = parents.get(node)
    if not totals:
        raise SystemExit("bench: the database has no categorised active products; was seed_demo run?")
    best = max(sorted(totals), key=lambda cid: totals[cid])
    category = Category.objects.get(pk=best)
    return {"id": category.pk, "slug": category.slug, "products": totals[best]}


def _web_list_paths(active) -> dict:
    """The storefront list (`/api/web/products/`, a plain array): one filtered to about 20 products
    (a price window, the issue's 20-product page), and the whole list (capped at
    WEB_PRODUCT_LIST_MAX)."""
    prices = sorted(active.values_list("price", flat=True))
    start = max(0, len(prices) // 2 - 10)
    window = prices[start : start + 20]
    low, high = window[0], window[-1]
    return {
        "web_list_path": f"/api/web/products/?min_price={low}&max_price={high}",
        "web_list_products": active.filter(price__gte=low, price__lte=high).count(),
        "web_list_all_path": "/api/web/products/",
        "web_list_all_products": min(len(prices), settings.WEB_PRODUCT_LIST_MAX),
    }


def _stock_set(product_ids: list[int], per_variant: int) -> dict[int, int]:
    """Stock lives on variants: every variant of these products gets `per_variant` units and each
    product's denormalised stock becomes the sum of its active variants. Returns the products'
    stock."""
    ProductVariant.objects.filter(product_id__in=product_ids).update(stock=per_variant)
    total = (
        ProductVariant.objects.filter(product_id=OuterRef("pk"), is_active=True)
        .values("product_id")
        .annotate(total=Sum("stock"))
        .values("total")
    )
    Product.objects.filter(pk__in=product_ids).update(stock=Coalesce(Subquery(total), 0))
    return dict(Product.objects.filter(pk__in=product_ids).values_list("id", "stock"))


@transaction.atomic
def prepare(args: argparse.Namespace) -> dict:
    rng = random.Random(SEED)
    active = Product.objects.filter(is_active=True)
    total_active = active.count()
    category = _busiest_category()
    state: dict = {
        # Orders from an earlier pass on this database are not part of this pass's check.
        "prepared_at": timezone.now().isoformat(),
        "products_total": Product.objects.count(),
        "products_active": total_active,
        "category": category,
        "list_path": f"/api/products/?category={category['slug']}&ordering=-price",
    }
    state.update(_web_list_paths(active))
    ids = list(active.order_by("id").values_list("id", flat=True))
    state["detail_ids"] = sorted(rng.sample(ids, min(len(ids), 1000)))
    if args.users == 0:
        return state

    # The checkout mix adds by `product_id` alone, which the API accepts for a product with one
    # active variant: hot and cart products are drawn from those.
    ids = list(
        active.annotate(_variants=Count("variants", filter=Q(variants__is_active=True)))
        .filter(_variants=1)
        .order_by("id")
        .values_list("id", flat=True)
    )
    # Hot products: a small known stock that the checkout mix will sell out.
    hot_ids = sorted(rng.sample(ids, args.hot))
    state["hot"] = {str(pk): stock for pk, stock in _stock_set(hot_ids, args.hot_stock).items()}
    # Cart lines for the cart-read scenario: plentiful stock, not hot.
    hot_set = set(hot_ids)
    cart_pool = [pk for pk in ids if pk not in hot_set]
    cart_ids = sorted(rng.sample(cart_pool, args.cart_products))
    _stock_set(cart_ids, 100_000)
    catalog_changed()  # the bench's own stock writes: served pages must not show the old stock
    state["cart_product_ids"] = cart_ids

    # One hash for everyone: hashing 50 passwords at production cost would only slow setup.
    # Users from an earlier prepare on this database are reused (their orders keep them alive),
    # with their carts emptied.
    password = args.password
    hashed = make_password(password)
    emails = [f"bench{i:03d}@{EMAIL_DOMAIN}" for i in range(args.users)]
    existing = {user.email: user for user in User.objects.filter(email__in=emails)}
    User.objects.bulk_create(
        [
            User(username=email.split("@")[0], email=email, password=hashed)
            for email in emails
            if email not in existing
        ]
    )
    users = list(User.objects.filter(email__in=emails).order_by("email"))
    User.objects.filter(pk__in=[u.pk for u in users]).update(password=hashed)
    CartItem.objects.filter(cart__user__in=users).delete()
    with_address = set(
        Address.objects.filter(user__in=users, is_default=True).values_list("user_id", flat=True)
    )
    Address.objects.bulk_create(
        [
            Address(
                user=user,
                full_name=f"Bench User {i}",
                phone="+15550100",
                line1=f"{i} Load Street",
                city="Springfield",
                state="IL",
                postal_code="62701",
                country="US",
                is_default=True,
            )
            for i, user in enumerate(users)
            if user.pk not in with_address
        ]
    )
    address_of = dict(Address.objects.filter(user__in=users, is_default=True).values_list("user_id", "id"))
    state["password"] = password
    state["users"] = [
        {"id": user.pk, "email": user.email, "address_id": address_of[user.pk]} for user in users
    ]
    return state


def _count(client: Client, path: str, warm: str | None = None, **headers) -> dict:
    client.get(warm or path, **headers)  # warm per-process caches (content types, URL resolver)
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(path, **headers)
    return {
        "path": path,
        "status": response.status_code,
        "queries": len(ctx.captured_queries),
        "sql": [q["sql"][:400] for q in ctx.captured_queries],
    }


def queries(args: argparse.Namespace) -> dict:
    """Queries per request, counted once in-process against the bench database."""
    from rest_framework_simplejwt.tokens import AccessToken

    state = json.loads(Path(args.state).read_text())
    client = Client(HTTP_HOST="127.0.0.1")
    path = state["list_path"]
    cache.clear()
    with override_settings(CATALOG_CACHE_SECONDS=0):
        result = {"product_list": _count(client, path)}
    cache.clear()
    result["product_list_response_miss"] = _count(client, f"{path}&nocache=2", warm=f"{path}&nocache=1")
    result["product_list_cache_hit"] = _count(client, path)
    detail = f"/api/products/{state['detail_ids'][0]}/"
    with override_settings(CATALOG_CACHE_SECONDS=0):
        result["product_detail"] = _count(client, detail)
    result["product_detail_cache_hit"] = _count(client, detail)
    if state.get("users"):
        user = User.objects.get(pk=state["users"][0]["id"])
        token = str(AccessToken.for_user(user))
        # The scenario reads carts of 3 lines (filled later, over HTTP); the users' carts are empty
        # here, and an empty cart takes another query. So 3 lines for the count, rolled back after.
        with transaction.atomic():
            cart = cart_get_or_create(user=user)
            for product_id in state["cart_product_ids"][:3]:
                shown = ProductVariant.objects.filter(product_id=product_id, is_active=True)
                variant = shown.order_by("id")[0]
                CartItem.objects.create(cart=cart, product_id=product_id, variant=variant, quantity=1)
            result["cart_read"] = _count(client, "/api/cart/", HTTP_AUTHORIZATION=f"Bearer {token}")
            transaction.set_rollback(True)
    return result


def verify(args: argparse.Namespace) -> dict:
    """Oversell check: for every hot product, units taken from stock == units on live order lines."""
    state = json.loads(Path(args.state).read_text())
    hot = {int(pk): initial for pk, initial in state["hot"].items()}
    stock = dict(Product.objects.filter(pk__in=hot).values_list("id", "stock"))
    since = datetime.fromisoformat(state["prepared_at"])
    held = dict(
        OrderItem.objects.filter(product_id__in=hot, status=ItemStatus.ACTIVE, order__created_at__gte=since)
        .values_list("product_id")
        .annotate(units=Sum("quantity"))
        .values_list("product_id", "units")
    )
    products = []
    oversold_units = 0
    mismatches = 0
    for pk, initial in sorted(hot.items()):
        taken = initial - stock[pk]
        on_orders = held.get(pk, 0) or 0
        oversold_units += max(0, on_orders - initial)
        mismatches += int(taken != on_orders)
        products.append(
            {"id": pk, "initial": initial, "stock": stock[pk], "taken": taken, "on_orders": on_orders}
        )
    user_ids = [u["id"] for u in state.get("users", [])]
    orders = Order.objects.filter(user_id__in=user_ids, created_at__gte=since)
    return {
        "oversold_units": oversold_units,
        "stock_mismatches": mismatches,
        "negative_stock": sum(1 for p in products if p["stock"] < 0),
        "sold_out": sum(1 for p in products if p["stock"] == 0),
        "units_initial": sum(hot.values()),
        "units_on_orders": sum(p["on_orders"] for p in products),
        "orders_in_db": orders.count(),
        "orders_by_status": dict(
            orders.values_list("status").annotate(n=Count("id")).values_list("status", "n")
        ),
        "orders_without_lines": orders.filter(items__isnull=True).count(),
        "products": products,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("prepare")
    p.add_argument("--out", required=True)
    p.add_argument("--users", type=int, default=50)
    p.add_argument("--hot", type=int, default=20)
    p.add_argument("--hot-stock", type=int, default=30)
    p.add_argument("--cart-products", type=int, default=200)
    p.add_argument("--password", default="bench-Pa55word!")
    for name in ("queries", "verify"):
        p = sub.add_parser(name)
        p.add_argument("--state", required=True)
        p.add_argument("--out", required=True)
    args = parser.parse_args()
    result = {"prepare": prepare, "queries": queries, "verify": verify}[args.command](args)
    Path(args.out).write_text(json.dumps(result, indent=2, default=str))


if __name__ == "__main__":
    main()
