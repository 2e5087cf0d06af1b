"""Shared pieces of the reliability suite: a seeded shop, tokens, the in-process WSGI app, and a
snapshot of every table a request could write to.

Objects are created lazily (`functools.cached_property`), so a test pays only for what it uses: a
paid card order costs a few round trips to the fake Stripe, a product costs one INSERT.
"""

from __future__ import annotations

import json
from decimal import Decimal
from functools import cached_property
from http.server import BaseHTTPRequestHandler

import pytest
from django.core.cache import cache
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import got_request_exception, request_finished, request_started
from django.db import close_old_connections
from rest_framework.test import APIClient
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.tokens import AccessToken, RefreshToken

from addresses.models import Address
from addresses.tests.factories import AddressFactory
from cart.models import Cart, CartItem
from conftest import loopback_http_server
from core.models import IdempotencyRecord
from orders.models import Order, OrderEvent, OrderItem
from payments.models import Payment, Refund, WebhookEvent
from products.models import Category, Product, WishlistItem
from products.tests.factories import CategoryFactory, ProductFactory, WishlistItemFactory
from users.models import PasswordResetToken, User
from users.tests.factories import UserFactory

# A valid body for POST/PUT /api/addresses/ (copy it before changing it).
ADDRESS = {
    "full_name": "Ada Lovelace",
    "phone": "+15555550100",
    "line1": "12 Analytical Row",
    "city": "London",
    "postal_code": "62701",
    "country": "US",
}


def api_client(user=None) -> APIClient:
    """A DRF test client, signed in as `user` with a JWT when given."""
    client = APIClient()
    if user is not None:
        client.credentials(HTTP_AUTHORIZATION=bearer(user)["Authorization"])
    return client


def bearer(user) -> dict[str, str]:
    """The Authorization header of a fresh access token for `user` (no database write, unlike
    `RefreshToken.for_user`, which records an outstanding token)."""
    return {"Authorization": f"Bearer {AccessToken.for_user(user)}"}


def first_item_id(order) -> int:
    """The id of the order's first line (lowest pk)."""
    return order.items.order_by("pk").first().pk


def reset_throttles() -> None:
    """Forget throttle counters (the fuzzer sends far more requests per minute than the rates allow;
    throttling itself is tested in users/tests/test_throttling.py)."""
    if hasattr(cache, "delete_pattern"):
        cache.delete_pattern("throttle_*")
    else:
        cache.clear()


# Every table a request can write to. `db_state()` reads them all, so "the database is unchanged"
# means exactly that, not "the row I thought of is unchanged".
SNAPSHOT_MODELS = (
    User,
    PasswordResetToken,
    OutstandingToken,
    BlacklistedToken,
    Category,
    Product,
    WishlistItem,
    Address,
    Cart,
    CartItem,
    Order,
    OrderItem,
    OrderEvent,
    Payment,
    Refund,
    WebhookEvent,
    IdempotencyRecord,
)


def db_state() -> dict[str, list[dict]]:
    return {model._meta.label: list(model.objects.order_by("pk").values()) for model in SNAPSHOT_MODELS}


def db_changes(before: dict[str, list[dict]], after: dict[str, list[dict]]) -> dict[str, list]:
    """The rows that differ, per table (empty when nothing changed): short failure messages."""
    changes = {}
    for table, rows in after.items():
        old = {row["id"]: row for row in before[table]}
        new = {row["id"]: row for row in rows}
        diff = [
            {"id": pk, **{k: (old[pk].get(k), v) for k, v in row.items() if old[pk].get(k) != v}}
            if pk in old
            else {"added": row}
            for pk, row in new.items()
            if old.get(pk) != row
        ]
        diff += [{"deleted": old[pk]} for pk in old.keys() - new.keys()]
        if diff:
            changes[table] = diff
    return changes


def assert_db_unchanged(before: dict[str, list[dict]]) -> None:
    changes = db_changes(before, db_state())
    assert not changes, changes


