"""Payment writes. Every Stripe call goes through `payments.gateway`."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import transaction

from core.exceptions import ApplicationError
from core.money import from_minor_units, to_minor_units
from orders.models import Order, OrderItem

from . import gateway
from .models import Payment, Refund


@transaction.atomic
def payment_intent_create_for_order(*, order: Order) -> Payment:
    """Create the Stripe PaymentIntent for the order total (server-computed) and record it.

    The Stripe idempotency key is derived from the order, so a retried call never makes a
    second intent. Raises `PaymentProviderError` (502) when Stripe fails or is unreachable.
    """
    amount_minor = to_minor_units(order.total, order.currency)
    intent = gateway.create_payment_intent(
        amount=amount_minor,
        currency=order.currency,
        metadata={"order_id": str(order.pk), "order_number": order.number},
        idempotency_key=f"novacart-order-{order.pk}-{order.number}-pi",
    )
    return Payment.objects.create(
        order=order,
        provider=Payment.Provider.STRIPE,
        payment_intent_id=intent.id,
        client_secret=intent.client_secret or "",
        amount=from_minor_units(intent.amount, order.currency),
        currency=order.currency,
    )


def payment_client_payload(*, payment: Payment) -> dict:
    """What a client needs to confirm the payment with Stripe.js."""
    return {
        "client_secret": payment.client_secret,
        "payment_intent_id": payment.payment_intent_id,
        "amount": to_minor_units(payment.amount, payment.currency),
        "currency": payment.currency,
        "publishable_key": settings.STRIPE_PUBLISHABLE_KEY,
    }


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
