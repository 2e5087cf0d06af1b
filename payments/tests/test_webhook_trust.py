"""A correctly signed `payment_intent.succeeded` is not enough to pay an order: the server reads the
PaymentIntent back from Stripe and pays only on what Stripe holds. So a leaked webhook secret is no
way to get goods for free, and signatures dated in the future are refused like stale ones."""

import json
import time
from decimal import Decimal

import pytest
from django.core import mail

from orders.models import OrderStatus
from payments.models import Payment, WebhookEvent

from .conftest import WEBHOOK_URL, confirm_on_stripe, intent_event, sign, stripe_post

pytestmark = pytest.mark.django_db


def _claims_paid(event: dict, payment: Payment) -> dict:
    """What a forger with the webhook secret would send: the intent, claimed succeeded, for exactly
    the order's amount, currency and id."""
    event["data"]["object"].update(
        {
            "status": "succeeded",
            "amount": 5400,
            "amount_received": 5400,
            "currency": "usd",
            "metadata": {"order_id": str(payment.order_id), "order_number": payment.order.number},
        }
    )
    return event


def test_a_forged_success_for_an_unpaid_intent_pays_nothing(deliver, card_order):
    order, payment = card_order  # nothing was paid on Stripe: the intent requires a payment method
    forged = _claims_paid(intent_event(payment.payment_intent_id), payment)

    assert deliver(forged).status_code == 200

    order.refresh_from_db()
    payment.refresh_from_db()
    assert order.status == OrderStatus.PENDING
    assert payment.status == Payment.Status.REQUIRES_PAYMENT
    assert mail.outbox == []
    # The real payment, later, is accepted as usual.
    assert confirm_on_stripe(payment.payment_intent_id).json()["status"] == "succeeded"
    assert deliver(intent_event(payment.payment_intent_id)).status_code == 200
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID


@pytest.mark.parametrize(
    ("on_stripe", "problem"),
    [
        ({"amount": "100"}, "received 1.00 USD"),
        ({"metadata[order_id]": "999999"}, "metadata order_id '999999'"),
        ({"currency": "eur"}, "currency eur"),
    ],
    ids=["amount", "order", "currency"],
)
def test_a_forged_body_cannot_hide_what_stripe_holds(deliver, card_order, on_stripe, problem):
    order, payment = card_order
    stripe_post(f"payment_intents/{payment.payment_intent_id}", on_stripe).raise_for_status()
    assert confirm_on_stripe(payment.payment_intent_id).json()["status"] == "succeeded"
    forged = _claims_paid(intent_event(payment.payment_intent_id), payment)

    assert deliver(forged).status_code == 200

    order.refresh_from_db()
    payment.refresh_from_db()
    assert order.status == OrderStatus.PENDING
    assert payment.status == Payment.Status.MISMATCH
    assert problem in payment.last_error
    assert mail.outbox == []


def test_stripe_unreachable_during_the_check_is_retryable_and_records_nothing(deliver, card_order, settings):
    order, payment = card_order
    confirm_on_stripe(payment.payment_intent_id)
    event = intent_event(payment.payment_intent_id)
    real_base = settings.STRIPE_API_BASE

    settings.STRIPE_API_BASE = "http://127.0.0.1:9"  # nothing listens (discard port)
    response = deliver(event)

    assert response.status_code == 502
    assert response.json() == {
        "detail": "The payment provider could not be reached. Please try again.",
        "code": "payment_provider_error",
    }
    assert not WebhookEvent.objects.filter(event_id=event["id"]).exists()
    order.refresh_from_db()
    assert order.status == OrderStatus.PENDING

    settings.STRIPE_API_BASE = real_base
    assert deliver(event).status_code == 200  # Stripe's retry of the same event
    order.refresh_from_db()
    payment.refresh_from_db()
    assert order.status == OrderStatus.PAID
    assert payment.amount_received == Decimal("54.00")
    assert WebhookEvent.objects.get(event_id=event["id"]).processed_at is not None


def _post_signed_at(api_client, body: str, timestamp: int):
    return api_client.post(
        WEBHOOK_URL,
        data=body,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=sign(body, timestamp=timestamp),
    )


def test_a_signature_dated_beyond_the_tolerance_in_the_future_is_400(api_client, card_order, settings):
    order, payment = card_order
    confirm_on_stripe(payment.payment_intent_id)
    body = json.dumps(intent_event(payment.payment_intent_id))

    future = _post_signed_at(api_client, body, int(time.time()) + settings.STRIPE_WEBHOOK_TOLERANCE + 60)

    assert future.status_code == 400
    assert future.json()["code"] == "invalid_signature"
    assert not WebhookEvent.objects.exists()
    order.refresh_from_db()
    assert order.status == OrderStatus.PENDING

    # A small clock skew within the tolerance is still accepted.
    assert _post_signed_at(api_client, body, int(time.time()) + 30).status_code == 200
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID
