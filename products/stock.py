"""Stock: the only code that reads a product's availability for a purchase, takes stock or
releases it. Variants move stock to variant rows here and nowhere else.

- `stock_check_line`: may one cart line grow to `quantity` units (cart writes).
- `stock_check_for_purchase`: a plain, non-locking look at every line of a checkout.
- `stock_take`: a conditional `UPDATE ... SET stock = stock - q WHERE stock >= q AND is_active`
  per product, all or nothing (the caller's transaction rolls back what earlier lines took).
- `stock_release`: put units back (cancellations, refunds).
- `stock_restorable`: what of a cancelled order may go back into a cart.

Variants (in progress): the product row is still what is taken and released; a product's
default variant (options {}) mirrors every move (`_mirror_default_variant`).

Lock order: product rows are always locked in primary-key order (`lock_order`), after any
order, cart or payment row the caller holds, so two checkouts touching the same products can
never wait on each other in a cycle. `stock_take` and `stock_release` must run inside the
caller's transaction.

A checkout that cannot be served is refused for every short line at once: 409
`insufficient_stock` with `short_lines` (`product_id`, `product_name`, `requested`, `available`
per line), and the first one's `product_id`, `product_name` and `available` at the top level.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from django.db.models import F
from django.db.models.functions import Greatest

from core.catalog_cache import catalog_changed
from core.exceptions import ApplicationError, InsufficientStock, ProductUnavailable

from .models import Product, ProductVariant

Lines = Iterable[tuple[int | None, int]]


def lock_order(lines: Lines) -> list[tuple[int, int]]:
    """Sum quantities per product and sort by product id: the order product rows are locked in."""
    totals: dict[int, int] = defaultdict(int)
    for product_id, quantity in lines:
        if product_id is not None and quantity > 0:
            totals[product_id] += quantity
    return sorted(totals.items())


def unavailable(*, product_id: int, name: str | None) -> ProductUnavailable:
    """409 `product_unavailable`: the one wording of "this product can no longer be bought"."""
    return ProductUnavailable(
        f"{name or 'A product in your cart'} is no longer available.", extra={"product_id": product_id}
    )


def _short(shortfalls: list[dict]) -> InsufficientStock:
    first = shortfalls[0]
    return InsufficientStock(
        f"Only {first['available']} of {first['product_name']} left in stock.",
        extra={
            "product_id": first["product_id"],
            "product_name": first["product_name"],
            "available": first["available"],
            "short_lines": shortfalls,
        },
    )


def _shortfall(product_id: int, name: str, requested: int, available: int) -> dict:
    return {"product_id": product_id, "product_name": name, "requested": requested, "available": available}


def stock_check_line(*, product: Product, quantity: int, cap: int) -> None:
    """May a cart line of `product` grow to `quantity` units (at most `cap` per line)?

    409 `product_unavailable` for an inactive product; otherwise the limit that binds: 409
    `insufficient_stock` (with `available` = the stock) when the stock is below the cap, else
    409 `quantity_limit_exceeded` (with `max_quantity`).
    """
    if not product.is_active:
        raise unavailable(product_id=product.pk, name=product.name)
    if quantity <= min(product.stock, cap):
        return
    if product.stock < cap:
        message = (
            f"Only {product.stock} of {product.name} in stock."
            if product.stock
            else f"{product.name} is out of stock."
        )
        raise InsufficientStock(message, extra={"product_id": product.pk, "available": product.stock})
    raise ApplicationError(
        f"A cart line can hold at most {cap} units.",
        code="quantity_limit_exceeded",
        status_code=409,
        extra={"product_id": product.pk, "max_quantity": cap},
    )


def stock_check_for_purchase(*, lines: Lines) -> dict[int, Product]:
    """A plain read taking no lock: raise what `stock_take` would raise if it ran now.

    Checkout calls it before anything slow (the Stripe call) so an order that obviously cannot be
    served fails fast. It guarantees nothing: only `stock_take` decides. Returns the products
    read, by id (checkout snapshots them into the order lines).
    """
    merged = lock_order(lines)
    current = Product.objects.in_bulk([product_id for product_id, _ in merged])
    shortfalls = []
    for product_id, quantity in merged:
        product = current.get(product_id)
        if product is None or not product.is_active:
            raise unavailable(product_id=product_id, name=product.name if product else None)
        if product.stock < quantity:
            shortfalls.append(_shortfall(product_id, product.name, quantity, product.stock))
    if shortfalls:
        raise _short(shortfalls)
    return current


def stock_take(*, lines: Lines) -> None:
    """Take `quantity` units of every `(product_id, quantity)` line, all or nothing, in lock order.

    Raises `ProductUnavailable` (409) for the first inactive or deleted product, else
    `InsufficientStock` (409) listing every line that could not be served; the caller's
    transaction then rolls back whatever the other lines took.
    """
    catalog_changed(stock_only=True)
    shortfalls = []
    for product_id, quantity in lock_order(lines):
        taken = Product.objects.filter(pk=product_id, stock__gte=quantity, is_active=True).update(
            stock=F("stock") - quantity
        )
        if taken:
            _mirror_default_variant(product_id, -quantity)
            continue
        current = Product.objects.filter(pk=product_id).values("name", "stock", "is_active").first()
        if current is None or not current["is_active"]:
            raise unavailable(product_id=product_id, name=current["name"] if current else None)
        shortfalls.append(_shortfall(product_id, current["name"], quantity, current["stock"]))
    if shortfalls:
        raise _short(shortfalls)


def stock_release(*, lines: Lines) -> None:
    """Put `quantity` units of every `(product_id, quantity)` line back, in lock order (deleted
    products are skipped)."""
    catalog_changed(stock_only=True)
    for product_id, quantity in lock_order(lines):
        Product.objects.filter(pk=product_id).update(stock=F("stock") + quantity)
        _mirror_default_variant(product_id, quantity)


def _mirror_default_variant(product_id: int, delta: int) -> None:
    """Until stock moves to variant rows, the product's default variant (options {}) mirrors the
    product row's stock. Never below zero, so a drifted copy cannot fail a checkout."""
    ProductVariant.objects.filter(product_id=product_id, option_key="").update(
        stock=Greatest(F("stock") + delta, 0)
    )


def stock_restorable(*, product_ids: Iterable[int]) -> dict[int, Product]:
    """The products among `product_ids` that a cart may take lines of again (active, in stock)."""
    return {p.pk: p for p in Product.objects.filter(pk__in=set(product_ids), is_active=True, stock__gt=0)}
