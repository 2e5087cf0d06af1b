"""Payment reads."""

from __future__ import annotations

from decimal import Decimal

from django.db.models import Max

from .models import Payment


def payment_for_order(*, order) -> Payment | None:
    """The order's current payment record: its newest one (a card order may have had earlier,
    cancelled PaymentIntents), or None (e.g. a cash-on-delivery order not yet collected)."""
    return Payment.objects.filter(order=order).order_by("-created_at", "-id").first()


def payments_for_order(*, order) -> list[Payment]:
    return list(Payment.objects.filter(order=order).order_by("created_at", "id"))


def payment_refundable_amount(*, order) -> Decimal:
    """What is left to refund of the order's captured card payment, by our records of Stripe's
    numbers (refunds made in the Stripe Dashboard included, once `charge.refunded` arrived)."""
    payment = (
        Payment.objects.filter(
            order=order,
            provider=Payment.Provider.STRIPE,
            status__in=[Payment.Status.SUCCEEDED, Payment.Status.PARTIALLY_REFUNDED],
        )
        .order_by("-created_at", "-id")
        .first()
    )
    return payment.refundable_left if payment is not None else Decimal("0.00")


def order_ids_holding_open_intents(*, orders, limit: int) -> list[int]:
    """Ids of these orders (a queryset) that still hold a Stripe PaymentIntent open by our records
    (not paid, not cancelled), at most `limit`, the least recently attempted first: an intent
    whose cancel just failed goes to the back of the line."""
    return list(
        Payment.objects.filter(
            order__in=orders,
            provider=Payment.Provider.STRIPE,
            status__in=[Payment.Status.REQUIRES_PAYMENT, Payment.Status.FAILED],
        )
        .values("order_id")
        .annotate(last_attempt=Max("updated_at"))
        .order_by("last_attempt", "order_id")
        .values_list("order_id", flat=True)[:limit]
    )
