"""Cart reads: the cart with its lines in a fixed number of queries, and its money (from `pricing`)."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import NamedTuple

from django.db.models import Prefetch, prefetch_related_objects

from core.prepared import PreparedQuery
from pricing import totals as pricing
from products import selectors as product_selectors
from promotions import selectors as promotion_selectors

from .models import Cart, CartItem


def cart_items_queryset():
    """Lines with everything the cart output needs (product, its category, the variant) in one query."""
    return CartItem.objects.select_related("product__category", "variant").order_by("added_at", "id")


def cart_prefetch(*, cart: Cart) -> Cart:
    """Attach the lines to an already loaded cart (one query, whatever the number of lines)."""
    if hasattr(cart, "_prefetched_objects_cache"):
        cart._prefetched_objects_cache.pop("items", None)
    prefetch_related_objects([cart], Prefetch("items", queryset=cart_items_queryset()))
    return cart


def cart_products_variants(*, cart: Cart, user) -> Cart:
    """Load the variants the line products show (`product.variants` / `options` of the canonical
    cart output) for every line at once: one query, whatever the number of lines, and none for
    lines whose product came with them (`cart_read`). Only the canonical output needs them; the
    storefront face and checkout skip it."""
    product_selectors.product_variants_attach(
        [item.product for item in cart.items.all() if not product_selectors.variants_listed(item.product)],
        user=user,
    )
    return cart


def cart_detail(*, user) -> Cart:
    """The user's cart (created on first use) with its lines, products and categories prefetched.

    Two queries for an existing cart (the cart, its lines), whatever the number of lines.
    """
    from .services import cart_get_or_create  # services import this module

    return cart_prefetch(cart=cart_get_or_create(user=user))


# What a cart read shows or prices, per joined table (the rest is deferred: fewer columns to
# compile and parse). The cart's coupon is loaded whole (its evaluation reads most of it); a
# deferred field read would cost a query, which the read's query-count test would catch.
READ_COLUMNS = (
    "id",
    "quantity",
    "cart__id",
    "cart__user_id",
    "cart__promotion",
    "cart__updated_at",
    *(f"product__{name}" for name in product_selectors.PRODUCT_READ_COLUMNS),
    "variant__id",
    "variant__product_id",
    "variant__sku",
    "variant__options",
    "variant__price",
)


def _cart_lines(staff: bool) -> PreparedQuery:
    def build(user_id):
        lines = (
            cart_items_queryset()
            .filter(cart__user_id=user_id)
            .select_related("cart__promotion")
            .only(*READ_COLUMNS)
        )
        return product_selectors.variants_inline(lines, staff=staff, product_ref="product_id")

    return PreparedQuery(build)


# The lines of a user's cart as a read shows them, compiled once (core.prepared): for a staff
# reader, for everybody else.
_CART_LINES = {True: _cart_lines(True), False: _cart_lines(False)}


def cart_read(*, user) -> Cart:
    """`cart_detail` for a read, in one query when the cart has lines: the lines with their cart
    (and its coupon), products, categories and variant joined in, and on PostgreSQL the variants
    each line's product shows (`variants_inline`), its SQL compiled once. An empty (or missing)
    cart takes one more query (the cart alone; created on first use)."""
    items = _CART_LINES[product_selectors.reader_is_staff(user)](user.pk)
    if items:
        cart = items[0].cart
        for item in items:
            item.cart = cart  # one cart object for every line, as a prefetch gives
        product_selectors.variants_take(items, user=user, product=lambda item: item.product)
    else:
        cart = Cart.objects.select_related("promotion").filter(user=user).first()
        if cart is None:
            from .services import cart_get_or_create  # services import this module

            cart = cart_get_or_create(user=user)
    # What `cart_prefetch` leaves: `cart.items.all()` reads these rows without a query.
    cart._prefetched_objects_cache = {"items": _prefetched(cart, items)}
    return cart


def _prefetched(cart: Cart, items: list[CartItem]):
    queryset = cart.items.all()
    queryset._result_cache = items
    queryset._prefetch_done = True
    return queryset


def cart_line_total(*, item: CartItem) -> Decimal:
    """The line at the variant's current price (`pricing.line_total`)."""
    return pricing.line_total(price=item.variant.price, quantity=item.quantity)


def cart_subtotal(*, items: Iterable[CartItem]) -> Decimal:
    return pricing.subtotal(cart_line_total(item=item) for item in items)


def cart_total_items(*, items: Iterable[CartItem]) -> int:
    return sum(item.quantity for item in items)


def cart_promotion_lines(*, items: Iterable[CartItem]) -> list[promotion_selectors.Line]:
    """The cart's lines as a promotion sees them: category and line total."""
    return [
        promotion_selectors.Line(category_id=item.product.category_id, line_total=cart_line_total(item=item))
        for item in items
    ]


class CartPricing(NamedTuple):
    subtotal: Decimal
    discount: pricing.Discount
    evaluation: promotion_selectors.Evaluation | None  # None: no coupon in the cart

    @property
    def discount_total(self) -> Decimal:
        return self.discount.total

    @property
    def total(self) -> Decimal:
        return self.subtotal - self.discount.total


def cart_pricing(*, cart: Cart, items: list[CartItem] | None = None) -> CartPricing:
    """Subtotal, the coupon's discount (when it applies now) and total = subtotal - discount.
    Memoised on the cart object for one response."""
    cached = getattr(cart, "_pricing_cache", None)
    if cached is not None and items is None:
        return cached
    items = list(cart.items.all()) if items is None else items
    lines = cart_promotion_lines(items=items)
    subtotal = pricing.subtotal(line.line_total for line in lines)
    evaluation = None
    discount = pricing.no_discount([line.line_total for line in lines])
    if cart.promotion_id is not None and cart.promotion is not None:
        evaluation = promotion_selectors.promotion_evaluate(
            promotion=cart.promotion, user_id=cart.user_id, lines=lines
        )
        discount = evaluation.discount
    result = CartPricing(subtotal=subtotal, discount=discount, evaluation=evaluation)
    cart._pricing_cache = result
    return result
