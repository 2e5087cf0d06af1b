"""Order writes: checkout, the status machine, cancellation (whole order or one line), refunds,
shipping, delivery and expiry.

Lock order, everywhere: the order row first, then (only when putting lines back into a cart)
the user's cart row, then variant rows and then product rows, each in primary-key order
(`products.stock`), then payment rows. Checkout takes the cart row, inserts its own new order,
line, event and payment rows (invisible to everyone else until commit, so nobody can wait on
them) and takes variant and product rows last; it never locks an
existing order or payment row, so no two of these paths can wait on each other in a cycle.

Stripe calls happen inside the transaction, after the database work they belong to: a Stripe
error raises `PaymentProviderError` (502) and rolls everything back, so the database never
claims something Stripe did not do. Checkout makes its Stripe call before it takes the stock,
so no variant or product row lock is held across it.
"""

from __future__ import annotations

import base64
import logging
import secrets
from datetime import datetime, timedelta
from decimal import Decimal
from typing import NamedTuple

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from addresses import selectors as address_selectors
from cart import selectors as cart_selectors
from cart import services as cart_services
from core.exceptions import ApplicationError, CartEmpty, InvalidTransition, NotFound
from core.money import quantize_money
from payments import selectors as payment_selectors
from payments import services as payment_services
from payments.models import Payment
from pricing import totals as pricing
from products.stock import stock_check_for_purchase, stock_release, stock_take
from promotions import selectors as promotion_selectors
from promotions import services as promotion_services

from . import selectors as order_selectors
from .emails import order_email_cancelled, order_email_confirmation, order_email_shipped
from .models import ItemStatus, Order, OrderEvent, OrderItem, OrderStatus, PaymentMethod
from .selectors import estimated_delivery_date, order_get_for_update, order_get_own_for_update

logger = logging.getLogger(__name__)

S = OrderStatus

# The whole state machine. A paid order whose every line is cancelled has had money sent back,
# so it becomes REFUNDED (never PAID -> CANCELLED); see `order_item_cancel`.
TRANSITIONS: dict[str, frozenset[str]] = {
    S.PENDING: frozenset({S.PAID, S.CANCELLED}),
    S.CONFIRMED: frozenset({S.SHIPPED, S.CANCELLED}),
    S.PAID: frozenset({S.SHIPPED, S.REFUNDED}),
    S.SHIPPED: frozenset({S.DELIVERED}),
    S.DELIVERED: frozenset(),
    S.CANCELLED: frozenset(),
    S.REFUNDED: frozenset(),
}

# The line-status machine: an active line is cancelled, or refunded (at once or once Stripe
# confirms); every line status change goes through `_items_move`.
ITEM_TRANSITIONS: dict[str, frozenset[str]] = {
    ItemStatus.ACTIVE: frozenset({ItemStatus.CANCELLED, ItemStatus.REFUND_REQUESTED, ItemStatus.REFUNDED}),
    ItemStatus.REFUND_REQUESTED: frozenset({ItemStatus.REFUNDED}),
    ItemStatus.CANCELLED: frozenset(),
    ItemStatus.REFUNDED: frozenset(),
}

STATUS_TIMESTAMPS: dict[str, str] = {
    S.PAID: "paid_at",
    S.SHIPPED: "shipped_at",
    S.DELIVERED: "delivered_at",
    S.CANCELLED: "cancelled_at",
    S.REFUNDED: "refunded_at",
}

# Fields a transition may set together with the status (e.g. tracking on SHIPPED).
TRANSITION_FIELDS = frozenset({"tracking_number", "carrier", "amount_refunded"})

# Statuses whose lines a customer may still cancel one by one.
ITEM_CANCELLABLE_STATUSES = frozenset({S.PENDING, S.CONFIRMED, S.PAID})

ORDER_NUMBER_ATTEMPTS = 5


class CheckoutResult(NamedTuple):
    order: Order
    payment: Payment | None


# --- The status machine -------------------------------------------------------------------------


def _transition_refused(order: Order, to_status: str) -> InvalidTransition:
    return InvalidTransition(
        f"Order {order.number} is {order.status} and cannot become {to_status}.",
        extra={"status": order.status},
    )


def _event_create(*, order: Order, from_status: str, status: str, note: str, actor=None) -> OrderEvent:
    return OrderEvent.objects.create(
        order=order,
        from_status=from_status,
        status=status,
        note=note[:500],
        actor=actor if actor is not None and getattr(actor, "is_authenticated", False) else None,
    )


