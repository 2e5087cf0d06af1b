"""Checkout takes the product row locks only after the Stripe call, as its last writes.

The thread tests run on PostgreSQL with real commits and row locks: the card checkout's
PaymentIntent request is held at a loopback proxy in front of localstripe (`GatedStripe`) for as
long as the test needs, so "while the card checkout is inside the Stripe call" is a fact the test
controls, not a timing guess.
"""

import logging
import threading
import time
from decimal import Decimal

import pytest
from django.db import OperationalError, connection, transaction

from addresses.tests.factories import AddressFactory
from conftest import client_for
from core.exceptions import InsufficientStock, PaymentProviderError
from core.models import IdempotencyRecord
from orders.models import Order, OrderEvent, OrderItem
from payments import gateway
from payments.models import Payment
from products.models import Product, ProductVariant
from products.tests.factories import ProductFactory
from products.tests.stock_helpers import stock_set
from users.tests.factories import UserFactory

from .conftest import cart_lines, fill_cart, stock_of
from .gated_stripe import GatedStripe

URL = "/api/orders/create/"
WAIT = 30  # seconds: generous bounds for "it happened", never a measured latency


@pytest.fixture
def gated_stripe(stripe_server, settings, monkeypatch):
    # The SDK must outwait a held request (the client is made per STRIPE_API_BASE, so this applies).
    monkeypatch.setattr(gateway, "STRIPE_TIMEOUT_SECONDS", 3 * WAIT)
    proxy = GatedStripe(stripe_server).start()
    settings.STRIPE_API_BASE = proxy.url
    try:
        yield proxy
    finally:
        proxy.stop()


class Checkout(threading.Thread):
    """One checkout through the API in its own thread (and database connection)."""

    def __init__(self, user, address, payment_method, headers=None):
        super().__init__(daemon=True)
        self.user, self.address, self.payment_method = user, address, payment_method
        self.headers = headers or {}
        self.status = self.body = self.error = self.finished_at = None

    def run(self):
        try:
            response = client_for(self.user).post(
                URL,
                {"shipping_address_id": self.address.pk, "payment_method": self.payment_method},
                **self.headers,
            )
            self.status, self.body = response.status_code, response.json()
        except Exception as exc:  # reported by the test
            self.error = exc
        finally:
            self.finished_at = time.monotonic()
            connection.close()


def buyer_with_cart(lines):
    user = UserFactory()
    fill_cart(user, lines)
    return user, AddressFactory(user=user)


def update_product_without_waiting(product, **fields) -> None:
    """Update the product from this (another) connection; a lock held by the checkout is a failure,
    not a hang (lock_timeout). `stock` is set on the product's variant (where stock lives) and
    on the product's denormalised sum, so both rows must be free."""
    try:
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL lock_timeout = '10s'")
            if "stock" in fields:
                assert ProductVariant.objects.filter(product=product).update(stock=fields["stock"]) == 1
            assert Product.objects.filter(pk=product.pk).update(**fields) == 1
    except OperationalError as exc:
        pytest.fail(f"the product or variant row was locked during the Stripe call: {exc}")


