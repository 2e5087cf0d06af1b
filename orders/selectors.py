"""Order reads."""

from __future__ import annotations

from datetime import date, timedelta

from django.conf import settings
from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet
from django.utils import timezone

from core.exceptions import NotFound

from .models import Order, OrderEvent, OrderItem, OrderStatus, PaymentMethod


def order_get_for_update(*, order_id: int) -> Order:
    """The order row, locked (`SELECT ... FOR UPDATE`) until the surrounding transaction ends."""
    order = Order.objects.select_for_update().filter(pk=order_id).first()
    if order is None:
        raise NotFound("Order not found.")
    return order


def order_get_own_for_update(*, order_id: int, user) -> Order:
    """The user's own order, locked; another user's order (or none) is 404 `Order not found.`.

    Every customer-facing order service checks ownership here, never in a view."""
    order = Order.objects.select_for_update().filter(pk=order_id).first()
    if order is None or user is None or order.user_id != user.pk:
        raise NotFound("Order not found.")
    return order


def order_queryset_with_details() -> QuerySet[Order]:
    """Orders with their lines and events prefetched: three queries whatever their number."""
    return Order.objects.prefetch_related(
        Prefetch("items", queryset=OrderItem.objects.order_by("id")),
        Prefetch("events", queryset=OrderEvent.objects.order_by("created_at", "id")),
    )


def order_list(*, user=None, status: str | None = None, search: str | None = None) -> QuerySet[Order]:
    """Orders newest first; `user=None` means every user's (staff views)."""
    qs = order_queryset_with_details().order_by("-created_at", "-id")
    if user is not None:
        qs = qs.filter(user=user)
    if status:
        qs = qs.filter(status=status)
    if search:
        search = search.strip()
        qs = qs.filter(
            Q(number__icontains=search)
            | Exists(OrderItem.objects.filter(order=OuterRef("pk"), product_name__icontains=search))
        )
    return qs


def order_latest_for_user(*, user) -> Order:
    order = order_list(user=user).first()
    if order is None:
        raise NotFound("You have no orders yet.")
    return order


def estimated_delivery_date(*, start: date | None = None) -> date:
    """When an order placed on `start` (default: today, local time) is expected to arrive:
    `DELIVERY_ESTIMATE_DAYS` later. The one place this rule lives."""
    return (start or timezone.localdate()) + timedelta(days=settings.DELIVERY_ESTIMATE_DAYS)


def order_open_card_checkout(*, user) -> Order | None:
    """The user's open card checkout: the newest PENDING card order that has not expired, or None.

    Read without a lock: a caller that acts on it locks the row itself (and re-checks its status).
    """
    return (
        Order.objects.filter(
            user=user,
            status=OrderStatus.PENDING,
            payment_method=PaymentMethod.CARD,
        )
        .exclude(Order.expired_q(timezone.now()))
        .order_by("-created_at", "-id")
        .first()
    )