def _apply_transition(order: Order, to_status: str, *, actor=None, note: str = "", **fields) -> Order:
    """Move an order that the caller has already locked; the one place a status changes."""
    if to_status not in TRANSITIONS.get(order.status, frozenset()):
        raise _transition_refused(order, to_status)
    unknown = set(fields) - TRANSITION_FIELDS
    if unknown:
        raise ValueError(f"order_transition cannot set {sorted(unknown)}")
    from_status = order.status
    order.status = to_status
    update_fields = ["status", "updated_at"]
    for name, value in fields.items():
        setattr(order, name, value)
        update_fields.append(name)
    stamp = STATUS_TIMESTAMPS.get(to_status)
    if stamp:
        setattr(order, stamp, timezone.now())
        update_fields.append(stamp)
    order.save(update_fields=update_fields)
    _event_create(order=order, from_status=from_status, status=to_status, note=note, actor=actor)
    return order


def _items_move(
    items: list[OrderItem], to_status: str, *, reason: str = "", refunded_amount: Decimal | None = None
) -> None:
    """Move lines of an order the caller has locked; the one place a line's status changes.

    Refuses what `ITEM_TRANSITIONS` does not allow (409 `invalid_transition`). A line leaving
    ACTIVE is stamped `cancelled_at` (and `cancel_reason` when a reason is given). A line becoming
    REFUNDED records `refunded_amount` when given, else (nothing recorded yet) its net amount
    (line total - discount).
    """
    now = timezone.now()
    for item in items:
        if to_status not in ITEM_TRANSITIONS.get(item.status, frozenset()):
            raise InvalidTransition(
                f"Item {item.pk} is {item.status} and cannot become {to_status}.",
                extra={"item_status": item.status},
            )
        if item.status == ItemStatus.ACTIVE:
            item.cancelled_at = now
            if reason:
                item.cancel_reason = reason[:500]
        if refunded_amount is not None:
            item.refunded_amount = refunded_amount
        elif to_status == ItemStatus.REFUNDED and not item.refunded_amount:
            item.refunded_amount = pricing.line_net(line_total=item.line_total, discount=item.discount)
        item.status = to_status
    if items:
        OrderItem.objects.bulk_update(items, ["status", "cancelled_at", "cancel_reason", "refunded_amount"])


@transaction.atomic
def order_transition(*, order_id: int, to_status: str, actor=None, note: str = "", **fields) -> Order:
    """Lock the order and move it to `to_status` if the table allows it, else 409 `invalid_transition`.

    Stamps the matching `*_at` field and writes an `OrderEvent` (from, to, actor, note). This is
    the raw state change: the services below add what a move means (stock, refunds, emails).
    """
    order = order_get_for_update(order_id=order_id)
    return _apply_transition(order, to_status, actor=actor, note=note, **fields)


@transaction.atomic
def order_event_record(*, order_id: int, note: str, actor=None) -> OrderEvent:
    """An event without a status change (e.g. "payment failed")."""
    order = Order.objects.filter(pk=order_id).first()
    if order is None:
        raise NotFound("Order not found.")
    return _event_create(order=order, from_status=order.status, status=order.status, note=note, actor=actor)


# --- Checkout -----------------------------------------------------------------------------------


def _order_number() -> str:
    """`NC-20250131-K3J5Q2ZD`: the day plus 40 random bits in base32 (no 0/1/8/9 look-alikes)."""
    suffix = base64.b32encode(secrets.token_bytes(5)).decode()
    return f"NC-{timezone.now():%Y%m%d}-{suffix}"


def _order_insert(**fields) -> Order:
    """Insert the order under a fresh number, retrying when the number is already taken."""
    for attempt in range(1, ORDER_NUMBER_ATTEMPTS + 1):
        number = _order_number()
        try:
            with transaction.atomic():  # a savepoint: a collision must not poison the checkout
                return Order.objects.create(number=number, **fields)
        except IntegrityError:
            if attempt == ORDER_NUMBER_ATTEMPTS or not Order.objects.filter(number=number).exists():
                raise
            logger.warning("order number collision, retrying", extra={"attempt": attempt})
    raise AssertionError("unreachable")


