"""Wishlist through the storefront profile: `{id, book}` rows, `book_id` in, delete by row or product id."""

from decimal import Decimal

import pytest

from products.models import WishlistItem
from products.tests.factories import ProductFactory, WishlistItemFactory

from .conftest import BEARER_NULL, is_number, url

pytestmark = pytest.mark.django_db

BOOK_KEYS = {"id", "title", "subtitle", "price", "image"}


def test_list_shape(auth_client, user, book):
    older = WishlistItemFactory(user=user, product=ProductFactory(name="Emma", brand="Vintage"))
    newer = WishlistItemFactory(user=user, product=book)

    response = auth_client.get(url("/products/wishlist/"))

    assert response.status_code == 200
    body = response.json()
    assert [row["id"] for row in body] == [newer.pk, older.pk]
    assert all(set(row) == {"id", "book"} for row in body)
    first = body[0]["book"]
    assert set(first) == BOOK_KEYS
    assert first["id"] == book.pk
    assert first["title"] == "Penguin" and first["subtitle"] == "Dune"
    assert is_number(first["price"]) and first["price"] == 19.99
    assert first["image"].startswith("http://testserver/media/products/")
    assert body[1]["book"]["image"] is None


def test_list_shows_only_the_callers_rows(auth_client, other_user, book):
    WishlistItemFactory(user=other_user, product=book)
    assert auth_client.get(url("/products/wishlist/")).json() == []


def test_add_by_book_id(auth_client, user, book):
    response = auth_client.post(url("/products/wishlist/"), {"book_id": book.pk})

    assert response.status_code == 201
    row = WishlistItem.objects.get(user=user)
    assert response.json()["id"] == row.pk
    assert response.json()["book"]["id"] == book.pk


def test_add_twice_keeps_one_row(auth_client, user, book):
    first = auth_client.post(url("/products/wishlist/"), {"book_id": book.pk})
    second = auth_client.post(url("/products/wishlist/"), {"book_id": str(book.pk)})

    assert second.status_code == 200
    assert second.json()["id"] == first.json()["id"]
    assert WishlistItem.objects.filter(user=user).count() == 1


@pytest.mark.parametrize("payload", [{}, {"book_id": "abc"}, {"book_id": 0}, {"book_id": 2**63}])
def test_add_invalid_book_id_is_400(auth_client, user, payload):
    response = auth_client.post(url("/products/wishlist/"), payload, format="json")
    assert response.status_code == 400
    assert "book_id" in response.json()
    assert not WishlistItem.objects.exists()


def test_add_inactive_or_missing_product_is_404(auth_client, user):
    hidden = ProductFactory(is_active=False)
    assert auth_client.post(url("/products/wishlist/"), {"book_id": hidden.pk}).status_code == 404
    assert auth_client.post(url("/products/wishlist/"), {"book_id": 999999}).status_code == 404
    assert not WishlistItem.objects.exists()


def test_delete_by_row_id(auth_client, user, book):
    row = WishlistItemFactory(user=user, product=book)
    response = auth_client.delete(url(f"/products/wishlist/{row.pk}/"))
    assert response.status_code == 204
    assert not WishlistItem.objects.filter(pk=row.pk).exists()


def test_delete_by_product_id_when_no_row_has_that_id(auth_client, user):
    product = ProductFactory(id=700001)  # no wishlist row has this id
    row = WishlistItemFactory(user=user, product=product)
    assert row.pk != product.pk

    response = auth_client.delete(url(f"/products/wishlist/{product.pk}/"))

    assert response.status_code == 204
    assert not WishlistItem.objects.filter(pk=row.pk).exists()


def test_delete_row_id_wins_over_product_id(auth_client, user):
    """An id that is one of the caller's row ids removes that row, even when a wishlisted product
    has the same id."""
    clash = ProductFactory(id=800001)
    clash_row = WishlistItemFactory(user=user, product=clash)
    row_with_that_id = WishlistItemFactory(user=user, product=ProductFactory(), id=800001)

    response = auth_client.delete(url("/products/wishlist/800001/"))

    assert response.status_code == 204
    assert not WishlistItem.objects.filter(pk=row_with_that_id.pk).exists()
    assert WishlistItem.objects.filter(pk=clash_row.pk).exists()


def test_delete_another_users_row_is_404_and_leaves_it(auth_client, user, other_user):
    theirs = WishlistItemFactory(user=other_user, product=ProductFactory(id=900001))
    WishlistItem.objects.filter(pk=theirs.pk).update(id=900002)  # no product of the caller has it

    response = auth_client.delete(url("/products/wishlist/900002/"))

    assert response.status_code == 404
    assert WishlistItem.objects.filter(pk=900002).exists()


def test_delete_by_product_id_never_touches_another_users_row(auth_client, user, other_user, book):
    WishlistItemFactory(user=other_user, product=book)
    response = auth_client.delete(url(f"/products/wishlist/{book.pk}/"))
    assert response.status_code == 404
    assert WishlistItem.objects.filter(user=other_user, product=book).exists()


@pytest.mark.parametrize(
    "method, path",
    [("get", "/products/wishlist/"), ("post", "/products/wishlist/"), ("delete", "/products/wishlist/1/")],
)
@pytest.mark.parametrize("header", [None, BEARER_NULL])
def test_wishlist_needs_a_valid_token(api_client, db, method, path, header):
    kwargs = {"HTTP_AUTHORIZATION": header} if header else {}
    response = getattr(api_client, method)(url(path), **kwargs)
    assert response.status_code == 401


def test_price_is_current_product_price(auth_client, user, book):
    WishlistItemFactory(user=user, product=book)
    book.price = Decimal("21.00")
    book.save(update_fields=["price"])
    assert auth_client.get(url("/products/wishlist/")).json()[0]["book"]["price"] == 21.0
