"""Customer emails about an order. All are queued on commit (`core.emails.email_send_on_commit`),
so a transaction that rolls back sends nothing."""

from __future__ import annotations

from django.conf import settings

from core.emails import email_send_on_commit

from .models import ItemStatus, Order, PaymentMethod


def _context(order: Order) -> dict:
    """A JSON-serialisable picture of the order (the email task may run in a Celery worker)."""
    items = list(order.items.all())
    return {
        "number": order.number,
        "status": order.status,
        "cod": order.payment_method == PaymentMethod.COD,
        "items": [
            {
                "name": item.display_name,  # with the chosen options, e.g. "T-shirt (Size M)"
                "brand": item.product_brand,
                "sku": item.sku,
                "quantity": item.quantity,
                "unit_price": str(item.unit_price),
                "line_total": str(item.line_total),
                "active": item.status == ItemStatus.ACTIVE,
            }
            for item in items
        ],
        "subtotal": str(order.subtotal),
        "discount_total": str(order.discount_total),
        "has_discount": order.discount_total > 0,
        "coupon_code": order.coupon_code,
        "shipping_total": str(order.shipping_total),
        "total": str(order.total),
        "amount_refunded": str(order.amount_refunded),
        "has_refund": order.amount_refunded > 0,
        "currency": order.currency.upper(),
        "shipping_address": order.shipping_address,
        "tracking_number": order.tracking_number,
        "carrier": order.carrier,
        "estimated_delivery": order.estimated_delivery.isoformat() if order.estimated_delivery else "",
        "order_url": f"{settings.FRONTEND_URL}/orders/{order.pk}",
    }


def order_email_confirmation(*, order: Order) -> None:
    """Sent when a card order is paid, and when a cash-on-delivery order is placed."""
    if order.payment_method == PaymentMethod.COD:
        subject = f"Order {order.number} confirmed (cash on delivery)"
    else:
        subject = f"Thank you for your order {order.number}"
    email_send_on_commit(
        to=[order.email], subject=subject, template="order_confirmation", context=_context(order)
    )


def order_email_shipped(*, order: Order) -> None:
    email_send_on_commit(
        to=[order.email],
        subject=f"Your order {order.number} is on its way",
        template="order_shipped",
        context=_context(order),
    )


def order_email_cancelled(*, order: Order, reason: str = "", restored_to_cart: bool = False) -> None:
    context = _context(order)
    context["reason"] = reason
    context["restored_to_cart"] = restored_to_cart
    email_send_on_commit(
        to=[order.email],
        subject=f"Your order {order.number} was cancelled",
        template="order_cancelled",
        context=context,
    )
