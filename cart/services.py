"""Cart writes.

Concurrency: every write locks the caller's `Cart` row (`SELECT ... FOR UPDATE`) first, inside
the service's transaction, and only then reads the line and the variant's stock. All writes to
one cart are therefore serialised, so concurrent adds or steps never lose an increment and never
push a line past the stock they each saw. The cart never locks variant or product rows, so it
adds no lock cycle with checkout (cart row first, then variant and product rows in key order).

A line is one variant of a product (`variant`, with `product` = the variant's product, kept for
eligibility and joins): one line per variant, its unit price the variant's current price.

Quantity rules, shared by every write:
- a line holds 1..CART_MAX_LINE_QUANTITY (99) units; 0 removes it;
- a change that raises a line must fit the variant's current stock (409 `insufficient_stock`
  with `available` = the stock) and the per-line cap (409 `quantity_limit_exceeded`), and the
  product and the variant must be active (409 `product_unavailable`); the cart's total must stay storable as
  an order (409 `amount_too_large`, `pricing.totals.check_storable`);
- a change that lowers a line (or removes it) is always accepted, even when the line is above
  the stock or the product has been deactivated since it was added.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from core.exceptions import ApplicationError, NotFound
from pricing import totals as pricing
from products import stock
from products.models import Product, ProductVariant
from promotions import selectors as promotion_selectors
from promotions.errors import CouponInvalid

from .models import Cart, CartItem
from .selectors import cart_prefetch, cart_promotion_lines

STEP_INCREASE = "increase"
STEP_DECREASE = "decrease"
STEP_ACTIONS = (STEP_INCREASE, STEP_DECREASE)


def _max_line_quantity() -> int:
    return settings.CART_MAX_LINE_QUANTITY


def _cart_find(*, user) -> Cart | None:
    return Cart.objects.filter(user=user).first()


def cart_get_or_create(*, user) -> Cart:
    """The user's cart, created on first use.

    Two first requests at once both miss the read and both insert; the unique `user_id` makes
    one insert fail, and that caller re-reads the row the other committed instead of a 500.
    """
    cart = _cart_find(user=user)
    if cart is not None:
        return cart
    try:
        with transaction.atomic():  # a savepoint, so an outer transaction survives the failure
            return Cart.objects.create(user=user)
    except IntegrityError:
        return Cart.objects.get(user=user)


def _cart_lock(*, user) -> Cart:
    """The user's cart row, locked until the end of the current transaction."""
    cart = Cart.objects.select_for_update().filter(user=user).first()
    if cart is None:
        cart = Cart.objects.select_for_update().get(pk=cart_get_or_create(user=user).pk)
    return cart


def _cart_touch_and_load(*, cart: Cart) -> Cart:
    cart.save(update_fields=["updated_at"])
    cart.__dict__.pop("_pricing_cache", None)
    return cart_prefetch(cart=cart)


def _check_requested_quantity(quantity: int, *, minimum: int) -> None:
    if not isinstance(quantity, int) or isinstance(quantity, bool):
        raise ApplicationError("Quantity must be a whole number.", code="invalid_quantity")
    if not minimum <= quantity <= _max_line_quantity():
        raise ApplicationError(
            f"Quantity must be between {minimum} and {_max_line_quantity()}.", code="invalid_quantity"
        )


def _check_can_raise_to(*, variant: ProductVariant, quantity: int) -> None:
    """Rules for a line that grows to `quantity` units (`products.stock.stock_check_line`)."""
    stock.stock_check_line(variant=variant, quantity=quantity, cap=_max_line_quantity())


def _check_cart_total_with(*, cart_id: int, variant: ProductVariant, quantity: int) -> None:
    """The cart with this variant's line at `quantity` must still be storable as an order."""
    others = CartItem.objects.filter(cart_id=cart_id).exclude(variant=variant).select_related("variant")
    line_totals = [pricing.line_total(price=item.variant.price, quantity=item.quantity) for item in others]
    line_totals.append(pricing.line_total(price=variant.price, quantity=quantity))
    pricing.check_storable(pricing.totals_for(line_totals))


def _item_locked_get(*, cart: Cart, item_id: int) -> CartItem:
    """A line of this cart (the cart row is already locked), else 404: another user's line is not found."""
    item = (
        CartItem.objects.select_related("product", "variant__product").filter(cart=cart, pk=item_id).first()
    )
    if item is None:
        raise NotFound("Cart item not found.")
    return item


def _item_apply_quantity(*, item: CartItem, quantity: int) -> None:
    """Set an existing line to `quantity` (0 deletes it), enforcing the rules when it grows."""
    if quantity <= 0:
        item.delete()
        return
    if quantity > item.quantity:
        _check_can_raise_to(variant=item.variant, quantity=quantity)
        _check_cart_total_with(cart_id=item.cart_id, variant=item.variant, quantity=quantity)
    if quantity != item.quantity:
        item.quantity = quantity
        item.save(update_fields=["quantity"])


