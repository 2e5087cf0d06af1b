from decimal import Decimal

import pytest

from cart.models import Cart, CartItem
from products.tests.factories import ProductFactory

pytestmark = pytest.mark.django_db

URL = "/api/cart/add/"


def _quantity(user, product) -> int | None:
    item = CartItem.objects.filter(cart__user=user, product=product).first()
    return item.quantity if item else None


def test_anonymous_is_401(api_client, product):
    response = api_client.post(URL, {"product_id": product.pk}, format="json")
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"
    assert CartItem.objects.count() == 0


def test_add_creates_the_cart_and_a_line(auth_client, user, product):
    response = auth_client.post(URL, {"product_id": product.pk, "quantity": 3}, format="json")
    assert response.status_code == 201
    body = response.json()
    [line] = body["items"]
    assert line["product"]["id"] == product.pk
    assert line["quantity"] == 3
    assert line["line_total"] == "59.97"
    assert body["total_items"] == 3
    assert body["subtotal"] == "59.97"
    assert body["id"] == Cart.objects.get(user=user).pk
    assert _quantity(user, product) == 3


def test_quantity_defaults_to_one(auth_client, user, product):
    response = auth_client.post(URL, {"product_id": product.pk}, format="json")
    assert response.status_code == 201
    assert _quantity(user, product) == 1


def test_adding_again_adds_to_the_same_line(auth_client, user, product):
    auth_client.post(URL, {"product_id": product.pk, "quantity": 2}, format="json")
    response = auth_client.post(URL, {"product_id": product.pk, "quantity": 3}, format="json")
    assert response.status_code == 201
    assert len(response.json()["items"]) == 1
    assert response.json()["items"][0]["quantity"] == 5
    assert CartItem.objects.filter(cart__user=user).count() == 1
    assert _quantity(user, product) == 5


def test_updated_at_moves_forward(auth_client, user, product):
    before = auth_client.get("/api/cart/").json()["updated_at"]
    after = auth_client.post(URL, {"product_id": product.pk}, format="json").json()["updated_at"]
    assert after > before


def test_up_to_the_stock_is_fine(auth_client, user):
    product = ProductFactory(stock=5)
    auth_client.post(URL, {"product_id": product.pk, "quantity": 3}, format="json")
    response = auth_client.post(URL, {"product_id": product.pk, "quantity": 2}, format="json")
    assert response.status_code == 201
    assert _quantity(user, product) == 5


def test_more_than_stock_is_409_with_available(auth_client, user):
    product = ProductFactory(stock=5)
    auth_client.post(URL, {"product_id": product.pk, "quantity": 3}, format="json")
    response = auth_client.post(URL, {"product_id": product.pk, "quantity": 3}, format="json")
    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "insufficient_stock"
    assert body["available"] == 5
    assert body["product_id"] == product.pk
    assert body["detail"]
    assert _quantity(user, product) == 3


def test_out_of_stock_is_409_and_no_line(auth_client, user):
    product = ProductFactory(stock=0)
    response = auth_client.post(URL, {"product_id": product.pk}, format="json")
    assert response.status_code == 409
    assert response.json()["code"] == "insufficient_stock"
    assert response.json()["available"] == 0
    assert not CartItem.objects.exists()


def test_line_may_reach_99_but_not_more(auth_client, user):
    product = ProductFactory(stock=500, price=Decimal("1.00"))
    assert auth_client.post(URL, {"product_id": product.pk, "quantity": 98}, format="json").status_code == 201
    assert auth_client.post(URL, {"product_id": product.pk, "quantity": 1}, format="json").status_code == 201
    assert _quantity(user, product) == 99

    response = auth_client.post(URL, {"product_id": product.pk, "quantity": 1}, format="json")
    assert response.status_code == 409
    assert response.json()["code"] == "quantity_limit_exceeded"
    assert response.json()["max_quantity"] == 99
    assert _quantity(user, product) == 99


@pytest.mark.parametrize(
    ("stock", "code"),
    [
        (5, "insufficient_stock"),
        (98, "insufficient_stock"),
        (99, "quantity_limit_exceeded"),
        (500, "quantity_limit_exceeded"),
    ],
)
def test_the_binding_limit_is_reported(auth_client, user, stock, code):
    product = ProductFactory(stock=stock)
    auth_client.post(URL, {"product_id": product.pk, "quantity": 3}, format="json")
    response = auth_client.post(URL, {"product_id": product.pk, "quantity": 97}, format="json")
    assert response.status_code == 409
    assert response.json()["code"] == code
    assert _quantity(user, product) == 3


def test_inactive_product_is_409_product_unavailable(auth_client, user):
    product = ProductFactory(is_active=False, stock=10)
    response = auth_client.post(URL, {"product_id": product.pk}, format="json")
    assert response.status_code == 409
    assert response.json()["code"] == "product_unavailable"
    assert not CartItem.objects.exists()


def test_missing_product_is_404(auth_client, user):
    response = auth_client.post(URL, {"product_id": 987654}, format="json")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    assert not CartItem.objects.exists()


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({}, "product_id"),
        ({"product_id": "abc"}, "product_id"),
        ({"product_id": 0}, "product_id"),
        ({"product_id": 10**20}, "product_id"),
        ({"product_id": None}, "product_id"),
        ({"quantity": 1}, "product_id"),
        ({"product_id": "PRODUCT", "quantity": 0}, "quantity"),
        ({"product_id": "PRODUCT", "quantity": -1}, "quantity"),
        ({"product_id": "PRODUCT", "quantity": 100}, "quantity"),
        ({"product_id": "PRODUCT", "quantity": "two"}, "quantity"),
        ({"product_id": "PRODUCT", "quantity": 1.5}, "quantity"),
        ({"product_id": "PRODUCT", "quantity": True}, "quantity"),
    ],
)
def test_invalid_input_is_400(auth_client, user, product, payload, field):
    payload = {k: (product.pk if v == "PRODUCT" else v) for k, v in payload.items()}
    response = auth_client.post(URL, payload, format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert not CartItem.objects.exists()


def test_non_object_body_is_400(auth_client, product):
    response = auth_client.post(URL, [product.pk], format="json")
    assert response.status_code == 400
    assert "non_field_errors" in response.json()
    assert not CartItem.objects.exists()


def test_wrong_method_is_405(auth_client):
    assert auth_client.get(URL).status_code == 405
