"""Stock: the only code that reads a variant's availability for a purchase, takes stock or
releases it. Stock is held per variant (`ProductVariant.stock`, `CHECK (stock >= 0)`); the
product's stored `stock` is the denormalised sum of its active variants' stock and moves here by
the same delta, in the same transaction (`F()` expressions, never read-modify-write).

- `stock_check_line`: may one cart line (a variant) grow to `quantity` units (cart writes).
- `stock_check_for_purchase`: a plain, non-locking look at every line of a checkout.
- `stock_take`: a conditional `UPDATE ... SET stock = stock - q WHERE stock >= q AND is_active`
  per variant (its product active too), all or nothing (the caller's transaction rolls back
  what earlier lines took).
- `stock_release`: put units back on the variant (cancellations, expiry, refunds).
- `stock_restorable`: what of a cancelled order may go back into a cart.

Lines are `(variant_id, quantity)` pairs.

Lock order: variant rows are always locked in primary-key order (`lock_order`), then the product
rows whose denormalised `stock` follows, in primary-key order, all after any order, cart or
payment row the caller holds. So two checkouts touching the same variants or products can never
wait on each other in a cycle. `stock_take` and `stock_release` must run inside the caller's
transaction.

A checkout that cannot be served is refused for every short line at once: 409
`insufficient_stock` with `short_lines` (`product_id`, `product_name`, `variant_id`, `sku`,
`options`, `requested`, `available` per line), and the first one's `product_id`, `product_name`
and `available` (and `variant_id`) at the top level. An inactive product or variant is 409
`product_unavailable`.
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
    """Sum quantities per variant and sort by variant id: the order variant rows are locked in."""
    totals: dict[int, int] = defaultdict(int)
    for variant_id, quantity in lines:
        if variant_id is not None and quantity > 0:
            totals[variant_id] += quantity
    return sorted(totals.items())


def unavailable(
    *, product_id: int | None, name: str | None, variant_id: int | None = None
) -> ProductUnavailable:
    """409 `product_unavailable`: the one wording of "this product can no longer be bought"."""
    extra = {"product_id": product_id}
    if variant_id is not None:
        extra["variant_id"] = variant_id
    return ProductUnavailable(f"{name or 'A product in your cart'} is no longer available.", extra=extra)


def _short(shortfalls: list[dict]) -> InsufficientStock:
    first = shortfalls[0]
    return InsufficientStock(
        f"Only {first['available']} of {first['product_name']} left in stock.",
        extra={
            "product_id": first["product_id"],
            "product_name": first["product_name"],
            "variant_id": first["variant_id"],
            "available": first["available"],
            "short_lines": shortfalls,
        },
    )


def _shortfall(variant: dict, requested: int) -> dict:
    return {
        "product_id": variant["product_id"],
        "product_name": variant["product__name"],
        "variant_id": variant["id"],
        "sku": variant["sku"],
        "options": variant["options"] or {},
        "requested": requested,
        "available": variant["stock"],
    }


_ROW_FIELDS = (
    "id",
    "product_id",
    "product__name",
    "product__is_active",
    "sku",
    "options",
    "stock",
    "is_active",
)


def _rows(variant_ids: Iterable[int]) -> dict[int, dict]:
    return {
        row["id"]: row for row in ProductVariant.objects.filter(pk__in=list(variant_ids)).values(*_ROW_FIELDS)
    }


def _per_product(rows: dict[int, dict], lines: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The lines' quantities summed per product, counting only ACTIVE variants (the ones a
    product's stored `stock` sums; a variant `stock_take` took from is active by its own update),
    in product-id order: the lock order of product rows."""
    per_product: dict[int, int] = defaultdict(int)
    for variant_id, quantity in lines:
        row = rows.get(variant_id)
        if row is not None and row["is_active"]:
            per_product[row["product_id"]] += quantity
    return sorted(per_product.items())


def _buyable(row: dict | None) -> bool:
    return row is not None and row["is_active"] and row["product__is_active"]


def stock_check_line(*, variant: ProductVariant, quantity: int, cap: int) -> None:
    """May a cart line of `variant` (its product loaded) grow to `quantity` units (at most `cap`)?

    409 `product_unavailable` for an inactive product or variant; otherwise the limit that binds:
    409 `insufficient_stock` (with `available` = the variant's stock) when the stock is below the
    cap, else 409 `quantity_limit_exceeded` (with `max_quantity`).
    """
    product = variant.product
    if not (product.is_active and variant.is_active):
        raise unavailable(product_id=product.pk, name=product.name, variant_id=variant.pk)
    if quantity <= min(variant.stock, cap):
        return
    if variant.stock < cap:
        message = (
            f"Only {variant.stock} of {product.name} in stock."
            if variant.stock
            else f"{product.name} is out of stock."
        )
        raise InsufficientStock(
            message, extra={"product_id": product.pk, "variant_id": variant.pk, "available": variant.stock}
        )
    raise ApplicationError(
        f"A cart line can hold at most {cap} units.",
        code="quantity_limit_exceeded",
        status_code=409,
        extra={"product_id": product.pk, "variant_id": variant.pk, "max_quantity": cap},
    )