def _variant_for_add(*, product: Product, variant_id: int | None, first_in_stock: bool) -> ProductVariant:
    """The variant a cart add means.

    - `variant_id` given: that variant, which must belong to `product` (else 400 on `variant_id`);
      an inactive one is refused later by the stock rules (409 `product_unavailable`).
    - Left out: the product's only active variant; with several, 400 on `variant_id`, unless
      `first_in_stock` (the storefront profile's rule), which takes the first active variant in
      stock by id (or the first active one, so the stock rules answer). No active variant at all:
      409 `product_unavailable`.
    """
    if not product.is_active:
        raise stock.unavailable(product_id=product.pk, name=product.name)
    if variant_id is not None:
        variant = ProductVariant.objects.filter(pk=variant_id).first()
        if variant is None or variant.product_id != product.pk:
            raise ValidationError({"variant_id": ["This is not a variant of this product."]})
        variant.product = product
        return variant
    active = list(product.variants.filter(is_active=True).order_by("id"))
    if not active:
        raise stock.unavailable(product_id=product.pk, name=product.name)
    if len(active) > 1:
        if not first_in_stock:
            raise ValidationError({"variant_id": ["This product comes in several variants: choose one."]})
        active = [next((v for v in active if v.stock > 0), active[0])]
    active[0].product = product
    return active[0]


@transaction.atomic
def cart_item_add(
    *, user, product_id: int, variant_id: int | None = None, quantity: int = 1, first_in_stock: bool = False
) -> Cart:
    """Add `quantity` units of a product's variant; an existing line for the variant grows by that
    much, another variant of the same product is another line. Which variant: `_variant_for_add`."""
    _check_requested_quantity(quantity, minimum=1)
    cart = _cart_lock(user=user)
    product = Product.objects.filter(pk=product_id).first()
    if product is None:
        raise NotFound("Product not found.")
    variant = _variant_for_add(product=product, variant_id=variant_id, first_in_stock=first_in_stock)
    item = CartItem.objects.filter(cart=cart, variant=variant).first()
    current = item.quantity if item is not None else 0
    _check_can_raise_to(variant=variant, quantity=current + quantity)
    _check_cart_total_with(cart_id=cart.pk, variant=variant, quantity=current + quantity)
    if item is None:
        CartItem.objects.create(cart=cart, product=product, variant=variant, quantity=quantity)
    else:
        item.quantity = current + quantity
        item.save(update_fields=["quantity"])
    return _cart_touch_and_load(cart=cart)


@transaction.atomic
def cart_item_set_quantity(*, user, item_id: int, quantity: int) -> Cart:
    """Set a line to `quantity` units; 0 removes the line."""
    _check_requested_quantity(quantity, minimum=0)
    cart = _cart_lock(user=user)
    item = _item_locked_get(cart=cart, item_id=item_id)
    _item_apply_quantity(item=item, quantity=quantity)
    return _cart_touch_and_load(cart=cart)


@transaction.atomic
def cart_item_step(*, user, item_id: int, action: str) -> Cart:
    """`increase` or `decrease` a line by one unit; decreasing a line of 1 removes it."""
    if action not in STEP_ACTIONS:
        raise ApplicationError("Action must be 'increase' or 'decrease'.", code="invalid_action")
    cart = _cart_lock(user=user)
    item = _item_locked_get(cart=cart, item_id=item_id)
    delta = 1 if action == STEP_INCREASE else -1
    _item_apply_quantity(item=item, quantity=item.quantity + delta)
    return _cart_touch_and_load(cart=cart)


@transaction.atomic
def cart_item_remove(*, user, item_id: int) -> Cart:
    cart = _cart_lock(user=user)
    _item_locked_get(cart=cart, item_id=item_id).delete()
    return _cart_touch_and_load(cart=cart)


@transaction.atomic
def cart_clear(*, user) -> Cart:
    cart = _cart_lock(user=user)
    CartItem.objects.filter(cart=cart).delete()
    return _cart_touch_and_load(cart=cart)


@transaction.atomic
def cart_items_bulk_remove(*, user, item_ids: list[int]) -> Cart:
    """Remove the caller's lines among `item_ids`; ids that are not lines of this cart are ignored.

    The filter is on the caller's cart, so another user's line is never touched.
    """
    cart = _cart_lock(user=user)
    CartItem.objects.filter(cart=cart, pk__in=set(item_ids)).delete()
    return _cart_touch_and_load(cart=cart)


