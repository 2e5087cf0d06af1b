"""Checkout, order lines and every stock restore with product variants (sizes)."""

from decimal import Decimal

import pytest
from django.test import Client

from orders import services
from orders.models import Order, OrderItem
from products.models import ProductVariant
from products.tests.stock_helpers import sized_product, stock_consistent, totals_refresh, variant_of

from .conftest import fill_cart, place_order

URL = "/api/orders/create/"


@pytest.fixture
def shirt(db):
    return sized_product()  # S: 5 at 20.00, M: 3 at 22.00


def variant_stocks(product) -> dict[str, int]:
    assert stock_consistent(product)
    return {v.options["Size"]: v.stock for v in ProductVariant.objects.filter(product=product)}


def cart_variant_lines(user) -> list[tuple[int, int]]:
    from cart.models import CartItem

    return sorted(CartItem.objects.filter(cart__user=user).values_list("variant_id", "quantity"))


def test_checkout_snapshots_the_variant_and_takes_its_stock(auth_client, user, address, shirt):
    s, m = variant_of(shirt, Size="S"), variant_of(shirt, Size="M")
    fill_cart(user, [(m, 2), (s, 1)])

    response = auth_client.post(URL, {"shipping_address_id": address.pk, "payment_method": "cod"})

    assert response.status_code == 201, response.json()
    items = {item["variant_id"]: item for item in response.json()["order"]["items"]}
    assert items[m.pk]["options"] == {"Size": "M"}
    assert items[m.pk]["sku"] == m.sku
    assert items[m.pk]["unit_price"] == "22.00"
    assert items[m.pk]["line_total"] == "44.00"
    assert items[m.pk]["product_id"] == shirt.pk
    assert items[m.pk]["product_name"] == "T-shirt"
    assert items[s.pk]["options"] == {"Size": "S"}
    assert items[s.pk]["unit_price"] == "20.00"
    assert response.json()["order"]["subtotal"] == "64.00"
    assert variant_stocks(shirt) == {"S": 4, "M": 1}

    # the snapshot does not follow later edits of the variant
    ProductVariant.objects.filter(pk=m.pk).update(options={"Size": "Medium"}, sku="RENAMED", price="1.00")
    order_id = response.json()["order"]["id"]
    again = {i["variant_id"]: i for i in auth_client.get(f"/api/orders/{order_id}/").json()["items"]}
    assert (again[m.pk]["options"], again[m.pk]["sku"], again[m.pk]["unit_price"]) == (
        {"Size": "M"},
        m.sku,
        "22.00",
    )


def test_a_short_variant_is_409_with_its_variant_and_nothing_is_written(auth_client, user, address, shirt):
    m = variant_of(shirt, Size="M")
    fill_cart(user, [(m, 4)])  # 4 of M (3 left); the product holds 8 in all

    response = auth_client.post(URL, {"shipping_address_id": address.pk, "payment_method": "card"})

    assert response.status_code == 409
    body = response.json()
    assert (body["code"], body["product_id"], body["variant_id"], body["available"]) == (
        "insufficient_stock",
        shirt.pk,
        m.pk,
        3,
    )
    assert body["short_lines"][0]["options"] == {"Size": "M"}
    assert not Order.objects.exists()
    assert variant_stocks(shirt) == {"S": 5, "M": 3}
    assert cart_variant_lines(user) == [(m.pk, 4)]


def test_an_inactive_variant_in_the_cart_is_409_product_unavailable(auth_client, user, address, shirt):
    m = variant_of(shirt, Size="M")
    fill_cart(user, [(m, 1)])
    ProductVariant.objects.filter(pk=m.pk).update(is_active=False)

    response = auth_client.post(URL, {"shipping_address_id": address.pk, "payment_method": "cod"})

    assert response.status_code == 409
    assert response.json()["code"] == "product_unavailable"
    assert not Order.objects.exists()


