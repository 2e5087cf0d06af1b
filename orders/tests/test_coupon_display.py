"""The coupon's code and discount in the confirmation email, the order admin and the OpenAPI schema."""

from decimal import Decimal

import pytest
from django.test import Client

from cart.models import Cart
from products.tests.factories import ProductFactory
from promotions.tests.factories import PromotionFactory
from users.tests.factories import UserFactory

from .conftest import fill_cart

pytestmark = pytest.mark.django_db


@pytest.fixture
def coupon_cod_order(auth_client, user, address, mailoutbox, django_capture_on_commit_callbacks):
    promotion = PromotionFactory(code="Spring5", kind="fixed", value=Decimal("5.00"))
    fill_cart(user, [(ProductFactory(price=Decimal("20.00"), stock=5), 1)])
    Cart.objects.filter(user=user).update(promotion=promotion)
    with django_capture_on_commit_callbacks(execute=True):
        response = auth_client.post(
            "/api/orders/create/", {"shipping_address_id": address.pk, "payment_method": "cod"}, format="json"
        )
    assert response.status_code == 201, response.content
    return response.json()["order"]


def test_confirmation_email_shows_code_and_discount(coupon_cod_order, mailoutbox):
    assert len(mailoutbox) == 1
    message = mailoutbox[0]
    assert "Discount (Spring5): -5.00 USD" in message.body
    html = message.alternatives[0][0]
    assert "Discount (Spring5)" in html and "-5.00 USD" in html


def test_order_admin_shows_code_and_discount(coupon_cod_order):
    client = Client()
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    page = client.get(f"/admin/orders/order/{coupon_cod_order['id']}/change/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "Spring5" in text and "Discount total" in text
    search = client.get("/admin/orders/order/?q=spring5")
    assert [o.pk for o in search.context["cl"].result_list] == [coupon_cod_order["id"]]


def test_schema_documents_promotions_and_discounts(api_client):
    schema = api_client.get("/api/schema/?format=json").json()
    assert "/api/cart/coupon/" in schema["paths"]
    assert set(schema["paths"]["/api/cart/coupon/"]) >= {"post", "delete"}
    assert "/api/promotions/" in schema["paths"] and "/api/promotions/{id}/" in schema["paths"]
    components = schema["components"]["schemas"]
    assert {"coupon", "discount_total", "total"} <= set(components["Cart"]["properties"])
    assert {"discount_total", "coupon_code"} <= set(components["OrderOutput"]["properties"])
    assert "discount" in components["OrderItemOutput"]["properties"]