def order_create_from_cart(*, user, shipping_address_id: int, payment_method: str) -> CheckoutResult:
    """Turn the user's cart into an order, all or nothing, in one transaction.

    Locks the cart; refuses an empty cart (400 `cart_empty`) and inactive products or variants
    (409 `product_unavailable`); looks at the stock without locking anything (a short line is 409
    `insufficient_stock` before Stripe is asked for anything); writes the order, its line
    snapshots, totals and first event and empties the cart; for a card order creates the Stripe
    PaymentIntent (a Stripe failure is 502 and rolls everything back); and only then takes the
    stock, as the last writes before commit (conditional updates per variant in variant-id order,
    then the products' denormalised stock, all or nothing). So the variant and product row locks
    are held from the stock take to the commit, never across
    the Stripe call. Card orders start PENDING with an expiry; cash-on-delivery orders start
    CONFIRMED with no payment.

    When the transaction fails after the PaymentIntent was made (the stock was sold to someone
    else between the look and the take, 409), the intent belongs to no order: it is cancelled on
    Stripe, best effort, once the transaction (or the caller's savepoint) has rolled back.
    """
    created_intents: list[str] = []
    try:
        return _order_create_from_cart(
            user=user,
            shipping_address_id=shipping_address_id,
            payment_method=payment_method,
            created_intents=created_intents,
        )
    except Exception:
        for payment_intent_id in created_intents:
            payment_services.payment_intent_cancel_orphan(payment_intent_id=payment_intent_id)
        raise


@transaction.atomic
def _order_create_from_cart(
    *, user, shipping_address_id: int, payment_method: str, created_intents: list[str]
) -> CheckoutResult:
    """The checkout transaction (see `order_create_from_cart`). Appends the id of the PaymentIntent
    it creates to `created_intents`, so the caller can cancel it if this transaction rolls back."""
    if payment_method not in PaymentMethod.values:
        raise ApplicationError("Payment method must be 'card' or 'cod'.", code="invalid_payment_method")
    cart, lines = cart_services.cart_lock_for_checkout(user=user)
    if not lines:
        raise CartEmpty()
    address = address_selectors.address_get_for_user(user=user, address_id=shipping_address_id)
    wanted = [(line.variant_id, line.quantity) for line in lines]
    # A plain read, no lock: an obviously short cart fails here, before any PaymentIntent exists.
    # The snapshot is of these rows; `stock_take` below is what decides. Inactive products or
    # variants are 409 `product_unavailable`, every short line is listed in one 409
    # `insufficient_stock`.
    variants = stock_check_for_purchase(lines=wanted)

    item_rows = []
    for line in lines:
        variant = variants[line.variant_id]
        product = variant.product
        item_rows.append(
            OrderItem(
                product=product,
                variant=variant,
                options=dict(variant.options or {}),
                product_name=product.name,
                product_brand=product.brand,
                product_image=product.image.name if product.image else "",
                sku=variant.sku,
                unit_price=pricing.unit_price(variant.price),
                quantity=line.quantity,
                line_total=pricing.line_total(price=variant.price, quantity=line.quantity),
            )
        )
    # The cart's coupon, checked again now: one that stopped qualifying is 409 with its code and
    # nothing is written (the cart keeps showing it, `applicable: false`).
    promotion = cart.promotion if cart.promotion_id is not None else None
    discount = pricing.no_discount([row.line_total for row in item_rows])
    if promotion is not None:
        evaluation = promotion_selectors.promotion_evaluate(
            promotion=promotion,
            user_id=user.pk,
            lines=[
                promotion_selectors.Line(
                    category_id=variants[line.variant_id].product.category_id, line_total=row.line_total
                )
                for line, row in zip(lines, item_rows, strict=True)
            ],
        )
        if evaluation.error is not None:
            raise evaluation.error.at_checkout()
        discount = evaluation.discount
    for row, share in zip(item_rows, discount.lines, strict=True):
        row.discount = share
    is_card = payment_method == PaymentMethod.CARD
    totals = pricing.check_storable(
        pricing.totals_for((row.line_total for row in item_rows), discount=discount.total),
        card=is_card,
        currency=settings.CURRENCY,
    )
    now = timezone.now()
    order = _order_insert(
        user=user,
        status=S.PENDING if is_card else S.CONFIRMED,
        payment_method=payment_method,
        subtotal=totals.subtotal,
        discount_total=discount.total,
        coupon_code=promotion.code if promotion is not None else "",
        shipping_total=totals.shipping,
        total=totals.total,
        currency=settings.CURRENCY,
        email=user.email or "",
        shipping_address=address_selectors.address_snapshot(address=address),
        estimated_delivery=estimated_delivery_date(),
        expires_at=now + timedelta(minutes=settings.ORDER_PENDING_TTL_MINUTES) if is_card else None,
    )
    for row in item_rows:
        row.order = order
    OrderItem.objects.bulk_create(item_rows)
    _event_create(
        order=order,
        from_status="",
        status=order.status,
        note="Order placed, awaiting card payment." if is_card else "Order placed, cash on delivery.",
        actor=user,
    )
    cart_services.cart_items_delete(
        cart=cart, item_ids=[line.pk for line in lines], clear_coupon=promotion is not None
    )

    payment = None
    if is_card:
        # No product row is locked yet: buyers of the same products do not wait on this HTTP call.
        payment = payment_services.payment_intent_create_for_order(order=order, created=created_intents)
    # The last writes before commit: product row locks are held only from here to the commit.
    stock_take(lines=wanted)
    if promotion is not None:
        # The redemption, after the product rows (the lock order of cancel, which releases stock
        # then gives the redemption back): a conditional update on the promotion row, so the
        # limits hold under any concurrency; 409 `coupon_exhausted` rolls the whole order back.
        promotion_services.promotion_redeem(
            promotion_id=promotion.pk, user=user, order=order, amount=discount.total
        )
    if not is_card:
        order_email_confirmation(order=order)
    return CheckoutResult(order=order, payment=payment)


