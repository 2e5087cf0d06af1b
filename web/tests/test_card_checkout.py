"""One open card checkout per customer on the storefront profile (against the fake Stripe).

The storefront calls `POST /payments/payment-intent/ {address_id}` whenever its card tab opens,
and `POST /orders/create/ {payment_method: "COD"}` when the customer chooses cash on delivery
instead. Opening the tab again answers the same PaymentIntent; new cart lines, another address
or an expired checkout put the open order back into the cart and make one new card order; COD
puts it back into the cart and orders everything cash on delivery. Stock is taken once per unit.
"""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from addresses.tests.factories import AddressFactory
from orders.models import ItemStatus, Order, OrderStatus
from payments.models import Payment
from payments.tests.conftest import confirm_on_stripe, deliver_intent_event, stripe_get
from products.tests.factories import ProductFactory
from products.tests.stock_helpers import stock_set

from .conftest import cart_of, fill_cart, stock, url

pytestmark = [pytest.mark.django_db, pytest.mark.stripe]

CARD_TAB = "/payments/payment-intent/"


def cod_body(address) -> dict:
    return {"address_id": address.pk, "payment_method": "COD"}


@pytest.fixture
def cheap(category):
    return ProductFactory(name="Leaflet", brand="Pan", price=Decimal("4.50"), stock=10, category=category)


def lines_of(order) -> list[tuple[int, int]]:
    return sorted(order.items.filter(status=ItemStatus.ACTIVE).values_list("product_id", "quantity"))


def open_card_tab(client, address) -> dict:
    response = client.post(url(CARD_TAB), {"address_id": address.pk})
    assert response.status_code == 200, response.content
    return response.json()


def intent_status(payment: Payment) -> str:
    return stripe_get(f"payment_intents/{payment.payment_intent_id}")["status"]


def test_opening_the_card_tab_twice_answers_the_same_intent(auth_client, user, address, book):
    fill_cart(user, [(book, 2)])

    first = open_card_tab(auth_client, address)
    second = open_card_tab(auth_client, address)

    assert second == first
    assert second["amount"] == 44.98
    order = Order.objects.get(user=user)
    assert order.status == OrderStatus.PENDING
    payment = Payment.objects.get(order=order)
    assert payment.client_secret == first["client_secret"]
    assert intent_status(payment) == "requires_payment_method"
    assert lines_of(order) == [(book.pk, 2)]
    assert stock(book) == 8  # taken once
    assert cart_of(user) == []


def test_new_cart_lines_replace_the_open_checkout_with_one_order_holding_everything(
    auth_client, user, address, book, cheap, mailoutbox, django_capture_on_commit_callbacks
):
    fill_cart(user, [(book, 2)])
    first = open_card_tab(auth_client, address)
    old = Order.objects.get(user=user)
    old_payment = Payment.objects.get(order=old)

    # Back to the shop: one more Dune and a leaflet, then the card tab again.
    assert auth_client.post(url("/cart/add/"), {"book_id": book.pk}).status_code == 201
    assert auth_client.post(url("/cart/add/"), {"book_id": cheap.pk}).status_code == 201
    with django_capture_on_commit_callbacks(execute=True):
        second = open_card_tab(auth_client, address)

    assert second["client_secret"] != first["client_secret"]
    assert second["amount"] == 64.47  # 3 x 19.99 + 4.50, free shipping from 50
    old.refresh_from_db()
    assert old.status == OrderStatus.CANCELLED
    assert old.items.filter(status=ItemStatus.ACTIVE).count() == 0
    old_payment.refresh_from_db()
    assert old_payment.status == Payment.Status.CANCELLED
    assert intent_status(old_payment) == "canceled"
    new = Order.objects.get(user=user, status=OrderStatus.PENDING)
    assert lines_of(new) == [(book.pk, 3), (cheap.pk, 1)]  # the old lines merged with the new ones
    assert Payment.objects.get(order=new).client_secret == second["client_secret"]
    assert stock(book) == 7 and stock(cheap) == 9  # once per unit
    assert cart_of(user) == []
    assert mailoutbox == []  # switching checkouts is not a cancellation to tell the customer about
    assert old.events.filter(status=OrderStatus.CANCELLED, actor=user).exists()


def test_cash_on_delivery_after_the_card_tab_orders_its_lines(
    auth_client, user, address, book, mailoutbox, django_capture_on_commit_callbacks
):
    fill_cart(user, [(book, 2)])
    open_card_tab(auth_client, address)
    card_order = Order.objects.get(user=user)
    card_payment = Payment.objects.get(order=card_order)

    with django_capture_on_commit_callbacks(execute=True):
        response = auth_client.post(url("/orders/create/"), cod_body(address))

    assert response.status_code == 201, response.content
    cod = Order.objects.get(pk=response.json()["id"])
    assert cod.payment_method == "cod" and cod.status == OrderStatus.CONFIRMED
    assert lines_of(cod) == [(book.pk, 2)]
    assert [(i["quantity"], i["product_title"]) for i in response.json()["items"]] == [(2, "Penguin")]
    card_order.refresh_from_db()
    assert card_order.status == OrderStatus.CANCELLED
    card_payment.refresh_from_db()
    assert card_payment.status == Payment.Status.CANCELLED
    assert intent_status(card_payment) == "canceled"
    assert stock(book) == 8  # taken once
    assert cart_of(user) == []
    assert [m.subject for m in mailoutbox] == [f"Order {cod.number} confirmed (cash on delivery)"]


