"""Payment services and selectors other apps call directly."""

from decimal import Decimal

import pytest

from core.exceptions import ApplicationError
from payments.models import Payment
from payments.selectors import payment_for_order, payment_refundable_amount
from payments.services import (
    payment_client_payload,
    payment_intent_create_for_order,
    payment_record_cash_collected,
    payment_refund_create,
)

from .conftest import confirm_on_stripe, deliver_intent_event, place_order, stripe_get, stripe_post

pytestmark = pytest.mark.django_db


def test_intent_is_created_for_the_server_total_with_order_metadata(card_order):
    order, payment = card_order
    assert payment.amount == order.total == Decimal("54.00")
    assert payment.status == Payment.Status.REQUIRES_PAYMENT
    on_stripe = stripe_get(f"payment_intents/{payment.payment_intent_id}")
    assert on_stripe["amount"] == 5400
    assert on_stripe["metadata"] == {"order_id": str(order.pk), "order_number": order.number}
    assert payment_client_payload(payment=payment) == {
        "client_secret": payment.client_secret,
        "payment_intent_id": payment.payment_intent_id,
        "amount": 5400,
        "currency": "usd",
        "publishable_key": "pk_test_novacart",
    }
    assert payment_for_order(order=order) == payment


def test_a_replacement_intent_uses_a_new_idempotency_key(card_order):
    """The fake Stripe ignores idempotency keys; real Stripe would replay the first intent for
    the same key, so a replacement must not reuse it."""
    from payments.services import _intent_idempotency_key

    order, payment = card_order
    second_key = _intent_idempotency_key(order=order)
    assert second_key == f"novacart-order-{order.pk}-{order.number}-pi-2"
    second = payment_intent_create_for_order(order=order)
    assert second.payment_intent_id != payment.payment_intent_id
    assert payment_for_order(order=order) == second


def test_cash_order_cannot_get_an_intent(user, product, address):
    order, _ = place_order(user, product, payment_method="cod", address=address)
    with pytest.raises(ApplicationError) as excinfo:
        payment_intent_create_for_order(order=order)
    assert excinfo.value.code == "invalid_payment_method"
    assert payment_for_order(order=order) is None


def test_cash_collected_is_recorded_once(user, product, address):
    order, _ = place_order(user, product, payment_method="cod", address=address)
    payment = payment_record_cash_collected(order=order)
    assert payment.provider == Payment.Provider.CASH
    assert payment.status == Payment.Status.SUCCEEDED
    assert payment.amount == payment.amount_received == order.total
    assert payment.succeeded_at is not None
    assert payment.payment_intent_id is None
    assert payment_record_cash_collected(order=order) == payment
    assert Payment.objects.filter(order=order).count() == 1


def test_cash_collected_refuses_a_card_order(card_order):
    order, _ = card_order
    with pytest.raises(ApplicationError):
        payment_record_cash_collected(order=order)


def test_refundable_amount_follows_stripe_refunds(api_client, card_order, django_capture_on_commit_callbacks):
    from .conftest import charge_refunded_event, post_event

    order, payment = card_order
    assert payment_refundable_amount(order=order) == Decimal("0.00")  # nothing captured yet
    confirm_on_stripe(payment.payment_intent_id)
    with django_capture_on_commit_callbacks(execute=True):
        deliver_intent_event(api_client, payment.payment_intent_id)
    assert payment_refundable_amount(order=order) == Decimal("54.00")
    payment_refund_create(order=order, amount=Decimal("4.00"))
    assert payment_refundable_amount(order=order) == Decimal("50.00")
    # A refund made in the Stripe Dashboard counts once its charge.refunded arrives.
    stripe_post("refunds", {"payment_intent": payment.payment_intent_id, "amount": 1000}).raise_for_status()
    post_event(api_client, charge_refunded_event(payment.payment_intent_id))
    assert payment_refundable_amount(order=order) == Decimal("40.00")
