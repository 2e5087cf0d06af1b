"""POST/DELETE /api/cart/coupon/ and the cart's coupon, discount_total and total."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from cart.models import Cart
from orders.models import Order
from products.tests.factories import CategoryFactory, ProductFactory
from promotions.models import Redemption
from promotions.tests.factories import PromotionFactory

pytestmark = pytest.mark.django_db


def _add(client, product, quantity=1):
    response = client.post("/api/cart/add/", {"product_id": product.pk, "quantity": quantity}, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def test_apply_case_insensitive_shows_discount_and_total(auth_client):
    PromotionFactory(code="Third", kind="percentage", value=Decimal("33.33"))
    for price in ("0.99", "1.99", "2.99"):
        _add(auth_client, ProductFactory(price=Decimal(price)))
    response = auth_client.post("/api/cart/coupon/", {"code": "  tHiRd "}, format="json")
    assert response.status_code == 200, response.content
    cart = response.json()
    assert cart["subtotal"] == "5.97"
    assert cart["discount_total"] == "1.99"
    assert cart["total"] == "3.98"
    assert cart["coupon"] == {
        "code": "Third",
        "kind": "percentage",
        "value": "33.33",
        "applicable": True,
        "reason": None,
        "reason_code": None,
    }
    assert auth_client.get("/api/cart/").json()["discount_total"] == "1.99"


def test_empty_cart_without_coupon_has_zero_discount(auth_client):
    cart = auth_client.get("/api/cart/").json()
    assert cart["coupon"] is None and cart["discount_total"] == "0.00" and cart["total"] == "0.00"


def test_remove_coupon(auth_client):
    PromotionFactory(code="TEN", kind="fixed", value=Decimal("10.00"))
    _add(auth_client, ProductFactory(price=Decimal("30.00")))
    assert auth_client.post("/api/cart/coupon/", {"code": "ten"}, format="json").json()["total"] == "20.00"
    response = auth_client.delete("/api/cart/coupon/")
    assert response.status_code == 200
    assert response.json()["coupon"] is None and response.json()["total"] == "30.00"


@pytest.mark.parametrize(
    ("promo", "expected"),
    [
        (None, "coupon_invalid"),
        ({"is_active": False}, "coupon_invalid"),
        ({"starts_at": timezone.now() + timedelta(days=1)}, "coupon_invalid"),
        ({"ends_at": timezone.now() - timedelta(minutes=1)}, "coupon_invalid"),
        ({"usage_limit": 1, "times_used": 1}, "coupon_exhausted"),
        ({"min_subtotal": Decimal("100.00")}, "coupon_not_applicable"),
    ],
)
def test_refused_codes(auth_client, promo, expected):
    if promo is not None:
        PromotionFactory(code="CODE1", **promo)
    _add(auth_client, ProductFactory(price=Decimal("30.00")))
    response = auth_client.post("/api/cart/coupon/", {"code": "CODE1"}, format="json")
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == expected and body["detail"]
    assert Cart.objects.get().promotion_id is None


def test_per_user_limit_is_exhausted(auth_client, user):
    promotion = PromotionFactory(code="ONCE", usage_limit_per_user=1)
    order = Order.objects.create(number="NC-T-1", user=user, subtotal=1, total=1, currency="usd")
    Redemption.objects.create(promotion=promotion, order=order, user=user, amount=Decimal("1"))
    _add(auth_client, ProductFactory(price=Decimal("30.00")))
    response = auth_client.post("/api/cart/coupon/", {"code": "once"}, format="json")
    assert response.status_code == 400 and response.json()["code"] == "coupon_exhausted"


def test_only_eligible_categories_and_their_children(auth_client):
    shoes = CategoryFactory()
    sneakers = CategoryFactory(parent=shoes)
    other = CategoryFactory()
    promotion = PromotionFactory(code="SHOES", kind="percentage", value=Decimal("50"))
    promotion.categories.set([shoes])
    _add(auth_client, ProductFactory(price=Decimal("10.00"), category=other))
    response = auth_client.post("/api/cart/coupon/", {"code": "SHOES"}, format="json")
    assert response.status_code == 400 and response.json()["code"] == "coupon_not_applicable"
    _add(auth_client, ProductFactory(price=Decimal("20.00"), category=sneakers))
    cart = auth_client.post("/api/cart/coupon/", {"code": "SHOES"}, format="json").json()
    assert cart["discount_total"] == "10.00" and cart["total"] == "20.00"


def test_coupon_that_stops_qualifying_shows_why(auth_client):
    PromotionFactory(code="MIN", kind="fixed", value=Decimal("5"), min_subtotal=Decimal("20.00"))
    product = ProductFactory(price=Decimal("10.00"))
    item = _add(auth_client, product, quantity=2)["items"][0]
    assert auth_client.post("/api/cart/coupon/", {"code": "MIN"}, format="json").json()["total"] == "15.00"
    cart = auth_client.patch(f"/api/cart/update/{item['id']}/", {"quantity": 1}, format="json").json()
    assert cart["coupon"]["applicable"] is False
    assert cart["coupon"]["reason_code"] == "coupon_not_applicable" and cart["coupon"]["reason"]
    assert cart["discount_total"] == "0.00" and cart["total"] == "10.00"


def test_blank_code_is_400(auth_client):
    response = auth_client.post("/api/cart/coupon/", {"code": ""}, format="json")
    assert response.status_code == 400


def test_anonymous_is_401(api_client):
    assert api_client.post("/api/cart/coupon/", {"code": "X"}, format="json").status_code == 401
