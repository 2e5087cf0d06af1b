"""Money bounds: a cart or order whose totals cannot be stored (or, for a card, charged on Stripe)
is refused with 409 `amount_too_large` before anything is written, on both API faces."""

from decimal import Decimal

import pytest

from addresses.tests.factories import AddressFactory
from cart.models import CartItem
from cart.tests.factories import CartFactory, CartItemFactory
from core.exceptions import AmountTooLarge
from orders.models import Order
from payments.models import Payment
from pricing import totals as pricing
from products.models import Product
from products.tests.factories import ProductFactory

MAX_PRICE = Decimal("99999999.99")  # the largest `Product.price` (max_digits=10)


@pytest.fixture(autouse=True)
def _shop_settings(settings):
    settings.CURRENCY = "usd"
    settings.SHIPPING_FLAT_RATE = Decimal("5.00")
    settings.FREE_SHIPPING_THRESHOLD = Decimal("50.00")
    settings.CART_MAX_LINE_QUANTITY = 99


@pytest.fixture
def dear(db):
    return ProductFactory(price=MAX_PRICE, stock=500)


@pytest.fixture
def dearer(db):
    return ProductFactory(price=MAX_PRICE, stock=500)


@pytest.fixture
def address(user):
    return AddressFactory(user=user)


def fill_cart(user, lines) -> None:
    cart = CartFactory(user=user)
    for product, quantity in lines:
        CartItemFactory(cart=cart, product=product, quantity=quantity)


def cart_lines(user) -> list[tuple[int, int]]:
    return sorted(CartItem.objects.filter(cart__user=user).values_list("product_id", "quantity"))


def assert_too_large(response) -> None:
    assert response.status_code == 409, response.content
    body = response.json()
    assert body["code"] == "amount_too_large"
    assert body["detail"]


# --- The rule itself ------------------------------------------------------------------------------


def test_the_largest_storable_total_passes_and_a_cent_more_is_refused():
    at_limit = pricing.Totals(
        subtotal=pricing.MAX_STORABLE_AMOUNT, shipping=Decimal("0.00"), total=pricing.MAX_STORABLE_AMOUNT
    )
    assert pricing.check_storable(at_limit) is at_limit
    over = pricing.totals_for([pricing.MAX_STORABLE_AMOUNT, Decimal("0.01")])
    with pytest.raises(AmountTooLarge):
        pricing.check_storable(over)


def test_a_card_total_must_fit_stripes_largest_charge():
    limit = pricing.totals_for([Decimal("999999.99")])
    assert pricing.check_storable(limit, card=True, currency="usd") is limit
    over = pricing.totals_for([Decimal("1000000.00")])
    assert pricing.check_storable(over) is over  # storable: cash on delivery may take it
    with pytest.raises(AmountTooLarge):
        pricing.check_storable(over, card=True, currency="usd")


def test_every_amount_column_holds_the_bound():
    """`MAX_STORABLE_AMOUNT` is what a (12, 2) column holds: if a column shrinks, this fails."""
    from orders.models import Order as O
    from orders.models import OrderItem
    from payments.models import Payment as P
    from payments.models import Refund

    columns = (
        [O._meta.get_field(name) for name in ("subtotal", "shipping_total", "total", "amount_refunded")]
        + [OrderItem._meta.get_field(name) for name in ("line_total", "refunded_amount")]
        + [P._meta.get_field(name) for name in ("amount", "amount_received", "amount_refunded")]
        + [Refund._meta.get_field("amount")]
    )
    for column in columns:
        largest = Decimal(10) ** (column.max_digits - column.decimal_places) - Decimal("0.01")
        assert largest >= pricing.MAX_STORABLE_AMOUNT, column
    # One line at the cap cannot overflow its own column: only the sum of lines can.
    price = Product._meta.get_field("price")
    largest_price = Decimal(10) ** (price.max_digits - price.decimal_places) - Decimal("0.01")
    assert pricing.line_total(price=largest_price, quantity=99) <= pricing.MAX_STORABLE_AMOUNT