# --- Payment outcomes (called by the payments webhook) ------------------------------------------


@transaction.atomic
def order_mark_paid(*, order_id: int, note: str = "") -> Order:
    """PENDING -> PAID and the confirmation email (after commit). Already PAID: a no-op."""
    order = order_get_for_update(order_id=order_id)
    if order.status == S.PAID:
        return order
    _apply_transition(order, S.PAID, note=note or "Payment received.")
    order_email_confirmation(order=order)
    return order


def _active_items_locked(order: Order) -> list[OrderItem]:
    return list(order.items.select_for_update().filter(status=ItemStatus.ACTIVE).order_by("id"))


def _items_close(items: list[OrderItem], *, status: str, reason: str = "") -> None:
    """Close active lines (the order is locked), releasing their stock."""
    if not items:
        return
    stock_release(lines=[(item.variant_id, item.quantity) for item in items])
    _items_move(items, status, reason=reason)


@transaction.atomic
def order_mark_refunded(*, order_id: int, note: str = "") -> Order:
    """A full refund made outside our API (e.g. the Stripe dashboard): PAID -> REFUNDED.

    Releases the stock of lines still active. Already REFUNDED: a no-op. Any other status is
    409 `invalid_transition` (a shipped order refunded on Stripe needs a human).
    """
    order = order_get_for_update(order_id=order_id)
    if order.status == S.REFUNDED:
        return order
    if order.status != S.PAID:
        raise _transition_refused(order, S.REFUNDED)
    _items_close(_active_items_locked(order), status=ItemStatus.REFUNDED)
    return _apply_transition(order, S.REFUNDED, note=note or "Refunded in full.", amount_refunded=order.total)


def _order_settle_after_item(order: Order, *, actor=None, note: str = "") -> None:
    """When no line of a still-open order is active, close the order itself."""
    if order.items.filter(status=ItemStatus.ACTIVE).exists():
        return
    if order.status == S.PAID:
        _apply_transition(
            order, S.REFUNDED, actor=actor, note=note or "Every item was cancelled and refunded."
        )
    elif order.status in (S.PENDING, S.CONFIRMED):
        # An unpaid order that goes away gives its coupon use back, line by line as in one go.
        promotion_services.promotion_release(order_id=order.pk)
        _apply_transition(order, S.CANCELLED, actor=actor, note=note or "Every item was cancelled.")
        if order.payment_method == PaymentMethod.CARD:
            payment_services.payment_intent_cancel_for_order(order=order)
        order_email_cancelled(order=order, reason=note)


