"""Cart through the storefront profile: plain array of lines, `book_id`, `{action}`, bulk actions."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from cart.models import CartItem
from cart.tests.factories import CartFactory, CartItemFactory
from products.models import WishlistItem
from products.tests.factories import ProductFactory
from products.tests.stock_helpers import price_set

from .conftest import BEARER_NULL, is_number, url

pytestmark = pytest.mark.django_db

LINE_KEYS = {
    "id",
    "product",
    "product_title",
    "product_subtitle",
    "product_image",
    "product_price",
    "quantity",
    "total_price",
    "stock",
    "estimated_delivery",
}


def lines(user) -> list[tuple[int, int]]:
    return sorted(CartItem.objects.filter(cart__user=user).values_list("product_id", "quantity"))


@pytest.fixture
def line(user, book):
    return CartItemFactory(cart=CartFactory(user=user), product=book, quantity=2)


def test_cart_shape(auth_client, line, book):
    response = auth_client.get(url("/cart/"))

    assert response.status_code == 200
    body = response.json()
    assert isinstance(body, list) and len(body) == 1
    item = body[0]
    assert set(item) == LINE_KEYS
    assert item["id"] == line.pk
    assert item["product"] == book.pk
    assert item["product_title"] == "Penguin" and item["product_subtitle"] == "Dune"
    assert item["product_image"].startswith("http://testserver/media/products/")
    assert item["quantity"] == 2
    for key in ("product_price", "total_price", "stock"):
        assert is_number(item[key]), key
    assert item["product_price"] == 19.99
    assert item["total_price"] == 39.98
    assert item["stock"] == 10
    assert item["estimated_delivery"] == (timezone.localdate() + timedelta(days=5)).isoformat()


def test_estimated_delivery_follows_the_setting(auth_client, line, settings):
    settings.DELIVERY_ESTIMATE_DAYS = 2
    body = auth_client.get(url("/cart/")).json()
    assert body[0]["estimated_delivery"] == (timezone.localdate() + timedelta(days=2)).isoformat()


def test_empty_cart_is_an_empty_array(auth_client):
    assert auth_client.get(url("/cart/")).json() == []


def test_cart_shows_only_the_callers_lines(auth_client, other_user, book):
    CartItemFactory(cart=CartFactory(user=other_user), product=book, quantity=1)
    assert auth_client.get(url("/cart/")).json() == []


def test_cart_read_query_budget(auth_client, user, category, django_assert_max_num_queries):
    cart = CartFactory(user=user)
    for product in ProductFactory.create_batch(12, category=category):
        CartItemFactory(cart=cart, product=product, quantity=1)
    with django_assert_max_num_queries(5):
        assert len(auth_client.get(url("/cart/")).json()) == 12


# --- add -----------------------------------------------------------------------------------------


def test_add_puts_one_unit_and_again_grows_the_line(auth_client, user, book):
    first = auth_client.post(url("/cart/add/"), {"book_id": book.pk})
    assert first.status_code == 201
    assert [(i["product"], i["quantity"]) for i in first.json()] == [(book.pk, 1)]

    second = auth_client.post(url("/cart/add/"), {"book_id": str(book.pk)})
    assert second.status_code == 201
    assert lines(user) == [(book.pk, 2)]


def test_add_beyond_stock_is_409_and_changes_nothing(auth_client, user):
    product = ProductFactory(stock=1)
    assert auth_client.post(url("/cart/add/"), {"book_id": product.pk}).status_code == 201

    response = auth_client.post(url("/cart/add/"), {"book_id": product.pk})

    assert response.status_code == 409
    assert response.json()["code"] == "insufficient_stock"
    assert lines(user) == [(product.pk, 1)]


def test_add_inactive_product_is_409(auth_client, user):
    product = ProductFactory(is_active=False)
    response = auth_client.post(url("/cart/add/"), {"book_id": product.pk})
    assert response.status_code == 409
    assert response.json()["code"] == "product_unavailable"
    assert lines(user) == []


@pytest.mark.parametrize("payload", [{}, {"book_id": "x"}, {"book_id": -3}, {"product_id": 1}])
def test_add_invalid_payload_is_400(auth_client, user, payload):
    response = auth_client.post(url("/cart/add/"), payload, format="json")
    assert response.status_code == 400
    assert "book_id" in response.json()


def test_add_missing_product_is_404(auth_client, user):
    assert auth_client.post(url("/cart/add/"), {"book_id": 999999}).status_code == 404


# --- update --------------------------------------------------------------------------------------


def test_increase_and_decrease(auth_client, user, line, book):
    response = auth_client.patch(url(f"/cart/update/{line.pk}/"), {"action": "increase"})
    assert response.status_code == 200
    assert response.json()[0]["quantity"] == 3
    assert response.json()[0]["total_price"] == pytest.approx(59.97)

    response = auth_client.patch(url(f"/cart/update/{line.pk}/"), {"action": "decrease"})
    assert response.status_code == 200
    assert lines(user) == [(book.pk, 2)]


def test_decrease_a_line_of_one_removes_it(auth_client, user, book):
    item = CartItemFactory(cart=CartFactory(user=user), product=book, quantity=1)
    response = auth_client.patch(url(f"/cart/update/{item.pk}/"), {"action": "decrease"})
    assert response.status_code == 200
    assert response.json() == []
    assert lines(user) == []


def test_increase_past_stock_answers_under_error(auth_client, user):
    product = ProductFactory(stock=2)
    item = CartItemFactory(cart=CartFactory(user=user), product=product, quantity=2)

    response = auth_client.patch(url(f"/cart/update/{item.pk}/"), {"action": "increase"})

    assert response.status_code == 409
    body = response.json()
    assert body["error"] == body["detail"]
    assert "2" in body["error"]
    assert body["code"] == "insufficient_stock"
    assert body["available"] == 2
    assert lines(user) == [(product.pk, 2)]


@pytest.mark.parametrize("payload", [{}, {"action": "double"}, {"quantity": 3}])
def test_invalid_action_answers_under_error(auth_client, user, line, payload):
    response = auth_client.patch(url(f"/cart/update/{line.pk}/"), payload, format="json")
    assert response.status_code == 400
    body = response.json()
    assert isinstance(body["error"], str) and body["error"]
    assert "action" in body
    assert lines(user) == [(line.product_id, 2)]


def test_update_another_users_line_is_404_under_error(auth_client, other_user, book):
    theirs = CartItemFactory(cart=CartFactory(user=other_user), product=book, quantity=1)

    response = auth_client.patch(url(f"/cart/update/{theirs.pk}/"), {"action": "increase"})

    assert response.status_code == 404
    assert response.json()["error"] == "Cart item not found."
    assert CartItem.objects.get(pk=theirs.pk).quantity == 1


def test_update_huge_id_is_404(auth_client, user):
    response = auth_client.patch(url("/cart/update/9223372036854775808/"), {"action": "increase"})
    assert response.status_code == 404
    assert "error" in response.json()


# --- remove and bulk -----------------------------------------------------------------------------


def test_remove(auth_client, user, line):
    response = auth_client.delete(url(f"/cart/remove/{line.pk}/"))
    assert response.status_code == 200
    assert response.json() == []
    assert lines(user) == []


def test_remove_another_users_line_is_404(auth_client, other_user, book):
    theirs = CartItemFactory(cart=CartFactory(user=other_user), product=book, quantity=1)
    assert auth_client.delete(url(f"/cart/remove/{theirs.pk}/")).status_code == 404
    assert CartItem.objects.filter(pk=theirs.pk).exists()


def test_bulk_delete(auth_client, user, other_user, category):
    cart = CartFactory(user=user)
    a, b, c = (CartItemFactory(cart=cart, product=ProductFactory(category=category)) for _ in range(3))
    theirs = CartItemFactory(cart=CartFactory(user=other_user), product=ProductFactory(category=category))

    response = auth_client.post(
        url("/cart/bulk-delete/"), {"cart_ids": [a.pk, c.pk, theirs.pk]}, format="json"
    )

    assert response.status_code == 200
    assert [i["id"] for i in response.json()] == [b.pk]
    assert CartItem.objects.filter(pk=theirs.pk).exists()


@pytest.mark.parametrize("path", ["/cart/bulk-delete/", "/cart/bulk-move-to-wishlist/"])
@pytest.mark.parametrize("payload", [{}, {"cart_ids": []}, {"cart_ids": ["x"]}, {"item_ids": [1]}])
def test_bulk_invalid_payload_is_400(auth_client, line, path, payload):
    response = auth_client.post(url(path), payload, format="json")
    assert response.status_code == 400
    assert "cart_ids" in response.json()
    assert CartItem.objects.filter(pk=line.pk).exists()


def test_bulk_move_to_wishlist(auth_client, user, line, book, category):
    keep = CartItemFactory(cart=line.cart, product=ProductFactory(category=category))

    response = auth_client.post(
        url("/cart/bulk-move-to-wishlist/"), {"cart_ids": [str(line.pk)]}, format="json"
    )

    assert response.status_code == 200
    assert [i["id"] for i in response.json()] == [keep.pk]
    assert WishlistItem.objects.filter(user=user, product=book).exists()


def test_bulk_move_with_another_users_line_moves_nothing(auth_client, user, other_user, line, book):
    theirs = CartItemFactory(cart=CartFactory(user=other_user), product=ProductFactory(), quantity=1)

    response = auth_client.post(
        url("/cart/bulk-move-to-wishlist/"), {"cart_ids": [line.pk, theirs.pk]}, format="json"
    )

    assert response.status_code == 404
    assert CartItem.objects.filter(pk__in=[line.pk, theirs.pk]).count() == 2
    assert not WishlistItem.objects.exists()


@pytest.mark.parametrize(
    "method, path",
    [
        ("get", "/cart/"),
        ("post", "/cart/add/"),
        ("patch", "/cart/update/1/"),
        ("delete", "/cart/remove/1/"),
        ("post", "/cart/bulk-delete/"),
        ("post", "/cart/bulk-move-to-wishlist/"),
    ],
)
@pytest.mark.parametrize("header", [None, BEARER_NULL])
def test_cart_needs_a_valid_token(api_client, db, method, path, header):
    kwargs = {"HTTP_AUTHORIZATION": header} if header else {}
    response = getattr(api_client, method)(url(path), **kwargs)
    assert response.status_code == 401


def test_prices_follow_the_product(auth_client, line, book):
    price_set(book, Decimal("10.00"))  # its variant's price (and the product's lowest)
    item = auth_client.get(url("/cart/")).json()[0]
    assert item["product_price"] == 10.0 and item["total_price"] == 20.0
