"""What a payment event does to an order: the handlers the orders app registers in
`payments.hooks` (see `OrdersConfig.ready`). payments records the money; these decide the order.

Each runs inside the payment service's transaction, with the order row locked first (by
`lock_order` or `payable_order`) and the payment row after it, the lock order of every order
write.
"""

from __future__ import annotations

from django.db import transaction
from django.db.models import Count, Q, Sum
from django.utils import timezone

from core.exceptions import AmountMismatch, InvalidTransition
from core.money import to_minor_units
from payments import services as payment_services
from payments.models import Payment, Refund

from . import services
from .models import ItemStatus, Order, OrderStatus, PaymentMethod
from .selectors import order_get_for_update, order_get_own_for_update

S = OrderStatus


def lock_order(*, order_id: int) -> Order:
    return order_get_for_update(order_id=order_id)


def payable_order(*, order_id: int, user, amount: int | None) -> Order:
    """Lock the caller's order and refuse it unless it may be paid by card now.

    404 for another user's order; 409 `invalid_transition` for a cash-on-delivery, non-PENDING
    or expired order; 400 `amount_mismatch` (with `expected_amount`) when `amount` (minor units)
    is given and is not the total.
    """
    order = order_get_own_for_update(order_id=order_id, user=user)
    if order.payment_method != PaymentMethod.CARD:
        raise InvalidTransition("This is a cash-on-delivery order; it is not paid by card.")
    if order.status != S.PENDING:
        raise InvalidTransition(f"Only a pending order can be paid; this order is {order.status}.")
    if order.is_expired(timezone.now()):
        raise InvalidTransition("This order has expired; please place it again.")
    expected = to_minor_units(order.total, order.currency)
    if amount is not None and amount != expected:
        raise AmountMismatch(extra={"expected_amount": expected})
    return order


def payment_succeeded(
    *, order: Order, payment: Payment, received_minor: int, currency: str, metadata_order_id: str | None
) -> None:
    """A PaymentIntent of this order succeeded (its payment not yet settled).

    - the order was CANCELLED (by the customer or by expiry) or is no longer PENDING (paid by
      another intent): the whole payment is refunded on Stripe and recorded; the order does not
      move and no stock is taken;
    - the order is PENDING and the amount, currency and order all match: the payment succeeded
      and the order is PAID (its confirmation email goes out on commit);
    - any mismatch: the payment is `mismatch` and an order event asks for review; not paid.
    """
    money = payment_services.payment_money
    if currency == payment.currency.lower() and received_minor > 0 and order.status != S.PENDING:
        why = (
            "after the order was cancelled"
            if order.status == S.CANCELLED
            else f"for an order already {order.status} (a duplicate payment)"
        )
        refund = payment_services.payment_refund_in_full(
            order=order, payment=payment, received_minor=received_minor, why=why
        )
        services.order_event_record(
            order_id=order.pk,
            note=(
                f"Payment {payment.payment_intent_id} of {money(received_minor, payment.currency)} arrived "
                f"{why}; refunded automatically ({refund.stripe_refund_id})."
            )[:500],
        )
        return

    expected = to_minor_units(order.total, order.currency)
    problems = []
    if metadata_order_id is not None and str(metadata_order_id) != str(order.pk):
        problems.append(f"metadata order_id {metadata_order_id!r} is not order {order.pk}")
    if currency != order.currency.lower():
        problems.append(f"currency {currency or '?'} is not {order.currency}")
    elif received_minor != expected:
        problems.append(
            f"received {money(received_minor, currency)}, order total {money(expected, currency)}"
        )
    if order.status != S.PENDING:
        problems.append(f"the order is {order.status}")

    payment_services.payment_settle(
        payment=payment, received_minor=received_minor, currency=currency, problems=problems
    )
    if problems:
        services.order_event_record(
            order_id=order.pk,
            note=(f"Payment {payment.payment_intent_id} not accepted: {'; '.join(problems)}. Needs review.")[
                :500
            ],
        )
        return
    services.order_mark_paid(order_id=order.pk, note=f"Card payment {payment.payment_intent_id} succeeded.")


def payment_failed(*, order: Order, payment: Payment, reason: str) -> None:
    """A card attempt failed: the order stays PENDING; a pending order gets an event the customer sees."""
    if order.status == S.PENDING:
        services.order_event_record(order_id=order.pk, note=f"Card payment failed: {reason}"[:500])


@transaction.atomic
def refunds_synced(
    *,
    order: Order,
    payment: Payment,
    fully_refunded: bool,
    refunded_more: bool,
    amount_refunded_minor: int,
    amount_captured_minor: int,
    currency: str,
) -> None:
    """Stripe's refunds of this order's payment were recorded: lines whose refund Stripe confirmed
    become REFUNDED; only when the whole capture is refunded does a PAID order become REFUNDED;
    a partial refund is recorded as an order event."""
    money = payment_services.payment_money
    # A line waiting for its refund, each of whose refunds (two when a retry topped it up)
    # Stripe confirmed.
    waiting = Refund.objects.filter(
        payment=payment, order_item__isnull=False, order_item__status=ItemStatus.REFUND_REQUESTED
    ).exclude(status=Refund.Status.FAILED)
    confirmed = (
        waiting.values("order_item_id")
        .annotate(amount=Sum("amount"), pending=Count("pk", filter=Q(status=Refund.Status.PENDING)))
        .filter(pending=0)
        .order_by("order_item_id")
    )
    for line in confirmed:
        services.order_item_mark_refunded(order_item_id=line["order_item_id"], amount=line["amount"])

    order.refresh_from_db(fields=["status"])
    if fully_refunded and order.status == S.PAID:
        services.order_mark_refunded(
            order_id=order.pk, note=f"Refunded in full on Stripe ({money(amount_refunded_minor, currency)})."
        )
    elif amount_refunded_minor > 0 and not fully_refunded and refunded_more:
        services.order_event_record(
            order_id=order.pk,
            note=(
                f"Partial refund recorded: {money(amount_refunded_minor, currency)} of "
                f"{money(amount_captured_minor, currency)} refunded in total."
            ),
        )


HANDLERS = {
    "lock_order": lock_order,
    "payable_order": payable_order,
    "payment_succeeded": payment_succeeded,
    "payment_failed": payment_failed,
    "refunds_synced": refunds_synced,
}
