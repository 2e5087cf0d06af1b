"""The storefront profile's cart add with variants: shapes unchanged; `{book_id}` takes the
product's only variant, else its first active variant in stock (by id), or an explicit `variant_id`."""

import pytest

from cart.models import CartItem
from products.models import ProductVariant
from products.tests.stock_helpers import sized_product, stock_set, variant_of

from .conftest import url
from .test_cart import LINE_KEYS

pytestmark = pytest.mark.django_db


@pytest.fixture
def shirt(db):
    return sized_product({"S": (5, "20.00"), "M": (3, "22.00")})


def variant_lines(user) -> list[tuple[int, int]]:
    return sorted(CartItem.objects.filter(cart__user=user).values_list("variant_id", "quantity"))


def test_book_id_takes_the_first_variant_in_stock(auth_client, user, shirt):
    s, m = variant_of(shirt, Size="S"), variant_of(shirt, Size="M")
    stock_set(s, 0)  # S sold out: M is the first in stock

    response = auth_client.post(url("/cart/add/"), {"book_id": shirt.pk})

    assert response.status_code == 201, response.json()
    [line] = response.json()
    assert set(line) == LINE_KEYS  # the storefront's shape, no variant fields
    assert (line["product"], line["product_price"], line["stock"]) == (shirt.pk, 22.0, 3)
    assert variant_lines(user) == [(m.pk, 1)]


def test_book_id_takes_the_first_active_variant_by_id(auth_client, user, shirt):
    s = variant_of(shirt, Size="S")
    assert auth_client.post(url("/cart/add/"), {"book_id": shirt.pk}).status_code == 201
    assert auth_client.post(url("/cart/add/"), {"book_id": shirt.pk}).status_code == 201
    assert variant_lines(user) == [(s.pk, 2)]


def test_an_explicit_variant_id_is_honoured(auth_client, user, shirt):
    m = variant_of(shirt, Size="M")
    response = auth_client.post(url("/cart/add/"), {"book_id": shirt.pk, "variant_id": m.pk})
    assert response.status_code == 201
    assert variant_lines(user) == [(m.pk, 1)]


def test_a_variant_of_another_book_is_400(auth_client, user, shirt, book):
    response = auth_client.post(
        url("/cart/add/"), {"book_id": book.pk, "variant_id": variant_of(shirt, Size="M").pk}
    )
    assert response.status_code == 400
    assert variant_lines(user) == []


def test_nothing_in_stock_is_409_insufficient_stock(auth_client, user, shirt):
    for variant in shirt.variants.all():
        stock_set(variant, 0)
    response = auth_client.post(url("/cart/add/"), {"book_id": shirt.pk})
    assert response.status_code == 409
    assert response.json()["code"] == "insufficient_stock"


def test_inactive_variants_are_skipped(auth_client, user, shirt):
    s, m = variant_of(shirt, Size="S"), variant_of(shirt, Size="M")
    ProductVariant.objects.filter(pk=s.pk).update(is_active=False)
    assert auth_client.post(url("/cart/add/"), {"book_id": shirt.pk}).status_code == 201
    assert variant_lines(user) == [(m.pk, 1)]


def test_an_order_from_the_storefront_keeps_the_variant(auth_client, user, shirt, address):
    m = variant_of(shirt, Size="M")
    auth_client.post(url("/cart/add/"), {"book_id": shirt.pk, "variant_id": m.pk})
    response = auth_client.post(url("/orders/create/"), {"address_id": address.pk, "payment_method": "COD"})
    assert response.status_code in (200, 201), response.json()
    m.refresh_from_db()
    assert m.stock == 2
    assert variant_of(shirt, Size="S").stock == 5