@transaction.atomic
def order_item_mark_refunded(*, order_item_id: int, amount: Decimal) -> OrderItem:
    """Stripe confirmed the refund of a cancelled line: REFUND_REQUESTED -> REFUNDED.

    Already REFUNDED: a no-op. Then settles the order (REFUNDED once no line is active).
    """
    order_id = OrderItem.objects.filter(pk=order_item_id).values_list("order_id", flat=True).first()
    if order_id is None:
        raise NotFound("Order item not found.")
    order = order_get_for_update(order_id=order_id)
    item = OrderItem.objects.select_for_update().get(pk=order_item_id)
    if item.status == ItemStatus.REFUNDED:
        return item
    if item.status != ItemStatus.REFUND_REQUESTED:
        raise InvalidTransition(f"Item {item.pk} has no refund waiting for confirmation.")
    _items_move(
        [item],
        ItemStatus.REFUNDED,
        refunded_amount=item.refunded_amount
        or pricing.line_refunded_amount(refund=amount, line_total=item.line_total, discount=item.discount),
    )
    confirmed = f"{quantize_money(amount)} {order.currency.upper()}"
    note = f"Refund of {confirmed} for {item.product_name} confirmed."
    _event_create(order=order, from_status=order.status, status=order.status, note=note)
    _order_settle_after_item(order)
    return item


# --- Cancellation -------------------------------------------------------------------------------


def _order_cancel_locked(
    order: Order,
    *,
    actor=None,
    reason: str = "",
    restore_cart: bool = True,
    notify: bool = True,
    defer_intent_cancel: bool = False,
) -> Order:
    """Cancel a locked PENDING/CONFIRMED order: release stock, refill the cart, cancel the intent."""
    if S.CANCELLED not in TRANSITIONS.get(order.status, frozenset()):
        raise _transition_refused(order, S.CANCELLED)
    items = _active_items_locked(order)
    if restore_cart:
        # The cart row before any product row: the same lock order as checkout.
        cart_services.cart_lock_for_checkout(user=order.user)
    _items_close(items, status=ItemStatus.CANCELLED, reason=reason)
    # An unpaid order that goes away gives its coupon use back (and, with its lines, the coupon
    # goes back into the cart when the cart has none).
    released_promotion_id = promotion_services.promotion_release(order_id=order.pk)
    if restore_cart and items:
        cart_services.cart_restore_lines(
            user=order.user,
            lines=[(item.variant_id, item.quantity) for item in items if item.variant_id is not None],
        )
        if released_promotion_id is not None:
            cart_services.cart_restore_coupon(user=order.user, promotion_id=released_promotion_id)
    _apply_transition(order, S.CANCELLED, actor=actor, note=reason or "Order cancelled.")
    if order.payment_method == PaymentMethod.CARD:
        if defer_intent_cancel:
            # After commit, so a caller whose later work fails (and rolls this cancel back) leaves
            # the intent payable. Best effort either way; robust: a failure is logged, not raised.
            transaction.on_commit(
                lambda: payment_services.payment_intent_cancel_for_order(order=order), robust=True
            )
        else:
            payment_services.payment_intent_cancel_for_order(order=order)
    if notify:
        order_email_cancelled(order=order, reason=reason, restored_to_cart=restore_cart and bool(items))
    return order


@transaction.atomic
def order_cancel(
    *,
    order_id: int,
    actor=None,
    reason: str = "",
    restore_cart: bool = True,
    notify: bool = True,
    defer_intent_cancel: bool = False,
) -> Order:
    """Cancel a PENDING (unpaid card) or CONFIRMED (cash on delivery, not shipped) order.

    Releases the stock of its active lines, puts them back into the owner's cart (merged,
    capped by stock), cancels the PaymentIntent (best effort), records the event and sends the
    cancellation email after commit (unless `notify=False`). `defer_intent_cancel=True` cancels
    the PaymentIntent after commit instead, for callers that do more work in the same transaction.
    Any other status: 409 `invalid_transition`.
    """
    order = order_get_for_update(order_id=order_id)
    return _order_cancel_locked(
        order,
        actor=actor,
        reason=reason,
        restore_cart=restore_cart,
        notify=notify,
        defer_intent_cancel=defer_intent_cancel,
    )


@transaction.atomic
def order_cancel_by_customer(*, order_id: int, user, reason: str = "Cancelled by the customer.") -> Order:
    """The owner cancels their order, as `order_cancel`; anyone else's order is 404."""
    order = order_get_own_for_update(order_id=order_id, user=user)
    return _order_cancel_locked(order, actor=user, reason=reason)