def stock_check_for_purchase(*, lines: Lines) -> dict[int, ProductVariant]:
    """A plain read taking no lock: raise what `stock_take` would raise if it ran now.

    Checkout calls it before anything slow (the Stripe call) so an order that obviously cannot be
    served fails fast. It guarantees nothing: only `stock_take` decides. Returns the variants
    read, by id, with their products (checkout snapshots them into the order lines).
    """
    merged = lock_order(lines)
    current = ProductVariant.objects.select_related("product").in_bulk(
        [variant_id for variant_id, _ in merged]
    )
    shortfalls = []
    for variant_id, quantity in merged:
        variant = current.get(variant_id)
        if variant is None or not (variant.is_active and variant.product.is_active):
            raise unavailable(
                product_id=variant.product_id if variant else None,
                name=variant.product.name if variant else None,
                variant_id=variant_id,
            )
        if variant.stock < quantity:
            row = {
                "id": variant.pk,
                "product_id": variant.product_id,
                "product__name": variant.product.name,
                "sku": variant.sku,
                "options": variant.options,
                "stock": variant.stock,
            }
            shortfalls.append(_shortfall(row, quantity))
    if shortfalls:
        raise _short(shortfalls)
    return current


def stock_take(*, lines: Lines) -> None:
    """Take `quantity` units of every `(variant_id, quantity)` line, all or nothing, in lock order.

    Each variant: `UPDATE ... SET stock = stock - q WHERE id = v AND stock >= q AND is_active`.
    Then the products of the variants taken: their denormalised `stock` goes down by the same
    amount, only while the product is active (an inactive product refuses the whole take).

    Raises `ProductUnavailable` (409) for the first inactive or deleted variant or product, else
    `InsufficientStock` (409) listing every line that could not be served; the caller's
    transaction then rolls back whatever the other lines took.
    """
    catalog_changed(stock_only=True)
    merged = lock_order(lines)
    taken: list[tuple[int, int]] = []
    missed: list[tuple[int, int]] = []
    for variant_id, quantity in merged:
        done = ProductVariant.objects.filter(pk=variant_id, stock__gte=quantity, is_active=True).update(
            stock=F("stock") - quantity
        )
        (taken if done else missed).append((variant_id, quantity))
    rows = _rows(variant_id for variant_id, _ in merged)
    for variant_id, _quantity in merged:
        row = rows.get(variant_id)
        if not _buyable(row):
            raise unavailable(
                product_id=row["product_id"] if row else None,
                name=row["product__name"] if row else None,
                variant_id=variant_id,
            )
    shortfalls = [_shortfall(rows[variant_id], quantity) for variant_id, quantity in missed]
    if shortfalls:
        raise _short(shortfalls)
    for product_id, quantity in _per_product(rows, taken):
        # Only active products reach here. Never below 0, so a drifted sum cannot fail a checkout
        # the variant rows can serve (`product_totals_refresh` recomputes it from the variants).
        moved = Product.objects.filter(pk=product_id, is_active=True).update(
            stock=Greatest(F("stock") - quantity, 0)
        )
        if not moved:  # deactivated between the read above and this update
            raise unavailable(product_id=product_id, name=_product_name(rows, product_id))


def _product_name(rows: dict[int, dict], product_id: int) -> str | None:
    return next((row["product__name"] for row in rows.values() if row["product_id"] == product_id), None)


def stock_release(*, lines: Lines) -> None:
    """Put `quantity` units of every `(variant_id, quantity)` line back on the variant, in lock
    order, and on its product's denormalised sum when the variant is active (deleted variants,
    and lines without one, are skipped)."""
    catalog_changed(stock_only=True)
    merged = lock_order(lines)
    for variant_id, quantity in merged:
        ProductVariant.objects.filter(pk=variant_id).update(stock=F("stock") + quantity)
    rows = _rows(variant_id for variant_id, _ in merged)
    for product_id, quantity in _per_product(rows, merged):
        Product.objects.filter(pk=product_id).update(stock=F("stock") + quantity)


def stock_restorable(*, variant_ids: Iterable[int]) -> dict[int, ProductVariant]:
    """The variants among `variant_ids` that a cart may take lines of again (variant and product
    active, variant in stock), with their products."""
    return {
        v.pk: v
        for v in ProductVariant.objects.select_related("product").filter(
            pk__in=set(variant_ids), is_active=True, product__is_active=True, stock__gt=0
        )
    }