def test_cash_on_delivery_that_fails_leaves_the_card_checkout_as_it_was(
    auth_client, user, address, book, cheap
):
    fill_cart(user, [(book, 2)])
    open_card_tab(auth_client, address)
    card_order = Order.objects.get(user=user)
    assert auth_client.post(url("/cart/add/"), {"book_id": cheap.pk}).status_code == 201
    stock_set(cheap, 0)  # sold out meanwhile

    response = auth_client.post(url("/orders/create/"), cod_body(address))

    assert response.status_code == 409
    assert response.json()["code"] == "insufficient_stock"
    card_order.refresh_from_db()
    assert card_order.status == OrderStatus.PENDING
    assert lines_of(card_order) == [(book.pk, 2)]
    payment = Payment.objects.get(order=card_order)
    assert payment.status == Payment.Status.REQUIRES_PAYMENT
    assert intent_status(payment) == "requires_payment_method"
    assert stock(book) == 8
    assert cart_of(user) == [(cheap.pk, 1)]
    assert Order.objects.filter(user=user).count() == 1


def test_another_address_replaces_the_open_checkout(auth_client, user, address, book):
    fill_cart(user, [(book, 2)])
    first = open_card_tab(auth_client, address)
    old = Order.objects.get(user=user)
    office = AddressFactory(user=user, full_name="Ada at work", line1="1 Office Park")

    second = open_card_tab(auth_client, office)

    assert second["client_secret"] != first["client_secret"] and second["amount"] == first["amount"]
    old.refresh_from_db()
    assert old.status == OrderStatus.CANCELLED
    new = Order.objects.get(user=user, status=OrderStatus.PENDING)
    assert new.shipping_address["full_name"] == "Ada at work"
    assert lines_of(new) == [(book.pk, 2)]
    assert stock(book) == 8


def test_an_edited_address_replaces_the_open_checkout(auth_client, user, address, book):
    fill_cart(user, [(book, 1)])
    open_card_tab(auth_client, address)
    address.line1 = "42 New Street"
    address.save()

    open_card_tab(auth_client, address)

    assert (
        Order.objects.get(user=user, status=OrderStatus.PENDING).shipping_address["line1"] == "42 New Street"
    )
    assert Order.objects.filter(user=user, status=OrderStatus.CANCELLED).count() == 1
    assert stock(book) == 9


def test_an_expired_checkout_not_yet_swept_is_replaced(auth_client, user, address, book):
    fill_cart(user, [(book, 2)])
    first = open_card_tab(auth_client, address)
    old = Order.objects.get(user=user)
    Order.objects.filter(pk=old.pk).update(expires_at=timezone.now() - timedelta(seconds=1))

    second = open_card_tab(auth_client, address)

    assert second["client_secret"] != first["client_secret"]
    old.refresh_from_db()
    assert old.status == OrderStatus.CANCELLED
    new = Order.objects.get(user=user, status=OrderStatus.PENDING)
    assert new.expires_at > timezone.now()
    assert lines_of(new) == [(book.pk, 2)]
    assert stock(book) == 8


def test_a_payment_already_going_through_is_never_cancelled(
    auth_client, api_client, user, address, book, django_capture_on_commit_callbacks
):
    fill_cart(user, [(book, 2)])
    open_card_tab(auth_client, address)
    card_order = Order.objects.get(user=user)
    payment = Payment.objects.get(order=card_order)
    assert (
        confirm_on_stripe(payment.payment_intent_id).json()["status"] == "succeeded"
    )  # webhook not here yet
    assert auth_client.post(url("/cart/add/"), {"book_id": book.pk}).status_code == 201

    cod = auth_client.post(url("/orders/create/"), cod_body(address))
    card = auth_client.post(url(CARD_TAB), {"address_id": address.pk})

    for response in (cod, card):
        assert response.status_code == 409, response.content
        assert response.json()["code"] == "payment_in_progress"
    card_order.refresh_from_db()
    assert card_order.status == OrderStatus.PENDING
    assert Order.objects.filter(user=user).count() == 1
    assert cart_of(user) == [(book.pk, 1)]
    assert stock(book) == 8
    with django_capture_on_commit_callbacks(execute=True):
        assert deliver_intent_event(api_client, payment.payment_intent_id).status_code == 200
    card_order.refresh_from_db()
    assert card_order.status == OrderStatus.PAID


def test_the_open_checkout_is_only_the_callers(auth_client, other_client, user, other_user, address, book):
    fill_cart(user, [(book, 1)])
    open_card_tab(auth_client, address)
    theirs = AddressFactory(user=other_user)

    response = other_client.post(url(CARD_TAB), {"address_id": theirs.pk})
    assert response.status_code == 400 and response.json()["code"] == "cart_empty"
    response = other_client.post(url(CARD_TAB), {"address_id": address.pk})
    assert response.status_code == 404
    response = other_client.post(url("/orders/create/"), {"address_id": theirs.pk, "payment_method": "COD"})
    assert response.status_code == 400 and response.json()["code"] == "cart_empty"
    assert Order.objects.get(user=user).status == OrderStatus.PENDING
    assert stock(book) == 9


def test_canonical_api_still_places_independent_card_orders(auth_client, user, address, book):
    for _ in range(2):
        fill_cart(user, [(book, 1)])
        response = auth_client.post(
            "/api/orders/create/",
            {"shipping_address_id": address.pk, "payment_method": "card"},
            format="json",
        )
        assert response.status_code == 201, response.content

    assert Order.objects.filter(user=user, status=OrderStatus.PENDING).count() == 2
    assert Payment.objects.filter(order__user=user, status=Payment.Status.REQUIRES_PAYMENT).count() == 2
    assert stock(book) == 8