class World:
    """A small shop: a customer with an address, a wishlist row, a cart line and orders in every
    status the API acts on; another customer; a staff user; an active product and a category."""

    def __init__(self) -> None:
        self.customer = UserFactory()
        self.staff = UserFactory(is_staff=True)

    @cached_property
    def intruder(self) -> User:
        """Another customer, with a cart line of their own (so their cart already exists)."""
        from cart.services import cart_item_add

        user = UserFactory()
        cart_item_add(user=user, product_id=self.product.pk, quantity=1)
        return user

    @cached_property
    def promotion(self):
        """A live 10% coupon for the whole cart."""
        from promotions.tests.factories import PromotionFactory

        return PromotionFactory(code="RELIABLE10")

    @cached_property
    def second_address(self) -> Address:
        """The customer's second, non-default address."""
        _ = self.address
        return AddressFactory(user=self.customer, is_default=False)

    @cached_property
    def refresh_token(self) -> str:
        """A refresh token of the customer (recorded as outstanding, as a login does)."""
        return str(RefreshToken.for_user(self.customer))

    @cached_property
    def reset_token(self) -> str:
        """A valid, unused password-reset token of the customer (only its hash is stored)."""
        import secrets
        from datetime import timedelta

        from django.utils import timezone

        from users.services import _token_hash

        token = secrets.token_urlsafe(32)
        PasswordResetToken.objects.create(
            user=self.customer,
            email=self.customer.email,
            token_hash=_token_hash(token),
            expires_at=timezone.now() + timedelta(hours=1),
        )
        return token

    @cached_property
    def category(self) -> Category:
        return CategoryFactory()

    @cached_property
    def product(self) -> Product:
        return ProductFactory(price=Decimal("19.99"), stock=500, category=self.category)

    @cached_property
    def address(self) -> Address:
        return AddressFactory(user=self.customer, is_default=True)

    @cached_property
    def wishlist_item(self) -> WishlistItem:
        return WishlistItemFactory(user=self.customer, product=self.product)

    @cached_property
    def cart_item(self) -> CartItem:
        from cart.services import cart_item_add

        cart = cart_item_add(user=self.customer, product_id=self.product.pk, quantity=1)
        return cart.items.get(product=self.product)

    def _place(self, payment_method: str) -> Order:
        """Checkout through the real services; the cart line (if any) is put back afterwards."""
        from cart.services import cart_item_add
        from orders.services import order_create_from_cart

        had_line = "cart_item" in self.__dict__
        product = ProductFactory(price=Decimal("12.50"), stock=100, category=self.category)
        CartItem.objects.filter(cart__user=self.customer).delete()
        cart_item_add(user=self.customer, product_id=product.pk, quantity=2)
        order = order_create_from_cart(
            user=self.customer, shipping_address_id=self.address.pk, payment_method=payment_method
        ).order
        if had_line:
            del self.__dict__["cart_item"]
            _ = self.cart_item
        return order

    @cached_property
    def cod_order(self) -> Order:
        """CONFIRMED (cash on delivery): cancellable per line, shippable by staff."""
        return self._place("cod")

    @cached_property
    def card_order(self) -> Order:
        """PENDING card order with its PaymentIntent on the fake Stripe."""
        return self._place("card")

    @cached_property
    def paid_order(self) -> Order:
        """A PAID card order (paid on the fake Stripe, settled as the webhook does)."""
        from payments import gateway
        from payments.services import payment_mark_succeeded

        order = self._place("card")
        payment = Payment.objects.get(order=order, provider=Payment.Provider.STRIPE)
        client = gateway.stripe_client()
        client.v1.payment_intents.update(payment.payment_intent_id, params={"payment_method": "pm_card_visa"})
        intent = client.v1.payment_intents.confirm(payment.payment_intent_id)
        payment_mark_succeeded(
            payment_intent_id=payment.payment_intent_id,
            amount_received_minor=int(intent.amount),
            currency=intent.currency,
            order_id=str(order.pk),
        )
        order.refresh_from_db()
        assert order.status == "PAID"
        return order

    @cached_property
    def shipped_order(self) -> Order:
        from orders.services import order_ship

        order = self._place("cod")
        return order_ship(order_id=order.pk, tracking_number="1Z999", carrier="UPS", actor=self.staff)


@pytest.fixture
def world(db, settings) -> World:
    settings.CURRENCY = "usd"
    return World()


class InProcessWSGI:
    """Django's WSGI handler for in-process calls inside a test transaction.

    Like Django's test client it keeps the request signals from closing the test's database
    connection (which would abort the transaction every test runs in), and it keeps the exception
    behind a 500 so a failure report shows the traceback instead of just "500".
    """

    def __init__(self) -> None:
        self.handler = WSGIHandler()
        self.exceptions: list[BaseException] = []

    def __call__(self, environ, start_response):
        return self.handler(environ, start_response)

    def _record(self, sender, request=None, **kwargs) -> None:
        import sys

        exc = sys.exc_info()[1]
        if exc is not None:
            self.exceptions.append(exc)

    def __enter__(self) -> InProcessWSGI:
        request_started.disconnect(close_old_connections)
        request_finished.disconnect(close_old_connections)
        got_request_exception.connect(self._record)
        return self

    def __exit__(self, *exc_info) -> None:
        got_request_exception.disconnect(self._record)
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@pytest.fixture
def wsgi_app():
    with InProcessWSGI() as app:
        yield app


class _PincodeHandler(BaseHTTPRequestHandler):
    """A pincode lookup provider that knows every pincode (the generic `{city, state}` format)."""

    def do_GET(self):
        body = json.dumps({"city": "Springfield", "state": "IL"}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture(scope="session")
def _pincode_server():
    with loopback_http_server(_PincodeHandler) as server:
        yield server


@pytest.fixture
def pincode_provider(settings, _pincode_server):
    """PINCODE_LOOKUP_URL pointed at the loopback provider, so lookups can succeed."""
    host, port = _pincode_server.server_address
    settings.PINCODE_LOOKUP_URL = f"http://{host}:{port}/{{pincode}}"