def nothing_written_for(user, product, *, stock: int, lines: list[tuple[int, int]]) -> None:
    assert not Order.objects.filter(user=user).exists()
    assert not OrderItem.objects.filter(order__user=user).exists()
    assert not OrderEvent.objects.filter(order__user=user).exists()
    assert not Payment.objects.filter(order__user=user).exists()
    assert stock_of(product) == [stock]
    assert cart_lines(user) == lines


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_cod_checkout_of_the_same_product_completes_while_a_card_checkout_waits_on_stripe(gated_stripe):
    product = ProductFactory(stock=5, price=Decimal("10.00"))
    card_user, card_address = buyer_with_cart([(product, 2)])
    cod_user, cod_address = buyer_with_cart([(product, 1)])

    card = Checkout(card_user, card_address, "card")
    card.start()
    try:
        assert gated_stripe.entered.wait(WAIT), "the card checkout never called Stripe"
        # The card checkout's transaction is open and inside the Stripe call (held at the proxy).
        cod = Checkout(cod_user, cod_address, "cod")
        cod.start()
        cod.join(timeout=WAIT)
        cod_done_during_stripe_call = not cod.is_alive() and not gated_stripe.release.is_set()
    finally:
        gated_stripe.let_through()
    card.join(timeout=WAIT)
    cod.join(timeout=WAIT)

    assert not card.is_alive() and not cod.is_alive(), "a checkout hung"
    assert cod_done_during_stripe_call, "the COD checkout waited for the card checkout's Stripe call"
    assert cod.finished_at < gated_stripe.released_at < card.finished_at
    assert (cod.error, cod.status, cod.body["order"]["status"]) == (None, 201, "CONFIRMED"), cod.body
    assert (card.error, card.status, card.body["order"]["status"]) == (None, 201, "PENDING"), card.body
    assert stock_of(product) == [2]
    assert cart_lines(card_user) == cart_lines(cod_user) == []
    card_order = Order.objects.get(user=card_user)
    intent_id = card.body["payment"]["payment_intent_id"]
    assert Payment.objects.get(order=card_order).payment_intent_id == intent_id


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("idempotency_key", [None, "race-lost-1"])
def test_stock_lost_during_the_stripe_call_rolls_back_and_cancels_the_payment_intent(
    gated_stripe, idempotency_key
):
    product = ProductFactory(stock=3, price=Decimal("10.00"))
    user, address = buyer_with_cart([(product, 2)])
    headers = {"HTTP_IDEMPOTENCY_KEY": idempotency_key} if idempotency_key else {}

    card = Checkout(user, address, "card", headers)
    card.start()
    try:
        assert gated_stripe.entered.wait(WAIT), "the card checkout never called Stripe"
        # Another connection sells 2 units while the PaymentIntent is being created.
        update_product_without_waiting(product, stock=1)
    finally:
        gated_stripe.let_through()
    card.join(timeout=WAIT)

    assert not card.is_alive() and card.error is None
    assert card.status == 409, card.body
    assert card.body["code"] == "insufficient_stock"
    assert (card.body["product_id"], card.body["available"]) == (product.pk, 1)
    nothing_written_for(user, product, stock=1, lines=[(product.pk, 2)])
    assert not IdempotencyRecord.objects.exists()
    # The PaymentIntent made for the rolled-back order was cancelled on Stripe.
    [intent_id] = gated_stripe.created_intent_ids()
    assert gateway.retrieve_payment_intent(intent_id).status == "canceled"
    assert f"/v1/payment_intents/{intent_id}/cancel" in gated_stripe.paths("POST")

    # A retry (same key, if any) runs anew once there is stock, with a fresh PaymentIntent.
    stock_set(product, 3)
    body = {"shipping_address_id": address.pk, "payment_method": "card"}
    retry = client_for(user).post(URL, body, **headers)
    assert retry.status_code == 201, retry.json()
    assert retry.json()["payment"]["payment_intent_id"] != intent_id
    assert gateway.retrieve_payment_intent(retry.json()["payment"]["payment_intent_id"]).status != "canceled"
    assert stock_of(product) == [1]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_product_deactivated_during_the_stripe_call_rolls_back_and_cancels_the_intent(gated_stripe):
    product = ProductFactory(stock=3)
    user, address = buyer_with_cart([(product, 1)])

    card = Checkout(user, address, "card")
    card.start()
    try:
        assert gated_stripe.entered.wait(WAIT)
        update_product_without_waiting(product, is_active=False)
    finally:
        gated_stripe.let_through()
    card.join(timeout=WAIT)

    assert card.status == 409 and card.body["code"] == "product_unavailable", card.body
    nothing_written_for(user, product, stock=3, lines=[(product.pk, 1)])
    [intent_id] = gated_stripe.created_intent_ids()
    assert gateway.retrieve_payment_intent(intent_id).status == "canceled"