def order_expire_pending(*, now: datetime | None = None) -> int:
    """Cancel every PENDING card order past `expires_at`, exactly as a user cancel; returns how many.

    Each order is handled in its own transaction, under `SELECT ... FOR UPDATE SKIP LOCKED` and a
    re-check of its status: an order another run (or a user cancel, or the payment webhook) is
    working on is skipped, so two runs at once never cancel an order twice.
    """
    now = now or timezone.now()
    candidates = list(
        Order.objects.filter(Order.expired_q(now), status=S.PENDING, payment_method=PaymentMethod.CARD)
        .order_by("expires_at", "id")
        .values_list("pk", flat=True)
    )
    expired = 0
    for order_id in candidates:
        with transaction.atomic():
            order = (
                Order.objects.select_for_update(skip_locked=True)
                .filter(Order.expired_q(now), pk=order_id, status=S.PENDING)
                .first()
            )
            if order is None:
                continue
            _order_cancel_locked(order, reason="Payment was not received in time; the order expired.")
            expired += 1
    if expired:
        logger.info("expired pending orders", extra={"count": expired})
    return expired


def order_intents_cancel_retry(*, limit: int = 20) -> int:
    """Cancel on Stripe the PaymentIntents that cancelled card orders still hold open; returns
    how many orders were cleared.

    A customer cancel or an expiry that met Stripe down cancelled the order but left its intent
    payable (`payment_intent_cancel_for_order` is best effort): a payment could still arrive, to
    be refunded by the webhook, with the fees that costs. Each order is locked on its own
    (`SKIP LOCKED`, status re-checked). The run stops at the first order whose intent is still
    open after the attempt (Stripe is likely still down: one timeout per run, not `limit`);
    that order's attempt moves it to the back of the line, so one intent Stripe keeps refusing
    never holds the others up.
    """
    cancelled = Order.objects.filter(status=S.CANCELLED, payment_method=PaymentMethod.CARD)
    cleared = 0
    for order_id in payment_selectors.order_ids_holding_open_intents(orders=cancelled, limit=limit):
        with transaction.atomic():
            order = cancelled.select_for_update(skip_locked=True).filter(pk=order_id).first()
            if order is None:
                continue
            closed = payment_services.payment_intent_cancel_for_order(order=order)
        if not closed:
            logger.warning("PaymentIntent cancel retry stopped: Stripe refused", extra={"order_id": order_id})
            break
        cleared += 1
    if cleared:
        logger.info("PaymentIntents of cancelled orders cancelled on retry", extra={"count": cleared})
    return cleared


def _refundable(order: Order) -> Decimal:
    """What may still go back on the order (`pricing.refundable`)."""
    return pricing.refundable(
        total=order.total,
        refunded=order.amount_refunded,
        payment_left=payment_selectors.payment_refundable_amount(order=order),
    )


def _recompute_unpaid_totals(order: Order) -> None:
    """An unpaid order owes for its active lines only (the cash a courier collects, the intent amount)."""
    remaining = list(order.items.filter(status=ItemStatus.ACTIVE))
    order.discount_total = pricing.subtotal(item.discount for item in remaining)
    order.subtotal, order.shipping_total, order.total = pricing.totals_for(
        (item.line_total for item in remaining), discount=order.discount_total
    )
    order.save(update_fields=["subtotal", "discount_total", "shipping_total", "total", "updated_at"])
    promotion_services.promotion_redemption_amount_set(order_id=order.pk, amount=order.discount_total)