# --- Cart (the public face) -----------------------------------------------------------------------


def test_cart_add_refuses_a_line_that_would_make_the_cart_unstorable(auth_client, user, dear, dearer):
    assert auth_client.post("/api/cart/add/", {"product_id": dear.pk, "quantity": 99}).status_code in (
        200,
        201,
    )

    response = auth_client.post("/api/cart/add/", {"product_id": dearer.pk, "quantity": 99})

    assert_too_large(response)
    assert cart_lines(user) == [(dear.pk, 99)]


def test_cart_update_refuses_to_grow_past_the_bound_but_always_lets_a_line_shrink(
    auth_client, user, dear, dearer
):
    fill_cart(user, [(dear, 98), (dearer, 1)])
    item = CartItem.objects.get(product=dearer)

    response = auth_client.patch(f"/api/cart/update/{item.pk}/", {"quantity": 99})
    assert_too_large(response)
    response = auth_client.patch(f"/api/cart/update/{item.pk}/", {"action": "increase"})
    assert response.status_code == 200  # 100 units: 9,999,999,999.00 still fits
    assert cart_lines(user) == sorted([(dear.pk, 98), (dearer.pk, 2)])
    response = auth_client.patch(f"/api/cart/update/{item.pk}/", {"action": "increase"})
    assert_too_large(response)
    assert auth_client.patch(f"/api/cart/update/{item.pk}/", {"quantity": 1}).status_code == 200
    assert cart_lines(user) == sorted([(dear.pk, 98), (dearer.pk, 1)])


# --- Checkout ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("payment_method", ["cod", "card"])
def test_checkout_of_an_unstorable_cart_is_refused_before_anything_is_written(
    auth_client, user, address, dear, dearer, payment_method
):
    fill_cart(user, [(dear, 99), (dearer, 99)])  # e.g. prices raised after the lines were added

    response = auth_client.post(
        "/api/orders/create/", {"shipping_address_id": address.pk, "payment_method": payment_method}
    )

    assert_too_large(response)
    assert not Order.objects.exists() and not Payment.objects.exists()
    assert cart_lines(user) == sorted([(dear.pk, 99), (dearer.pk, 99)])
    assert [Product.objects.get(pk=p.pk).stock for p in (dear, dearer)] == [500, 500]


def test_a_card_checkout_above_stripes_limit_is_refused_and_cod_takes_it(auth_client, user, address, db):
    million = ProductFactory(price=Decimal("1000000.00"), stock=5)
    fill_cart(user, [(million, 1)])

    response = auth_client.post(
        "/api/orders/create/", {"shipping_address_id": address.pk, "payment_method": "card"}
    )
    assert_too_large(response)
    assert not Order.objects.exists() and not Payment.objects.exists()
    assert Product.objects.get(pk=million.pk).stock == 5

    response = auth_client.post(
        "/api/orders/create/", {"shipping_address_id": address.pk, "payment_method": "cod"}
    )
    assert response.status_code == 201, response.json()
    assert Order.objects.get().total == Decimal("1000000.00")


# --- The storefront profile --------------------------------------------------------------------------


def test_storefront_cart_add_and_card_checkout_are_refused_in_the_same_shape(
    auth_client, user, address, dear, dearer, db
):
    fill_cart(user, [(dear, 99), (dearer, 1)])
    dearer_line = CartItem.objects.get(product=dearer)

    response = auth_client.patch(f"/api/web/cart/update/{dearer_line.pk}/", {"action": "increase"})
    assert_too_large(response)
    assert cart_lines(user) == sorted([(dear.pk, 99), (dearer.pk, 1)])

    million = ProductFactory(price=Decimal("1000000.00"), stock=5)
    CartItem.objects.filter(cart__user=user).delete()
    fill_cart_line = auth_client.post("/api/web/cart/add/", {"book_id": million.pk})
    assert fill_cart_line.status_code == 201
    response = auth_client.post("/api/web/payments/payment-intent/", {"address_id": address.pk})
    assert_too_large(response)
    assert not Order.objects.exists()