# --- Without threads (any database) ---------------------------------------------------------------


@pytest.fixture
def created_intents(monkeypatch):
    """The ids of the PaymentIntents created on the fake Stripe during the test."""
    ids: list[str] = []
    create = gateway.create_payment_intent

    def recording(**kwargs):
        intent = create(**kwargs)
        ids.append(intent.id)
        return intent

    monkeypatch.setattr(gateway, "create_payment_intent", recording)
    return ids


@pytest.mark.django_db
def test_short_stock_is_refused_before_any_payment_intent_is_created(auth_client, user, created_intents):

    product = ProductFactory(stock=1, name="Last one")
    fill_cart(user, [(product, 2)])
    address = AddressFactory(user=user)

    response = auth_client.post(URL, {"shipping_address_id": address.pk, "payment_method": "card"})

    assert response.status_code == 409
    assert response.json()["code"] == "insufficient_stock"
    assert response.json()["available"] == 1
    assert created_intents == []
    nothing_written_for(user, product, stock=1, lines=[(product.pk, 2)])


@pytest.mark.django_db
def test_an_error_after_the_payment_intent_rolls_back_and_cancels_it(user, created_intents, monkeypatch):
    from orders import services

    def broken(*, lines):
        raise RuntimeError("database went away")

    monkeypatch.setattr(services, "stock_take", broken)
    product = ProductFactory(stock=4)
    fill_cart(user, [(product, 2)])
    client = client_for(user)
    client.raise_request_exception = False

    response = client.post(
        URL, {"shipping_address_id": AddressFactory(user=user).pk, "payment_method": "card"}
    )

    assert response.status_code == 500
    nothing_written_for(user, product, stock=4, lines=[(product.pk, 2)])
    [intent_id] = created_intents
    assert gateway.retrieve_payment_intent(intent_id).status == "canceled"


@pytest.mark.django_db
def test_a_database_error_recording_the_payment_cancels_the_new_intent(user, created_intents, monkeypatch):
    # The Payment row is the first write after Stripe made the intent: a database that fails there
    # (a fault audit terminated the backend) left the intent open on Stripe, belonging to nothing.
    def database_gone(**kwargs):
        raise OperationalError("terminating connection due to administrator command")

    monkeypatch.setattr(Payment.objects, "create", database_gone)
    product = ProductFactory(stock=4)
    fill_cart(user, [(product, 2)])

    response = client_for(user).post(
        URL, {"shipping_address_id": AddressFactory(user=user).pk, "payment_method": "card"}
    )

    assert response.status_code == 503
    nothing_written_for(user, product, stock=4, lines=[(product.pk, 2)])
    [intent_id] = created_intents
    assert gateway.retrieve_payment_intent(intent_id).status == "canceled"


@pytest.mark.django_db
def test_a_failed_cancel_of_the_orphan_intent_is_logged_and_the_409_stands(
    auth_client, user, created_intents, monkeypatch, caplog
):
    from orders import services

    def lost_race(*, lines):
        raise InsufficientStock("Only 0 of it left in stock.", extra={"available": 0})

    def stripe_down(payment_intent_id):
        raise PaymentProviderError()

    monkeypatch.setattr(services, "stock_take", lost_race)
    monkeypatch.setattr(gateway, "cancel_payment_intent", stripe_down)
    product = ProductFactory(stock=4)
    fill_cart(user, [(product, 1)])

    with caplog.at_level(logging.WARNING):
        response = auth_client.post(
            URL, {"shipping_address_id": AddressFactory(user=user).pk, "payment_method": "card"}
        )

    assert response.status_code == 409 and response.json()["code"] == "insufficient_stock"
    nothing_written_for(user, product, stock=4, lines=[(product.pk, 1)])
    [intent_id] = created_intents
    assert any(intent_id in record.getMessage() for record in caplog.records), caplog.text
    assert gateway.retrieve_payment_intent(intent_id).status == "requires_payment_method"
