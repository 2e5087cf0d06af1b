"""The webhook's amount check uses the order's discounted total."""

from decimal import Decimal

import pytest

from cart.models import Cart
from orders.models import OrderStatus
from promotions.tests.factories import PromotionFactory

from .conftest import confirm_on_stripe, intent_event, place_order

pytestmark = pytest.mark.django_db


def test_a_discounted_card_order_is_paid_by_its_discounted_amount(deliver, user, product, address):
    promotion = PromotionFactory(code="FIVE", kind="fixed", value=Decimal("5.00"))
    Cart.objects.get_or_create(user=user)
    Cart.objects.filter(user=user).update(promotion=promotion)
    order, payment = place_order(user, product, quantity=2, address=address)  # 49.00 - 5.00 + 5.00
    assert order.total == Decimal("49.00") and order.discount_total == Decimal("5.00")
    assert payment.amount == Decimal("49.00")
    assert confirm_on_stripe(payment.payment_intent_id).json()["amount"] == 4900
    assert deliver(intent_event(payment.payment_intent_id)).status_code == 200
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID
