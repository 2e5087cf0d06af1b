"""Helpers for payment tests: orders placed through the real checkout, Stripe objects read back
from the localstripe fake, and webhook events signed exactly as Stripe signs them."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from decimal import Decimal

import pytest
import requests
from django.conf import settings

from addresses.tests.factories import AddressFactory
from products.tests.factories import ProductFactory

WEBHOOK_URL = "/api/payments/webhook/"
PAYMENT_INTENT_URL = "/api/payments/payment-intent/"


def stripe_get(path: str) -> dict:
    """A Stripe object as the API returns it (raw JSON from the fake, what a webhook carries)."""
    response = requests.get(
        f"{settings.STRIPE_API_BASE}/v1/{path}", auth=(settings.STRIPE_SECRET_KEY, ""), timeout=5
    )
    response.raise_for_status()
    return response.json()


def stripe_post(path: str, data: dict) -> requests.Response:
    return requests.post(
        f"{settings.STRIPE_API_BASE}/v1/{path}", data=data, auth=(settings.STRIPE_SECRET_KEY, ""), timeout=5
    )


def confirm_on_stripe(payment_intent_id: str, payment_method: str = "pm_card_visa") -> requests.Response:
    """What Stripe.js does in the browser: attach the card, then confirm."""
    stripe_post(f"payment_intents/{payment_intent_id}", {"payment_method": payment_method}).raise_for_status()
    return stripe_post(f"payment_intents/{payment_intent_id}/confirm", {})


def make_event(event_type: str, obj: dict, event_id: str | None = None) -> dict:
    return {
        "id": event_id or f"evt_test_{uuid.uuid4().hex[:20]}",
        "object": "event",
        "api_version": "2024-06-20",
        "created": int(time.time()),
        "livemode": False,
        "type": event_type,
        "data": {"object": obj},
    }


def sign(body: str, *, secret: str | None = None, timestamp: int | None = None) -> str:
    timestamp = int(time.time()) if timestamp is None else timestamp
    secret = settings.STRIPE_WEBHOOK_SECRET if secret is None else secret
    digest = hmac.new(secret.encode(), f"{timestamp}.{body}".encode(), hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def post_event(client, event: dict, **sign_kwargs):
    body = json.dumps(event)
    return client.post(
        WEBHOOK_URL,
        data=body,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=sign(body, **sign_kwargs),
    )


def intent_event(payment_intent_id: str, event_type: str = "payment_intent.succeeded") -> dict:
    """An event carrying the PaymentIntent exactly as Stripe holds it now."""
    return make_event(event_type, stripe_get(f"payment_intents/{payment_intent_id}"))


def charge_refunded_event(payment_intent_id: str, *, with_refund_list: bool = True) -> dict:
    """`charge.refunded` for the intent's charge as Stripe holds it now (refunds listed or not)."""
    latest = stripe_get(f"payment_intents/{payment_intent_id}")["latest_charge"]
    charge = stripe_get(f"charges/{latest['id'] if isinstance(latest, dict) else latest}")
    if not with_refund_list:
        charge.pop("refunds", None)
    return make_event("charge.refunded", charge)


def deliver_intent_event(client, payment_intent_id: str, event_type: str = "payment_intent.succeeded", **kw):
    return post_event(client, intent_event(payment_intent_id, event_type), **kw)


@pytest.fixture
def deliver(api_client, django_capture_on_commit_callbacks):
    """Deliver a signed event and run what it queued on commit (emails)."""

    def _deliver(event, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return post_event(api_client, event, **kwargs)

    return _deliver


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def product(db):
    return ProductFactory(price=Decimal("24.50"), stock=10)


@pytest.fixture
def address(user):
    return AddressFactory(user=user, is_default=True)


def place_order(user, product, *, quantity: int = 2, payment_method: str = "card", address=None):
    """A real checkout (cart -> order -> PaymentIntent on the fake Stripe) through the services."""
    from cart.services import cart_item_add
    from orders.services import order_create_from_cart

    address = address or AddressFactory(user=user)
    cart_item_add(user=user, product_id=product.pk, quantity=quantity)
    result = order_create_from_cart(user=user, shipping_address_id=address.pk, payment_method=payment_method)
    return result.order, result.payment


@pytest.fixture
def card_order(user, product, address):
    """(order, payment): 2 x 24.50 + 5.00 shipping = 54.00 USD, PENDING, PaymentIntent on the fake."""
    return place_order(user, product, quantity=2, address=address)


@pytest.fixture
def localstripe_webhook(live_server, stripe_server, settings):
    """Make the fake Stripe deliver `payment_intent.succeeded` to our live server's webhook.

    localstripe keeps registrations for the whole session and cannot delete one, so on teardown
    the registration is pointed at an event type that never happens: later tests' payments are
    not delivered to a live server they know nothing about.
    """
    webhook_id = f"novacart-{uuid.uuid4().hex[:8]}"
    url = f"{stripe_server}/_config/webhooks/{webhook_id}"
    response = requests.post(
        url,
        data={
            "url": f"{live_server.url}{WEBHOOK_URL}",
            "secret": settings.STRIPE_WEBHOOK_SECRET,
            "events[]": ["payment_intent.succeeded"],
        },
        timeout=5,
    )
    response.raise_for_status()
    yield live_server
    requests.post(
        url,
        data={"url": "http://127.0.0.1:9/", "secret": "whsec_disabled", "events[]": ["novacart.never"]},
        timeout=5,
    ).raise_for_status()
