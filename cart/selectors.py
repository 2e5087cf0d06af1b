"""Cart reads: the cart with its lines in a fixed number of queries, and its money (from `pricing`)."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from django.db.models import Prefetch, prefetch_related_objects

from pricing import totals as pricing

from .models import Cart, CartItem


def cart_items_queryset():
    """Lines with everything the cart output needs (product and its category) in one query."""
    return CartItem.objects.select_related("product__category").order_by("added_at", "id")


def cart_prefetch(*, cart: Cart) -> Cart:
    """Attach the lines to an already loaded cart (one query, whatever the number of lines)."""
    if hasattr(cart, "_prefetched_objects_cache"):
        cart._prefetched_objects_cache.pop("items", None)
    prefetch_related_objects([cart], Prefetch("items", queryset=cart_items_queryset()))
    return cart


def cart_detail(*, user) -> Cart:
    """The user's cart (created on first use) with its lines, products and categories prefetched.

    Two queries for an existing cart (the cart, its lines), whatever the number of lines.
    """
    from .services import cart_get_or_create  # services import this module

    return cart_prefetch(cart=cart_get_or_create(user=user))


def cart_line_total(*, item: CartItem) -> Decimal:
    """The line at the product's current price (`pricing.line_total`)."""
    return pricing.line_total(price=item.product.price, quantity=item.quantity)


def cart_subtotal(*, items: Iterable[CartItem]) -> Decimal:
    return pricing.subtotal(cart_line_total(item=item) for item in items)


def cart_total_items(*, items: Iterable[CartItem]) -> int:
    return sum(item.quantity for item in items)