@transaction.atomic
def cart_items_bulk_move_to_wishlist(*, user, item_ids: list[int]) -> Cart:
    """Add the products of these lines to the wishlist and remove the lines, all or nothing.

    Every id must be a line of the caller's cart: one that is not (unknown, already removed or
    another user's) is 404 and nothing moves. A line whose product has been deactivated cannot
    go to the wishlist: 409 `product_unavailable`, and nothing moves.
    """
    from products.services import wishlist_item_add  # the products app owns the wishlist

    cart = _cart_lock(user=user)
    wanted = set(item_ids)
    items = list(
        CartItem.objects.filter(cart=cart, pk__in=wanted).select_related("product").order_by("product_id")
    )
    if len(items) != len(wanted):
        raise NotFound("Cart item not found.")
    for item in items:
        if not item.product.is_active:
            raise stock.unavailable(product_id=item.product_id, name=item.product.name)
    for item in items:
        wishlist_item_add(user=user, product_id=item.product_id)
    CartItem.objects.filter(pk__in=[item.pk for item in items]).delete()
    return _cart_touch_and_load(cart=cart)


# --- Coupon ---------------------------------------------------------------------------------


@transaction.atomic
def cart_coupon_apply(*, user, code: str) -> Cart:
    """Apply a coupon code (case-insensitive) to the cart. 400 `coupon_invalid` (unknown,
    inactive, not started, ended), `coupon_exhausted` (total or the customer's limit reached),
    `coupon_not_applicable` (below `min_subtotal`, or no eligible line). A new code replaces the
    old one; a refused code leaves the cart as it was."""
    cart = _cart_lock(user=user)
    promotion = promotion_selectors.promotion_find(code=code)
    if promotion is None:
        raise CouponInvalid("This coupon code does not exist.")
    items = list(CartItem.objects.filter(cart=cart).select_related("product", "variant"))
    evaluation = promotion_selectors.promotion_evaluate(
        promotion=promotion, user_id=user.pk, lines=cart_promotion_lines(items=items)
    )
    if evaluation.error is not None:
        raise evaluation.error
    cart.promotion = promotion
    cart.save(update_fields=["promotion", "updated_at"])
    return _cart_touch_and_load(cart=cart)


@transaction.atomic
def cart_coupon_remove(*, user) -> Cart:
    cart = _cart_lock(user=user)
    cart.promotion = None
    cart.save(update_fields=["promotion", "updated_at"])
    return _cart_touch_and_load(cart=cart)


# --- Seams for the orders app -----------------------------------------------------------------


def cart_lock_for_checkout(*, user) -> tuple[Cart, list[CartItem]]:
    """Lock the user's cart row for the rest of the caller's transaction and return its lines.

    Must run inside `transaction.atomic()` (Django refuses `select_for_update` in autocommit).
    Lines come with their products and variants, ordered by product id (then line id). While
    the lock is held no cart write of this user can run.
    """
    cart = _cart_lock(user=user)
    items = list(
        CartItem.objects.filter(cart=cart).select_related("product", "variant").order_by("product_id", "id")
    )
    return cart, items


@transaction.atomic
def cart_items_delete(*, cart: Cart, item_ids: list[int], clear_coupon: bool = False) -> None:
    """Remove the lines that became an order (only lines of this cart); with `clear_coupon`
    the cart's coupon goes too (it was used by that order)."""
    CartItem.objects.filter(cart=cart, pk__in=set(item_ids)).delete()
    fields = ["updated_at"]
    if clear_coupon:
        cart.promotion = None
        fields.append("promotion")
    cart.save(update_fields=fields)


@transaction.atomic
def cart_restore_coupon(*, user, promotion_id: int) -> None:
    """Put a cancelled order's coupon back into the cart, unless the cart holds another one.
    It is re-checked on every read and at checkout like any applied coupon."""
    Cart.objects.filter(user=user, promotion__isnull=True).update(promotion_id=promotion_id)


@transaction.atomic
def cart_restore_lines(*, user, lines: list[tuple[int, int]]) -> Cart:
    """Merge `(variant_id, quantity)` pairs back into the cart (for a cancelled order).

    Each resulting line is capped by the variant's current stock and the per-line cap. Variants
    that are gone, inactive (or of an inactive product) or out of stock are skipped, as are
    non-positive quantities; an existing line is never lowered. Never raises for any of these.
    """
    cart = _cart_lock(user=user)
    wanted: dict[int, int] = {}
    for variant_id, quantity in lines:
        if variant_id is not None and quantity > 0:
            wanted[variant_id] = wanted.get(variant_id, 0) + quantity
    variants = stock.stock_restorable(variant_ids=wanted)
    existing = {item.variant_id: item for item in CartItem.objects.filter(cart=cart, variant_id__in=variants)}
    for variant_id in sorted(variants):
        variant = variants[variant_id]
        item = existing.get(variant_id)
        current = item.quantity if item is not None else 0
        cap = min(variant.stock, _max_line_quantity())
        target = max(current, min(current + wanted[variant_id], cap))
        if item is None:
            CartItem.objects.create(
                cart=cart, product_id=variant.product_id, variant=variant, quantity=target
            )
        elif target != current:
            item.quantity = target
            item.save(update_fields=["quantity"])
    return _cart_touch_and_load(cart=cart)
