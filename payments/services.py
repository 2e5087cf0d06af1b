"""Payment writes. Every Stripe call goes through `payments.gateway`.

The orders app calls `payment_intent_create_for_order`, `payment_client_payload`,
`payment_refund_create`, `payment_intent_cancel_for_order` and `payment_record_cash_collected`.
"""

from __future__ import annotations

import logging
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from core.exceptions import ApplicationError, PaymentProviderError
from core.money import from_minor_units, to_minor_units
from orders.models import Order, OrderItem, PaymentMethod

from . import gateway
from .models import Payment, Refund

logger = logging.getLogger(__name__)

# Our Payment statuses under which the PaymentIntent may still be paid by the customer.
OPEN_STATUSES = (Payment.Status.REQUIRES_PAYMENT, Payment.Status.FAILED)


def _intent_idempotency_key(*, order: Order) -> str:
    """Derived from the order, so a retried create never makes a second PaymentIntent.

    The first intent of an order has the plain key; a replacement (the first was cancelled
    on Stripe) adds the attempt number, since Stripe would otherwise replay the cancelled one.
    """
    attempt = Payment.objects.filter(order=order, provider=Payment.Provider.STRIPE).count()
    suffix = "" if attempt == 0 else f"-{attempt + 1}"
    return f"novacart-order-{order.pk}-{order.number}-pi{suffix}"


@transaction.atomic
def payment_intent_create_for_order(*, order: Order) -> Payment:
    """Create the Stripe PaymentIntent for the order total (server-computed) and record it.

    The Stripe idempotency key is derived from the order, so a retried call never makes a
    second intent. Raises `PaymentProviderError` (502) when Stripe fails or is unreachable;
    called inside the order's transaction, that rolls the whole order back.
    """
    if order.payment_method != PaymentMethod.CARD:
        raise ApplicationError("Only card orders are paid through Stripe.", code="invalid_payment_method")
    amount_minor = to_minor_units(order.total, order.currency)
    if amount_minor <= 0:
        raise ApplicationError(
            "The order total must be positive to take a card payment.", code="invalid_amount"
        )
    intent = gateway.create_payment_intent(
        amount=amount_minor,
        currency=order.currency,
        metadata={"order_id": str(order.pk), "order_number": order.number},
        idempotency_key=_intent_idempotency_key(order=order),
    )
    return Payment.objects.create(
        order=order,
        provider=Payment.Provider.STRIPE,
        payment_intent_id=intent.id,
        client_secret=intent.client_secret or "",
        amount=from_minor_units(int(intent.amount), order.currency),
        currency=order.currency,
    )


def payment_client_payload(*, payment: Payment) -> dict:
    """What a client needs to confirm the payment with Stripe.js (`amount` in minor units)."""
    return {
        "client_secret": payment.client_secret,
        "payment_intent_id": payment.payment_intent_id,
        "amount": to_minor_units(payment.amount, payment.currency),
        "currency": payment.currency,
        "publishable_key": settings.STRIPE_PUBLISHABLE_KEY,
    }


@transaction.atomic
def payment_intent_cancel_for_order(*, order: Order) -> None:
    """Cancel the order's open PaymentIntent(s) on Stripe and mark their Payments cancelled.

    Best effort: a Stripe error is logged and written to `Payment.last_error`, never raised, so
    a user cancel or an expiry is not blocked by Stripe being down. That is safe because a
    `payment_intent.succeeded` that still arrives for a cancelled order is refunded automatically
    by the webhook. A Payment whose cancel failed stays in its open status.
    """
    payments = Payment.objects.select_for_update().filter(
        order=order, provider=Payment.Provider.STRIPE, status__in=OPEN_STATUSES
    )
    for payment in payments:
        try:
            gateway.cancel_payment_intent(payment.payment_intent_id)
        except gateway.StripeObjectMissing:
            # Nothing left on Stripe's side to pay: as good as cancelled.
            payment.status = Payment.Status.CANCELLED
            payment.last_error = "PaymentIntent not found on Stripe when cancelling."
        except PaymentProviderError as exc:
            logger.warning(
                "could not cancel PaymentIntent %s of order %s", payment.payment_intent_id, order.pk
            )
            payment.last_error = f"Cancel failed: {gateway.provider_error_message(exc)}"[:500]
        else:
            payment.status = Payment.Status.CANCELLED
        payment.save(update_fields=["status", "last_error", "updated_at"])


@transaction.atomic
def payment_record_cash_collected(*, order: Order) -> Payment:
    """Record the cash collected for a cash-on-delivery order (once; a repeat returns the same row)."""
    if order.payment_method != PaymentMethod.COD:
        raise ApplicationError(
            "Only cash-on-delivery orders are paid in cash.", code="invalid_payment_method"
        )
    existing = (
        Payment.objects.select_for_update()
        .filter(order=order, provider=Payment.Provider.CASH, status=Payment.Status.SUCCEEDED)
        .first()
    )
    if existing is not None:
        return existing
    return Payment.objects.create(
        order=order,
        provider=Payment.Provider.CASH,
        status=Payment.Status.SUCCEEDED,
        amount=order.total,
        amount_received=order.total,
        currency=order.currency,
        succeeded_at=timezone.now(),
    )


@transaction.atomic
def payment_refund_create(
    *, order: Order, amount: Decimal, order_item: OrderItem | None = None, reason: str = ""
) -> Refund:
    """Refund `amount` of the order's succeeded card payment through Stripe (never more than was paid)."""
    payment = (
        Payment.objects.select_for_update()
        .filter(
            order=order,
            provider=Payment.Provider.STRIPE,
            status__in=[Payment.Status.SUCCEEDED, Payment.Status.PARTIALLY_REFUNDED],
        )
        .first()
    )
    if payment is None:
        raise ApplicationError("This order has no captured card payment to refund.", code="no_payment")
    refundable = payment.amount_received - payment.amount_refunded
    if amount <= 0 or amount > refundable:
        raise ApplicationError(
            "The refund would exceed what was paid.", code="refund_exceeds_payment", status_code=409
        )
    refund = Refund.objects.create(payment=payment, order_item=order_item, amount=amount, reason=reason[:500])
    stripe_refund = gateway.create_refund(
        payment_intent_id=payment.payment_intent_id,
        amount=to_minor_units(amount, payment.currency),
        idempotency_key=f"novacart-refund-{refund.pk}",
        metadata={"order_id": str(order.pk), "refund_id": str(refund.pk)},
    )
    refund.stripe_refund_id = stripe_refund.id
    refund.status = Refund.Status.SUCCEEDED if stripe_refund.status == "succeeded" else Refund.Status.PENDING
    refund.save(update_fields=["stripe_refund_id", "status"])
    payment.amount_refunded += amount
    payment.status = (
        Payment.Status.REFUNDED
        if payment.amount_refunded >= payment.amount_received
        else Payment.Status.PARTIALLY_REFUNDED
    )
    payment.save(update_fields=["amount_refunded", "status", "updated_at"])
    return refund