def test_cancel_restores_the_variants_stock_and_its_cart_line(auth_client, user, shirt):
    s, m = variant_of(shirt, Size="S"), variant_of(shirt, Size="M")
    order = place_order(user, [(m, 3), (s, 1)])
    assert variant_stocks(shirt) == {"S": 4, "M": 0}

    response = auth_client.post(f"/api/orders/cancel/{order.pk}/")

    assert response.status_code == 200, response.json()
    assert variant_stocks(shirt) == {"S": 5, "M": 3}
    assert cart_variant_lines(user) == sorted([(m.pk, 3), (s.pk, 1)])


def test_item_cancel_restores_only_that_variant(auth_client, user, shirt):
    s, m = variant_of(shirt, Size="S"), variant_of(shirt, Size="M")
    order = place_order(user, [(m, 2), (s, 2)], payment_method="cod")
    line_m = OrderItem.objects.get(order=order, variant=m)

    response = auth_client.post(f"/api/orders/{order.pk}/items/{line_m.pk}/cancel/", {"reason": "size"})

    assert response.status_code == 200, response.json()
    assert variant_stocks(shirt) == {"S": 3, "M": 3}


def test_expiry_restores_the_variants_stock(user, shirt):
    from datetime import timedelta

    from django.utils import timezone

    m = variant_of(shirt, Size="M")
    order = place_order(user, [(m, 3)])
    Order.objects.filter(pk=order.pk).update(expires_at=timezone.now() - timedelta(minutes=1))

    assert services.order_expire_pending() == 1

    assert variant_stocks(shirt) == {"S": 5, "M": 3}
    assert cart_variant_lines(user) == [(m.pk, 3)]


def test_cancel_after_the_variant_was_deleted_restores_nothing_and_does_not_fail(auth_client, user, shirt):
    s, m = variant_of(shirt, Size="S"), variant_of(shirt, Size="M")
    order = place_order(user, [(m, 1), (s, 1)])
    m.delete()  # SET_NULL on the order line; the snapshot stays
    totals_refresh(shirt)

    response = auth_client.post(f"/api/orders/cancel/{order.pk}/")

    assert response.status_code == 200, response.json()
    line = OrderItem.objects.get(order=order, sku=f"{shirt.sku}-M")
    assert (line.variant_id, line.options) == (None, {"Size": "M"})
    assert variant_stocks(shirt) == {"S": 5}
    assert cart_variant_lines(user) == [(s.pk, 1)]


def test_emails_name_the_chosen_options(user, shirt, product, mailoutbox, django_capture_on_commit_callbacks):
    m = variant_of(shirt, Size="M")
    with django_capture_on_commit_callbacks(execute=True):
        order = place_order(user, [(m, 1), (product, 1)], payment_method="cod")

    [mail] = mailoutbox
    assert "1 x T-shirt (Size M)" in mail.body
    html = mail.alternatives[0][0]
    assert "T-shirt (Size M)" in html
    # the default variant of a simple product adds nothing to its name
    assert f"1 x {product.name} (Acme), SKU {product.sku}" in mail.body
    assert order.items.get(variant=m).display_name == "T-shirt (Size M)"


def test_several_options_read_in_their_order():
    item = OrderItem(product_name="T-shirt", options={"Size": "M", "Colour": "Red"})
    assert item.display_name == "T-shirt (Size M, Colour Red)"
    assert OrderItem(product_name="Mug", options={}).display_name == "Mug"


def test_the_order_admin_shows_the_options(staff_user, user, shirt):
    staff_user.is_superuser = True
    staff_user.save(update_fields=["is_superuser"])
    client = Client()
    client.force_login(staff_user)
    order = place_order(user, [(variant_of(shirt, Size="M"), 1)], payment_method="cod")

    page = client.get(f"/admin/orders/order/{order.pk}/change/").content.decode()

    assert "Size M" in page
    assert f"{shirt.sku}-M" in page


def test_a_simple_products_line_has_its_default_variant_and_no_options(user, product):
    order = place_order(user, [(product, 2)], payment_method="cod")
    [line] = order.items.all()
    assert line.variant_id == product.variants.get().pk
    assert (line.options, line.sku, line.unit_price) == ({}, product.sku, Decimal("19.99"))
