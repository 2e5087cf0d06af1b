"""A coupon in the cart (applied through /api/cart/coupon/) applies to orders and payment intents
placed through the storefront profile; its shapes do not change."""

from decimal import Decimal

import pytest

from cart.models import Cart
from orders.models import Order
from payments.models import Payment
from promotions.models import Promotion
from promotions.tests.factories import PromotionFactory

from .conftest import fill_cart, url

pytestmark = pytest.mark.django_db


@pytest.fixture
def half(db):
    return PromotionFactory(code="HALF", kind="percentage", value=Decimal("50"))


def _apply(client, code):
    response = client.post("/api/cart/coupon/", {"code": code}, format="json")
    assert response.status_code == 200, response.content


@pytest.mark.stripe
def test_card_tab_amount_is_the_discounted_total(auth_client, user, address, book, half):
    fill_cart(user, [(book, 2)])  # 39.98, half off 19.99, + 5.00 shipping
    _apply(auth_client, "half")
    response = auth_client.post(url("/payments/payment-intent/"), {"address_id": address.pk})
    assert response.status_code == 200, response.content
    assert response.json()["amount"] == 24.99
    order = Order.objects.get(user=user)
    assert (order.discount_total, order.coupon_code, order.total) == (
        Decimal("19.99"),
        "HALF",
        Decimal("24.99"),
    )
    assert Payment.objects.get(order=order).amount == Decimal("24.99")
    assert Cart.objects.get(user=user).promotion_id is None
    assert Promotion.objects.get(pk=half.pk).times_used == 1


def test_cod_order_uses_the_coupon_and_keeps_its_shape(auth_client, user, address, book, half):
    fill_cart(user, [(book, 1)])
    _apply(auth_client, "HALF")
    response = auth_client.post(url("/orders/create/"), {"address_id": address.pk, "payment_method": "COD"})
    assert response.status_code == 201, response.content
    assert set(response.json()) == {"id", "status", "estimated_delivery", "items"}
    order = Order.objects.get(user=user)
    assert (order.subtotal, order.discount_total, order.total) == (
        Decimal("19.99"),
        Decimal("10.00"),
        Decimal("14.99"),
    )


def test_a_coupon_that_stopped_qualifying_is_409_on_the_storefront(auth_client, user, address, book, half):
    fill_cart(user, [(book, 1)])
    _apply(auth_client, "HALF")
    Promotion.objects.filter(pk=half.pk).update(is_active=False)
    response = auth_client.post(url("/orders/create/"), {"address_id": address.pk, "payment_method": "COD"})
    assert response.status_code == 409
    assert response.json()["code"] == "coupon_invalid"
    assert not Order.objects.exists()


@pytest.mark.stripe
def test_reopening_the_card_tab_with_new_lines_keeps_the_coupon(auth_client, user, address, book, half):
    """The open card order goes back into the cart with its coupon (its redemption given back),
    and the new card order takes the coupon again: one use, not two, and not lost."""
    from products.tests.factories import ProductFactory

    Promotion.objects.filter(pk=half.pk).update(usage_limit=1, usage_limit_per_user=1)
    fill_cart(user, [(book, 1)])
    _apply(auth_client, "HALF")
    first = auth_client.post(url("/payments/payment-intent/"), {"address_id": address.pk})
    assert first.status_code == 200 and first.json()["amount"] == 14.99  # 19.99 - 10.00 + 5.00
    extra = ProductFactory(price=Decimal("10.00"), stock=5)
    assert auth_client.post("/api/cart/add/", {"product_id": extra.pk}, format="json").status_code == 201
    second = auth_client.post(url("/payments/payment-intent/"), {"address_id": address.pk})
    assert second.status_code == 200, second.content
    assert second.json()["amount"] == 19.99  # 29.99 - 15.00 (half, rounded half up) + 5.00
    open_order = Order.objects.get(user=user, status="PENDING")
    assert open_order.coupon_code == "HALF" and open_order.discount_total == Decimal("15.00")
    assert Promotion.objects.get(pk=half.pk).times_used == 1
