import pytest

from cart.models import CartItem
from products.tests.factories import ProductFactory
from products.tests.stock_helpers import stock_set

pytestmark = pytest.mark.django_db


def url(item_id) -> str:
    return f"/api/cart/update/{item_id}/"


def _quantity(item) -> int | None:
    row = CartItem.objects.filter(pk=item.pk).first()
    return row.quantity if row else None


def test_anonymous_is_401(api_client, user, line_for):
    item = line_for(user, quantity=2)
    response = api_client.patch(url(item.pk), {"quantity": 5}, format="json")
    assert response.status_code == 401
    assert _quantity(item) == 2


def test_set_quantity(auth_client, user, line_for):
    item = line_for(user, product=ProductFactory(stock=10), quantity=2)
    response = auth_client.patch(url(item.pk), {"quantity": 7}, format="json")
    assert response.status_code == 200
    assert response.json()["items"][0]["quantity"] == 7
    assert response.json()["total_items"] == 7
    assert _quantity(item) == 7


def test_quantity_zero_removes_the_line(auth_client, user, line_for):
    item = line_for(user, quantity=2)
    kept = line_for(user)
    response = auth_client.patch(url(item.pk), {"quantity": 0}, format="json")
    assert response.status_code == 200
    assert [line["id"] for line in response.json()["items"]] == [kept.pk]
    assert _quantity(item) is None


def test_increase_and_decrease(auth_client, user, line_for):
    item = line_for(user, product=ProductFactory(stock=10), quantity=2)
    assert auth_client.patch(url(item.pk), {"action": "increase"}, format="json").status_code == 200
    assert _quantity(item) == 3
    response = auth_client.patch(url(item.pk), {"action": "decrease"}, format="json")
    assert response.status_code == 200
    assert response.json()["items"][0]["quantity"] == 2
    assert _quantity(item) == 2


def test_decrease_at_one_removes_the_line(auth_client, user, line_for):
    item = line_for(user, quantity=1)
    response = auth_client.patch(url(item.pk), {"action": "decrease"}, format="json")
    assert response.status_code == 200
    assert response.json()["items"] == []
    assert _quantity(item) is None


def test_increase_past_stock_is_409(auth_client, user, line_for):
    item = line_for(user, product=ProductFactory(stock=3), quantity=3)
    response = auth_client.patch(url(item.pk), {"action": "increase"}, format="json")
    assert response.status_code == 409
    assert response.json()["code"] == "insufficient_stock"
    assert response.json()["available"] == 3
    assert _quantity(item) == 3


def test_set_quantity_past_stock_is_409(auth_client, user, line_for):
    item = line_for(user, product=ProductFactory(stock=4), quantity=1)
    response = auth_client.patch(url(item.pk), {"quantity": 5}, format="json")
    assert response.status_code == 409
    assert response.json() == {
        "detail": response.json()["detail"],
        "code": "insufficient_stock",
        "available": 4,
        "product_id": item.product_id,
        "variant_id": item.variant_id,
    }
    assert _quantity(item) == 1


def test_increase_past_99_is_409(auth_client, user, line_for):
    item = line_for(user, product=ProductFactory(stock=500), quantity=99)
    response = auth_client.patch(url(item.pk), {"action": "increase"}, format="json")
    assert response.status_code == 409
    assert response.json()["code"] == "quantity_limit_exceeded"
    assert _quantity(item) == 99


def test_lowering_is_accepted_even_above_stock(auth_client, user, line_for):
    product = ProductFactory(stock=10)
    item = line_for(user, product=product, quantity=6)
    stock_set(product, 2)
    assert auth_client.patch(url(item.pk), {"quantity": 4}, format="json").status_code == 200
    assert auth_client.patch(url(item.pk), {"action": "decrease"}, format="json").status_code == 200
    assert _quantity(item) == 3
    # but not raising it again
    response = auth_client.patch(url(item.pk), {"action": "increase"}, format="json")
    assert response.status_code == 409
    assert response.json()["available"] == 2
    assert _quantity(item) == 3


def test_inactive_product_can_be_lowered_not_raised(auth_client, user, line_for):
    product = ProductFactory(stock=10)
    item = line_for(user, product=product, quantity=3)
    product.is_active = False
    product.save()
    response = auth_client.patch(url(item.pk), {"action": "increase"}, format="json")
    assert response.status_code == 409
    assert response.json()["code"] == "product_unavailable"
    assert _quantity(item) == 3
    assert auth_client.patch(url(item.pk), {"quantity": 1}, format="json").status_code == 200
    assert _quantity(item) == 1


def test_same_quantity_is_a_no_op_200(auth_client, user, line_for):
    item = line_for(user, quantity=2)
    assert auth_client.patch(url(item.pk), {"quantity": 2}, format="json").status_code == 200
    assert _quantity(item) == 2


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({}, "non_field_errors"),
        ({"quantity": 2, "action": "increase"}, "non_field_errors"),
        ({"action": "double"}, "action"),
        ({"action": None}, "action"),
        ({"quantity": -1}, "quantity"),
        ({"quantity": 100}, "quantity"),
        ({"quantity": "many"}, "quantity"),
        ({"quantity": None}, "quantity"),
    ],
)
def test_invalid_input_is_400(auth_client, user, line_for, payload, field):
    item = line_for(user, quantity=2)
    response = auth_client.patch(url(item.pk), payload, format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert _quantity(item) == 2


def test_other_users_line_is_404_and_unchanged(auth_client, user, other_user, line_for):
    line_for(user)
    theirs = line_for(other_user, quantity=2)
    for payload in ({"quantity": 5}, {"quantity": 0}, {"action": "increase"}, {"action": "decrease"}):
        response = auth_client.patch(url(theirs.pk), payload, format="json")
        assert response.status_code == 404
        assert response.json()["code"] == "not_found"
    assert _quantity(theirs) == 2


@pytest.mark.parametrize("item_id", ["999999", "abc", "-1", "0", str(10**20), "%C2%B2", "%D9%A1"])
def test_unknown_or_malformed_id_is_json_404(auth_client, user, line_for, item_id):
    line_for(user)
    response = auth_client.patch(url(item_id), {"quantity": 1}, format="json")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
