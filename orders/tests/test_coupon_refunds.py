"""Refunds of orders placed with a coupon, against localstripe: a per-item cancel refunds the
line's net amount (line_total - discount), a staff refund returns what was paid, never more."""

from decimal import Decimal

import pytest

from cart.models import Cart
from orders import services
from orders.models import ItemStatus, Order, OrderItem, OrderStatus
from payments import gateway
from payments.models import Payment, Refund
from products.tests.factories import ProductFactory
from promotions.models import Promotion, Redemption
from promotions.tests.factories import PromotionFactory

from .conftest import fill_cart, pay_order

pytestmark = pytest.mark.django_db


def _coupon_order(user, address, *, payment_method: str):
    """30.00 + 20.00 with 20% off (10.00: 6.00 + 4.00), subtotal after discount 40.00 < 50.00,
    so 5.00 shipping: total 45.00."""
    promotion = PromotionFactory(code="TWENTY", kind="percentage", value=Decimal("20"))
    big = ProductFactory(price=Decimal("30.00"), stock=5)
    small = ProductFactory(price=Decimal("20.00"), stock=5)
    fill_cart(user, [(big, 1), (small, 1)])
    Cart.objects.filter(user=user).update(promotion=promotion)
    order = services.order_create_from_cart(
        user=user, shipping_address_id=address.pk, payment_method=payment_method
    ).order
    assert order.total == Decimal("45.00")
    return order, big, small


def _paid_coupon_order(user, address):
    order, big, small = _coupon_order(user, address, payment_method="card")
    assert Payment.objects.get(order=order).amount == Decimal("45.00")  # the Stripe amount is the total
    return pay_order(order), big, small


def _stripe_refunds_minor(order) -> list[int]:
    client = gateway.stripe_client()
    return [
        int(client.v1.refunds.retrieve(r.stripe_refund_id).amount)
        for r in Refund.objects.filter(payment__order=order).order_by("id")
    ]


def test_partial_refund_of_a_paid_coupon_order_refunds_the_net_line(auth_client, user, address):
    order, big, small = _paid_coupon_order(user, address)
    assert order.status == OrderStatus.PAID
    line_big, line_small = OrderItem.objects.filter(order=order).order_by("id")
    assert (line_big.discount, line_small.discount) == (Decimal("6.00"), Decimal("4.00"))

    response = auth_client.post(f"/api/orders/{order.pk}/items/{line_small.pk}/cancel/", {"reason": "no"})
    assert response.status_code == 200, response.content
    line_small.refresh_from_db()
    assert line_small.status == ItemStatus.REFUNDED
    assert line_small.refunded_amount == Decimal("16.00")  # 20.00 - 4.00
    assert Order.objects.get(pk=order.pk).amount_refunded == Decimal("16.00")
    assert _stripe_refunds_minor(order) == [1600]

    # The last line: its net 24.00 plus the shipping, 29.00: 45.00 in all, exactly what was paid.
    response = auth_client.post(f"/api/orders/{order.pk}/items/{line_big.pk}/cancel/", {"reason": "no"})
    assert response.status_code == 200
    fresh = Order.objects.get(pk=order.pk)
    assert fresh.status == OrderStatus.REFUNDED
    assert fresh.amount_refunded == fresh.total == Decimal("45.00")
    assert _stripe_refunds_minor(order) == [1600, 2900]


def test_staff_refund_returns_what_was_paid(user, address, staff_user):
    order, _big, _small = _paid_coupon_order(user, address)
    services.order_refund(order_id=order.pk, actor=staff_user)
    fresh = Order.objects.get(pk=order.pk)
    assert fresh.status == OrderStatus.REFUNDED
    assert fresh.amount_refunded == Decimal("45.00")
    assert _stripe_refunds_minor(order) == [4500]


def test_unpaid_item_cancel_removes_the_net_line_and_keeps_the_allocation(auth_client, user, address):
    order, _big, small = _coupon_order(user, address, payment_method="cod")
    line_small = OrderItem.objects.get(order=order, product=small)
    response = auth_client.post(f"/api/orders/{order.pk}/items/{line_small.pk}/cancel/", {"reason": "no"})
    assert response.status_code == 200
    body = response.json()
    # Left: 30.00 - 6.00 = 24.00 plus shipping 5.00.
    assert (body["subtotal"], body["discount_total"], body["shipping_total"], body["total"]) == (
        "30.00",
        "6.00",
        "5.00",
        "29.00",
    )


@pytest.mark.parametrize("payment_method", ["cod", "card"])
def test_an_unpaid_order_cancelled_line_by_line_gives_its_coupon_use_back(
    auth_client, user, address, payment_method
):
    order, _big, _small = _coupon_order(user, address, payment_method=payment_method)
    promotion = Promotion.objects.get(code="TWENTY")
    assert promotion.times_used == 1
    first, last = OrderItem.objects.filter(order=order).order_by("id")

    response = auth_client.post(f"/api/orders/{order.pk}/items/{first.pk}/cancel/", {"reason": "no"})
    assert response.status_code == 200, response.content
    # The redemption follows the order's discount: 4.00 is left of the 10.00 taken at checkout.
    assert response.json()["discount_total"] == "4.00"
    assert Redemption.objects.get(order=order).amount == Decimal("4.00")

    response = auth_client.post(f"/api/orders/{order.pk}/items/{last.pk}/cancel/", {"reason": "no"})
    assert response.status_code == 200, response.content
    assert response.json()["status"] == OrderStatus.CANCELLED
    assert not Redemption.objects.filter(order=order).exists()
    promotion.refresh_from_db()
    assert promotion.times_used == 0