@transaction.atomic
def order_item_cancel(*, order_id: int, item_id: int, user, reason: str = "") -> Order:
    """Cancel one line of the user's PENDING, CONFIRMED or PAID order (409 after shipping).

    - The line's stock is released, its reason and `cancelled_at` stored.
    - PAID (card): exactly the line total goes back through Stripe; the last active line also
      gets the shipping fee back. Never more than what is left of what was paid. The line is
      REFUNDED when Stripe reports the refund succeeded at once, else REFUND_REQUESTED until
      the webhook confirms (`order_item_mark_refunded`). A Stripe error rolls everything back.
    - PENDING / CONFIRMED: the line is CANCELLED and the order's totals follow its remaining
      lines; a card order's PaymentIntent is replaced by one for the new total.
    - When no line is left active, the order becomes REFUNDED (paid) or CANCELLED (unpaid).
    """
    order = order_get_own_for_update(order_id=order_id, user=user)
    item = OrderItem.objects.select_for_update().filter(order=order, pk=item_id).first()
    if item is None:
        raise NotFound("Order item not found.")
    if order.status not in ITEM_CANCELLABLE_STATUSES:
        raise InvalidTransition(
            f"Items of a {order.status} order can no longer be cancelled.", extra={"status": order.status}
        )
    if item.status != ItemStatus.ACTIVE:
        raise InvalidTransition("This item is already cancelled.", extra={"item_status": item.status})

    reason = (reason or "").strip()[:500]
    others_active = order.items.filter(status=ItemStatus.ACTIVE).exclude(pk=item.pk).exists()
    stock_release(lines=[(item.variant_id, item.quantity)])
    note = f"Cancelled {item.quantity} x {item.product_name}" + (f": {reason}" if reason else ".")

    if order.status == S.PAID:
        # What the line is owed within the order's total; the payment service caps it by what is
        # left of the payment, counting a refund Stripe already made for this line (a retry).
        amount = pricing.line_refund(
            line_total=item.line_total,
            discount=item.discount,
            shipping=order.shipping_total,
            last_active_line=not others_active,
            refundable_left=order.total - order.amount_refunded,
        )
        refund = None
        if amount > 0:
            refund = payment_services.payment_refund_create(
                order=order,
                amount=amount,
                order_item=item,
                reason=reason or "Item cancelled by customer.",
                or_what_is_left=True,
            )
        if refund is not None and refund.amount > 0:
            amount = refund.amount  # what Stripe refunded for the line, a retry's first refund included
            _items_move(
                [item],
                ItemStatus.REFUNDED if refund.succeeded else ItemStatus.REFUND_REQUESTED,
                reason=reason,
                refunded_amount=pricing.line_refunded_amount(
                    refund=amount, line_total=item.line_total, discount=item.discount
                ),
            )
            order.amount_refunded += amount
            order.save(update_fields=["amount_refunded", "updated_at"])
            note += f" Refund of {amount} {order.currency.upper()} requested."
        else:
            _items_move([item], ItemStatus.CANCELLED, reason=reason)
        _event_create(order=order, from_status=order.status, status=order.status, note=note, actor=user)
    else:
        _items_move([item], ItemStatus.CANCELLED, reason=reason)
        _event_create(order=order, from_status=order.status, status=order.status, note=note, actor=user)
        if others_active:
            _recompute_unpaid_totals(order)
            if order.payment_method == PaymentMethod.CARD:
                # The open intent asks for the old amount: cancel it (strictly: a payment that
                # beat the cancel would be for the old total, so that is 409 and nothing changes)
                # and ask for the new total.
                payment_services.payment_intent_cancel_for_order(order=order, strict=True)
                payment_services.payment_intent_create_for_order(order=order)

    _order_settle_after_item(order, actor=user, note=reason)
    return order


# --- Staff operations ---------------------------------------------------------------------------


@transaction.atomic
def order_ship(*, order_id: int, tracking_number: str, carrier: str, actor=None) -> Order:
    """PAID or CONFIRMED -> SHIPPED with tracking, and the shipping email."""
    tracking_number = (tracking_number or "").strip()
    carrier = (carrier or "").strip()
    if not tracking_number or not carrier:
        raise ApplicationError("Tracking number and carrier are both required.", code="tracking_required")
    order = order_get_for_update(order_id=order_id)
    _apply_transition(
        order,
        S.SHIPPED,
        actor=actor,
        note=f"Shipped with {carrier}, tracking {tracking_number}.",
        tracking_number=tracking_number[:100],
        carrier=carrier[:100],
    )
    order_email_shipped(order=order)
    return order


@transaction.atomic
def order_deliver(*, order_id: int, actor=None) -> Order:
    """SHIPPED -> DELIVERED; for cash on delivery the cash is recorded as collected."""
    order = order_get_for_update(order_id=order_id)
    _apply_transition(order, S.DELIVERED, actor=actor, note="Delivered.")
    if order.payment_method == PaymentMethod.COD:
        payment_services.payment_record_cash_collected(order=order)
    return order


