from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext

from cart.models import Cart, CartItem
from products.tests.factories import CategoryFactory, ProductFactory
from products.tests.stock_helpers import price_set

from .factories import CartFactory, CartItemFactory

pytestmark = pytest.mark.django_db

URL = "/api/cart/"
PRODUCT_KEYS = {
    "id",
    "name",
    "slug",
    "brand",
    "sku",
    "description",
    "price",
    "currency",
    "stock",
    "in_stock",
    "image",
    "category",
    "is_active",
    "created_at",
    "updated_at",
    "variants",
    "options",
}


def test_anonymous_is_401(api_client):
    response = api_client.get(URL)
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"
    assert Cart.objects.count() == 0


def test_first_get_creates_an_empty_cart_once(auth_client, user):
    first = auth_client.get(URL)
    assert first.status_code == 200
    body = first.json()
    assert set(body) == {
        "id",
        "items",
        "total_items",
        "subtotal",
        "coupon",
        "discount_total",
        "total",
        "currency",
        "updated_at",
    }
    assert body["items"] == []
    assert body["total_items"] == 0
    assert body["subtotal"] == "0.00"
    assert body["currency"] == "usd"
    assert Cart.objects.get(user=user).pk == body["id"]

    second = auth_client.get(URL)
    assert second.json()["id"] == body["id"]
    assert Cart.objects.filter(user=user).count() == 1


def test_currency_comes_from_settings(auth_client, settings, line_for, user):
    settings.CURRENCY = "eur"
    line_for(user)
    body = auth_client.get(URL).json()
    assert body["currency"] == "eur"
    assert body["items"][0]["product"]["currency"] == "eur"


def test_line_shape_and_full_product_object(auth_client, user):
    category = CategoryFactory(name="Audio", slug="audio")
    product = ProductFactory(name="Headphones", price=Decimal("19.99"), stock=7, category=category)
    item = CartItemFactory(cart=CartFactory(user=user), product=product, quantity=2)

    body = auth_client.get(URL).json()
    [line] = body["items"]
    assert set(line) == {"id", "product", "variant", "quantity", "unit_price", "line_total"}
    assert line["id"] == item.pk
    # A simple product's line holds its default variant: the product's SKU, no options.
    assert line["variant"] == {"id": item.variant_id, "sku": product.sku, "options": {}}
    assert line["quantity"] == 2
    assert line["unit_price"] == "19.99"
    assert line["line_total"] == "39.98"
    assert set(line["product"]) == PRODUCT_KEYS
    assert line["product"]["id"] == product.pk
    assert line["product"]["name"] == "Headphones"
    assert line["product"]["sku"] == product.sku
    assert line["product"]["price"] == "19.99"
    assert line["product"]["stock"] == 7
    assert line["product"]["in_stock"] is True
    assert line["product"]["is_active"] is True
    assert line["product"]["image"] is None
    assert line["product"]["category"] == {"id": category.pk, "name": "Audio", "slug": "audio"}
    # The product object is the catalog's, variants included (the default one here).
    assert line["product"]["variants"] == [
        {
            "id": item.variant_id,
            "sku": product.sku,
            "options": {},
            "price": "19.99",
            "stock": 7,
            "in_stock": True,
            "is_active": True,
        }
    ]
    assert line["product"]["options"] == []


def test_product_without_category_and_with_image(auth_client, user):
    image = SimpleUploadedFile("shoe.gif", b"GIF89a\x01\x00\x01\x00\x00\x00\x00;", content_type="image/gif")
    product = ProductFactory(category=None, image=image)
    CartItemFactory(cart=CartFactory(user=user), product=product)

    [line] = auth_client.get(URL).json()["items"]
    assert line["product"]["category"] is None
    assert line["product"]["image"].startswith("http://testserver/media/products/")


def test_decimal_totals(auth_client, user):
    cart = CartFactory(user=user)
    CartItemFactory(cart=cart, product=ProductFactory(price=Decimal("19.99"), stock=10), quantity=3)
    CartItemFactory(cart=cart, product=ProductFactory(price=Decimal("0.10"), stock=10), quantity=2)

    body = auth_client.get(URL).json()
    assert [line["line_total"] for line in body["items"]] == ["59.97", "0.20"]
    assert body["subtotal"] == "60.17"
    assert body["total_items"] == 5


def test_unit_price_is_the_current_price(auth_client, user):
    product = ProductFactory(price=Decimal("10.00"))
    CartItemFactory(cart=CartFactory(user=user), product=product, quantity=3)
    price_set(product, Decimal("12.50"))  # the variant's price (and the product's lowest)

    body = auth_client.get(URL).json()
    assert body["items"][0]["unit_price"] == "12.50"
    assert body["items"][0]["line_total"] == "37.50"
    assert body["subtotal"] == "37.50"


def test_only_the_callers_lines(auth_client, user, other_user, line_for):
    mine = line_for(user)
    line_for(other_user)
    body = auth_client.get(URL).json()
    assert [line["id"] for line in body["items"]] == [mine.pk]


def test_query_count_does_not_grow_with_lines(
    auth_client, user, other_client, other_user, django_assert_max_num_queries
):
    one_cart = CartFactory(user=user)
    CartItemFactory(cart=one_cart)
    twenty_cart = CartFactory(user=other_user)
    for _ in range(20):
        CartItemFactory(cart=twenty_cart, product=ProductFactory(category=CategoryFactory()))

    # auth user, the cart with its lines (product, category, variant), the line products' variants
    with django_assert_max_num_queries(3) as one:
        assert len(auth_client.get(URL).json()["items"]) == 1
    with django_assert_max_num_queries(3) as twenty:
        assert len(other_client.get(URL).json()["items"]) == 20
    assert len(one) == len(twenty)
    print(f"GET /api/cart/ queries: 1 line={len(one)}, 20 lines={len(twenty)}")
    assert CartItem.objects.filter(cart=twenty_cart).count() == 20


def test_write_query_count_does_not_grow_with_lines(auth_client, user, other_client, other_user):
    one_cart = CartFactory(user=user)
    CartItemFactory(cart=one_cart)
    twenty_cart = CartFactory(user=other_user)
    for _ in range(20):
        CartItemFactory(cart=twenty_cart)
    new_product = ProductFactory()

    counts = []
    for client in (auth_client, other_client):
        with CaptureQueriesContext(connection) as ctx:
            response = client.post("/api/cart/add/", {"product_id": new_product.pk}, format="json")
        assert response.status_code == 201
        counts.append(len(ctx))
    assert counts[0] == counts[1]
    print(f"POST /api/cart/add/ queries: 1 line={counts[0]}, 20 lines={counts[1]}")
