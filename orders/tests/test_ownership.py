"""Ownership is checked in the services (they take the acting user), not in views."""

import pytest

from core.exceptions import NotFound
from orders import services
from orders.models import Order, OrderItem, OrderStatus

from .conftest import place_order


def test_a_customer_cannot_cancel_another_customers_order(user, other_user, product):
    order = place_order(user, [(product, 1)], payment_method="cod")

    with pytest.raises(NotFound, match="Order not found."):
        services.order_cancel_by_customer(order_id=order.pk, user=other_user)

    assert Order.objects.get(pk=order.pk).status == OrderStatus.CONFIRMED
    assert services.order_cancel_by_customer(order_id=order.pk, user=user).status == OrderStatus.CANCELLED


def test_a_customer_cannot_cancel_a_line_of_another_customers_order(user, other_user, product):
    order = place_order(user, [(product, 1)], payment_method="cod")
    item = OrderItem.objects.get(order=order)

    with pytest.raises(NotFound, match="Order not found."):
        services.order_item_cancel(order_id=order.pk, item_id=item.pk, user=other_user)

    assert OrderItem.objects.get(pk=item.pk).status == "ACTIVE"