@transaction.atomic
def order_refund(*, order_id: int, actor=None, reason: str = "") -> Order:
    """Staff refund: PAID -> REFUNDED. Refunds whatever is still refundable through Stripe and
    releases the stock of active lines. A Stripe error leaves the order PAID (502)."""
    order = order_get_for_update(order_id=order_id)
    if S.REFUNDED not in TRANSITIONS.get(order.status, frozenset()):
        raise _transition_refused(order, S.REFUNDED)
    amount = _refundable(order)
    if amount > 0:
        payment_services.payment_refund_create(
            order=order, amount=amount, reason=reason or "Refunded by staff."
        )
    _items_close(_active_items_locked(order), status=ItemStatus.REFUNDED, reason=reason)
    return _apply_transition(
        order,
        S.REFUNDED,
        actor=actor,
        note=reason or f"Refunded {amount} {order.currency.upper()} in full.",
        amount_refunded=order.total,
    )


# --- Checkout policy: one open card checkout per customer ---------------------------------------

RELEASED_FOR_CARD = "Checkout reopened by the customer; lines returned to the cart for a new card order."
RELEASED_FOR_COD = "Customer chose cash on delivery; lines returned to the cart."


@transaction.atomic
def order_checkout_card(*, user, shipping_address_id: int) -> Payment:
    """The customer's one open card checkout, reused or made anew; returns its Payment.

    Reused (its PaymentIntent answered again, `payment_intent_get_or_create_for_order`) when the
    cart is empty and the open order ships to this address as it is now; otherwise every unpaid
    card order of the customer goes back into the cart (`order_release_open_card_checkouts`) and
    one card order is made from the whole cart, so it holds everything and ships where the
    customer now says. All in one transaction: if the new order fails, the old one is as it was.
    """
    address = address_selectors.address_get_for_user(user=user, address_id=shipping_address_id)
    open_order = order_selectors.order_open_card_checkout(user=user)
    if (
        open_order is not None
        and not cart_selectors.cart_detail(user=user).items.all()
        and open_order.shipping_address == address_selectors.address_snapshot(address=address)
    ):
        return payment_services.payment_intent_get_or_create_for_order(order_id=open_order.pk, user=user)
    order_release_open_card_checkouts(user=user, reason=RELEASED_FOR_CARD)
    return order_create_from_cart(
        user=user, shipping_address_id=address.pk, payment_method=PaymentMethod.CARD
    ).payment


@transaction.atomic
def order_checkout_cash(*, user, shipping_address_id: int) -> CheckoutResult:
    """A cash-on-delivery order from the cart, after the customer's open card checkout (if any)
    went back into the cart (they opened the card tab, then chose cash on delivery). If the COD
    order fails, everything rolls back and the card checkout is as it was."""
    order_release_open_card_checkouts(user=user, reason=RELEASED_FOR_COD)
    return order_create_from_cart(
        user=user, shipping_address_id=shipping_address_id, payment_method=PaymentMethod.COD
    )


@transaction.atomic
def order_release_open_card_checkouts(*, user, actor=None, reason: str) -> int:
    """Cancel the user's unpaid card checkouts (PENDING card orders, expired or not) so their lines
    go back into the cart; returns how many were cancelled.

    Each one is cancelled exactly as a customer cancel (`order_cancel`: stock released, lines
    merged back into the cart, PaymentIntent cancelled best effort, event with `reason`), but
    without the cancellation email (the customer is switching how they pay, not giving up) and
    with the PaymentIntent cancelled after commit: callers go on to place the replacement order
    in the same transaction, and if that fails everything rolls back with the intent still
    payable on Stripe.
    Orders are locked in id order and re-checked under the lock, so one that the webhook paid
    or an expiry run cancelled meanwhile is left alone. If Stripe says money for one of them is
    already moving (the webhook not yet here), nothing is released: 409 `payment_in_progress`.

    Backs the rule "a customer has at most one open card checkout" (`order_checkout_card`,
    `order_checkout_cash`).
    """
    orders = list(
        Order.objects.select_for_update()
        .filter(user=user, status=S.PENDING, payment_method=PaymentMethod.CARD)
        .order_by("id")
    )
    for order in orders:
        if payment_services.payment_intent_in_flight_for_order(order=order):
            raise ApplicationError(
                f"A card payment for order {order.number} is being processed; please wait a moment.",
                code="payment_in_progress",
                status_code=409,
            )
    for order in orders:
        order_cancel(
            order_id=order.pk,
            actor=actor or user,
            reason=reason,
            restore_cart=True,
            notify=False,
            defer_intent_cancel=True,
        )
    return len(orders)
