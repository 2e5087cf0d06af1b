"""products/stock.py: every short line of a checkout is reported, on both API faces and at the take."""

from decimal import Decimal

import pytest
from django.db import transaction

from addresses.tests.factories import AddressFactory
from cart.models import CartItem
from cart.tests.factories import CartFactory, CartItemFactory
from core.exceptions import InsufficientStock, ProductUnavailable
from orders.models import Order
from products import stock
from products.models import Product
from products.tests.factories import ProductFactory


@pytest.fixture(autouse=True)
def _shop_settings(settings):
    settings.CURRENCY = "usd"
    settings.SHIPPING_FLAT_RATE = Decimal("5.00")
    settings.FREE_SHIPPING_THRESHOLD = Decimal("50.00")


@pytest.fixture
def three(db):
    """Short by 2, plenty, out of stock: created in this order, so pk order is the same."""
    return (
        ProductFactory(name="Scarce", stock=1),
        ProductFactory(name="Plenty", stock=10),
        ProductFactory(name="Gone", stock=0),
    )


def v(product) -> int:
    """The id of a factory product's one (default) variant: stock lines are `(variant_id, quantity)`."""
    return product.variants.get().pk


def fill_cart(user, lines) -> None:
    cart = CartFactory(user=user)
    for product, quantity in lines:
        CartItemFactory(cart=cart, product=product, quantity=quantity)


def assert_every_short_line(body, scarce, gone) -> None:
    assert body["code"] == "insufficient_stock"
    # The first short line at the top level, as existing clients read it.
    assert (body["product_id"], body["product_name"], body["available"]) == (scarce.pk, "Scarce", 1)
    scarce_variant, gone_variant = scarce.variants.get(), gone.variants.get()
    assert body["variant_id"] == scarce_variant.pk
    assert body["short_lines"] == [
        {
            "product_id": scarce.pk,
            "product_name": "Scarce",
            "variant_id": scarce_variant.pk,
            "sku": scarce.sku,
            "options": {},
            "requested": 3,
            "available": 1,
        },
        {
            "product_id": gone.pk,
            "product_name": "Gone",
            "variant_id": gone_variant.pk,
            "sku": gone.sku,
            "options": {},
            "requested": 1,
            "available": 0,
        },
    ]


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/orders/create/", {"payment_method": "cod"}),
        ("/api/orders/create/", {"payment_method": "card"}),
        ("/api/web/orders/create/", {"payment_method": "COD"}),
    ],
)
def test_checkout_lists_every_short_line(auth_client, user, three, path, body):
    scarce, plenty, gone = three
    fill_cart(user, [(gone, 1), (plenty, 2), (scarce, 3)])
    address = AddressFactory(user=user)
    key = "shipping_address_id" if path.startswith("/api/orders") else "address_id"

    response = auth_client.post(path, {key: address.pk, **body})

    assert response.status_code == 409, response.json()
    assert_every_short_line(response.json(), scarce, gone)
    assert not Order.objects.exists()
    assert [Product.objects.get(pk=p.pk).stock for p in three] == [1, 10, 0]
    assert CartItem.objects.filter(cart__user=user).count() == 3


@pytest.mark.django_db(transaction=True)
def test_the_take_lists_every_short_line_and_takes_nothing(three):
    scarce, plenty, gone = three

    with pytest.raises(InsufficientStock) as exc, transaction.atomic():
        stock.stock_take(lines=[(v(gone), 1), (v(plenty), 2), (v(scarce), 3)])

    assert_every_short_line({"code": exc.value.code, **exc.value.extra}, scarce, gone)
    assert [Product.objects.get(pk=p.pk).stock for p in three] == [1, 10, 0]


def test_an_inactive_product_wins_over_short_lines(three):
    scarce, plenty, gone = three
    Product.objects.filter(pk=plenty.pk).update(is_active=False)

    with pytest.raises(ProductUnavailable) as exc:
        stock.stock_check_for_purchase(lines=[(v(scarce), 3), (v(plenty), 1)])

    assert exc.value.extra == {"product_id": plenty.pk, "variant_id": v(plenty)}
    assert str(exc.value) == f"{plenty.name} is no longer available."


def test_lock_order_is_by_variant_id_with_quantities_merged():
    assert stock.lock_order([(9, 1), (3, 2), (None, 4), (9, 2), (5, 0)]) == [(3, 2), (9, 3)]
