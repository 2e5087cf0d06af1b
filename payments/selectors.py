"""Payment reads."""

from __future__ import annotations

from orders.models import Order

from .models import Payment


def payment_for_order(*, order: Order) -> Payment | None:
    """The order's current payment record: its newest one (a card order may have had earlier,
    cancelled PaymentIntents), or None (e.g. a cash-on-delivery order not yet collected)."""
    return Payment.objects.filter(order=order).order_by("-created_at", "-id").first()


def payments_for_order(*, order: Order) -> list[Payment]:
    return list(Payment.objects.filter(order=order).order_by("created_at", "id"))
