"""Taking and releasing product stock for orders.

This is the one sanctioned write from `orders` into `products.Product`: a conditional
`UPDATE ... SET stock = stock - q WHERE stock >= q AND is_active` per product, always in
product-id order so two checkouts touching the same products lock their rows in the same order
(no deadlock). Both functions must run inside the caller's transaction: if any line fails,
raising rolls back every unit already taken in that transaction. `product_stock_check` is the
non-locking look checkout takes before its Stripe call.

Catalog pages show `stock` and `in_stock`, so taking and releasing stock are catalog writes:
both call `catalog_changed(stock_only=True)`, which invalidates the cached entries that show stock
when the caller's transaction commits (nothing happens for a checkout that rolls back).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from django.db.models import F

from core.catalog_cache import catalog_changed
from core.exceptions import InsufficientStock, ProductUnavailable
from products.models import Product


def _merged(lines: Iterable[tuple[int | None, int]]) -> list[tuple[int, int]]:
    """Sum quantities per product and sort by product id (the lock order)."""
    totals: dict[int, int] = defaultdict(int)
    for product_id, quantity in lines:
        if product_id is not None and quantity > 0:
            totals[product_id] += quantity
    return sorted(totals.items())


def product_stock_check(*, lines: Iterable[tuple[int, int]]) -> dict[int, Product]:
    """A plain read taking no lock: raise what `product_stock_take` would raise if it ran now.

    Checkout calls it before anything slow (the Stripe call) so an order that obviously cannot be
    served fails fast. It guarantees nothing: only `product_stock_take` decides. Returns the
    products read, by id (checkout snapshots them into the order lines).
    """
    merged = _merged(lines)
    current = Product.objects.in_bulk([product_id for product_id, _ in merged])
    for product_id, quantity in merged:
        product = current.get(product_id)
        if product is None or not product.is_active:
            raise ProductUnavailable(
                f"{product.name if product else 'A product in your cart'} is no longer available.",
                extra={"product_id": product_id},
            )
        if product.stock < quantity:
            raise _insufficient(product_id=product_id, name=product.name, available=product.stock)
    return current


def _insufficient(*, product_id: int, name: str, available: int) -> InsufficientStock:
    return InsufficientStock(
        f"Only {available} of {name} left in stock.",
        extra={"product_id": product_id, "product_name": name, "available": available},
    )


def product_stock_take(*, lines: Iterable[tuple[int, int]]) -> None:
    """Take `quantity` units of every `(product_id, quantity)` line, all or nothing.

    Raises `InsufficientStock` (409, with `product_id`, `product_name` and `available`) or
    `ProductUnavailable` (409) for the first line that cannot be served; the caller's
    transaction then rolls back whatever earlier lines took.
    """
    catalog_changed(stock_only=True)
    for product_id, quantity in _merged(lines):
        taken = Product.objects.filter(pk=product_id, stock__gte=quantity, is_active=True).update(
            stock=F("stock") - quantity
        )
        if taken:
            continue
        current = Product.objects.filter(pk=product_id).values("name", "stock", "is_active").first()
        if current is None or not current["is_active"]:
            raise ProductUnavailable(
                f"{current['name'] if current else 'A product in your cart'} is no longer available.",
                extra={"product_id": product_id},
            )
        raise _insufficient(product_id=product_id, name=current["name"], available=current["stock"])


def product_stock_release(*, lines: Iterable[tuple[int | None, int]]) -> None:
    """Put `quantity` units of every `(product_id, quantity)` line back (deleted products are skipped)."""
    catalog_changed(stock_only=True)
    for product_id, quantity in _merged(lines):
        Product.objects.filter(pk=product_id).update(stock=F("stock") + quantity)
