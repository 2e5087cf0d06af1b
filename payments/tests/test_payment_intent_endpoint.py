"""POST /api/payments/payment-intent/: the owner's pending card order, its (reused) PaymentIntent."""

from datetime import timedelta

import pytest
from django.utils import timezone

from conftest import client_for
from core.models import IdempotencyRecord
from orders.models import OrderStatus
from payments.models import Payment

from .conftest import PAYMENT_INTENT_URL, confirm_on_stripe, place_order, stripe_get, stripe_post

pytestmark = pytest.mark.django_db


def test_returns_the_orders_existing_intent(auth_client, card_order):
    order, payment = card_order
    response = auth_client.post(PAYMENT_INTENT_URL, {"order_id": order.pk}, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    on_stripe = stripe_get(f"payment_intents/{payment.payment_intent_id}")
    assert body == {
        "client_secret": on_stripe["client_secret"],
        "payment_intent_id": payment.payment_intent_id,
        "amount": 5400,
        "currency": "usd",
        "publishable_key": "pk_test_novacart",
    }
    assert Payment.objects.filter(order=order).count() == 1


def test_matching_client_amount_is_accepted(auth_client, card_order):
    order, payment = card_order
    response = auth_client.post(PAYMENT_INTENT_URL, {"order_id": order.pk, "amount": 5400}, format="json")
    assert response.status_code == 200
    assert response.json()["amount"] == 5400


@pytest.mark.parametrize("amount", [5399, 54, 0, 540000])
def test_client_amount_that_differs_is_400_amount_mismatch(auth_client, card_order, amount):
    order, payment = card_order
    response = auth_client.post(PAYMENT_INTENT_URL, {"order_id": order.pk, "amount": amount}, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "amount_mismatch"
    assert response.json()["expected_amount"] == 5400
    assert Payment.objects.filter(order=order).count() == 1
    assert stripe_get(f"payment_intents/{payment.payment_intent_id}")["amount"] == 5400


def test_another_users_order_is_404_and_reveals_nothing(other_client, card_order):
    order, payment = card_order
    response = other_client.post(PAYMENT_INTENT_URL, {"order_id": order.pk}, format="json")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    assert payment.client_secret not in response.content.decode()
    assert payment.payment_intent_id not in response.content.decode()


def test_missing_order_is_404(auth_client, db):
    response = auth_client.post(PAYMENT_INTENT_URL, {"order_id": 987654}, format="json")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_anonymous_is_401(api_client, card_order):
    order, _ = card_order
    response = api_client.post(PAYMENT_INTENT_URL, {"order_id": order.pk}, format="json")
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


@pytest.mark.parametrize(
    "payload",
    [{}, {"order_id": "abc"}, {"order_id": 0}, {"order_id": 1, "amount": -1}, {"order_id": 1, "amount": "x"}],
)
def test_invalid_input_is_400_in_the_validation_shape(auth_client, db, payload):
    response = auth_client.post(PAYMENT_INTENT_URL, payload, format="json")
    assert response.status_code == 400
    body = response.json()
    assert set(body) <= {"order_id", "amount"} and body


def test_cancelled_order_is_409_invalid_transition(auth_client, card_order):
    from orders.services import order_cancel

    order, _ = card_order
    order_cancel(order_id=order.pk, reason="changed my mind")
    response = auth_client.post(PAYMENT_INTENT_URL, {"order_id": order.pk}, format="json")
    assert response.status_code == 409
    assert response.json()["code"] == "invalid_transition"


def test_paid_order_is_409_invalid_transition(auth_client, card_order):
    from orders.services import order_mark_paid

    order, _ = card_order
    order_mark_paid(order_id=order.pk)
    response = auth_client.post(PAYMENT_INTENT_URL, {"order_id": order.pk}, format="json")
    assert response.status_code == 409
    assert response.json()["code"] == "invalid_transition"


def test_cash_on_delivery_order_is_409(auth_client, user, product, address):
    order, payment = place_order(user, product, payment_method="cod", address=address)
    assert payment is None
    response = auth_client.post(PAYMENT_INTENT_URL, {"order_id": order.pk}, format="json")
    assert response.status_code == 409
    assert response.json()["code"] == "invalid_transition"
    assert not Payment.objects.filter(order=order).exists()


def test_expired_but_not_yet_swept_order_is_409(auth_client, card_order):
    order, _ = card_order
    order.expires_at = timezone.now() - timedelta(minutes=1)
    order.save(update_fields=["expires_at"])
    response = auth_client.post(PAYMENT_INTENT_URL, {"order_id": order.pk}, format="json")
    assert response.status_code == 409
    assert response.json()["code"] == "invalid_transition"


def test_intent_cancelled_on_stripe_is_replaced_by_a_new_one(auth_client, card_order):
    order, payment = card_order
    assert stripe_post(f"payment_intents/{payment.payment_intent_id}/cancel", {}).status_code == 200
    response = auth_client.post(PAYMENT_INTENT_URL, {"order_id": order.pk}, format="json")
    assert response.status_code == 200
    body = response.json()
    assert body["payment_intent_id"] != payment.payment_intent_id
    assert body["amount"] == 5400
    payment.refresh_from_db()
    assert payment.status == Payment.Status.CANCELLED
    new = Payment.objects.get(payment_intent_id=body["payment_intent_id"])
    assert new.order_id == order.pk and new.status == Payment.Status.REQUIRES_PAYMENT
    on_stripe = stripe_get(f"payment_intents/{new.payment_intent_id}")
    assert on_stripe["amount"] == 5400
    assert on_stripe["metadata"]["order_id"] == str(order.pk)


def test_intent_missing_on_stripe_is_replaced(auth_client, card_order):
    order, payment = card_order
    Payment.objects.filter(pk=payment.pk).update(payment_intent_id="pi_vanished_on_stripe")
    response = auth_client.post(PAYMENT_INTENT_URL, {"order_id": order.pk}, format="json")
    assert response.status_code == 200
    assert response.json()["payment_intent_id"] not in (payment.payment_intent_id, "pi_vanished_on_stripe")
    assert Payment.objects.get(pk=payment.pk).status == Payment.Status.CANCELLED


def test_intent_with_a_stale_amount_is_cancelled_and_replaced(auth_client, card_order):
    order, payment = card_order
    stripe_post(f"payment_intents/{payment.payment_intent_id}", {"amount": 100}).raise_for_status()
    response = auth_client.post(PAYMENT_INTENT_URL, {"order_id": order.pk}, format="json")
    assert response.status_code == 200
    body = response.json()
    assert body["amount"] == 5400
    assert body["payment_intent_id"] != payment.payment_intent_id
    assert stripe_get(f"payment_intents/{payment.payment_intent_id}")["status"] == "canceled"
    assert stripe_get(f"payment_intents/{body['payment_intent_id']}")["amount"] == 5400


def test_declined_intent_is_reused_for_the_retry(auth_client, card_order):
    order, payment = card_order
    assert confirm_on_stripe(payment.payment_intent_id, "pm_card_chargeCustomerFail").status_code == 402
    response = auth_client.post(PAYMENT_INTENT_URL, {"order_id": order.pk}, format="json")
    assert response.status_code == 200
    assert response.json()["payment_intent_id"] == payment.payment_intent_id


def test_intent_already_paid_on_stripe_is_returned_not_duplicated(auth_client, card_order):
    """The customer paid, the webhook has not arrived yet: never offer a second intent."""
    order, payment = card_order
    confirm_on_stripe(payment.payment_intent_id)
    response = auth_client.post(PAYMENT_INTENT_URL, {"order_id": order.pk}, format="json")
    assert response.status_code == 200
    assert response.json()["payment_intent_id"] == payment.payment_intent_id
    assert Payment.objects.filter(order=order).count() == 1


def test_payment_under_review_is_409(auth_client, card_order):
    order, payment = card_order
    Payment.objects.filter(pk=payment.pk).update(status=Payment.Status.MISMATCH)
    response = auth_client.post(PAYMENT_INTENT_URL, {"order_id": order.pk}, format="json")
    assert response.status_code == 409
    assert response.json()["code"] == "payment_in_progress"
    assert Payment.objects.filter(order=order).count() == 1


def test_stripe_unreachable_is_502_and_nothing_changes(auth_client, card_order, closed_port_stripe):
    order, payment = card_order
    response = auth_client.post(
        PAYMENT_INTENT_URL, {"order_id": order.pk}, format="json", HTTP_IDEMPOTENCY_KEY="k-502"
    )
    assert response.status_code == 502
    assert response.json()["code"] == "payment_provider_error"
    payment.refresh_from_db()
    assert payment.status == Payment.Status.REQUIRES_PAYMENT
    assert Payment.objects.filter(order=order).count() == 1
    # The failed attempt did not burn the key.
    assert not IdempotencyRecord.objects.filter(key="k-502").exists()


def test_idempotency_key_replays_the_first_answer(auth_client, card_order):
    order, payment = card_order
    first = auth_client.post(
        PAYMENT_INTENT_URL, {"order_id": order.pk}, format="json", HTTP_IDEMPOTENCY_KEY="pay-1"
    )
    assert first.status_code == 200
    # Even if the intent is replaced on Stripe meanwhile, the same key replays the first answer.
    stripe_post(f"payment_intents/{payment.payment_intent_id}/cancel", {}).raise_for_status()
    second = auth_client.post(
        PAYMENT_INTENT_URL, {"order_id": order.pk}, format="json", HTTP_IDEMPOTENCY_KEY="pay-1"
    )
    assert second.status_code == 200
    assert second.json() == first.json()
    assert Payment.objects.filter(order=order).count() == 1
    assert IdempotencyRecord.objects.filter(key="pay-1", scope="payments.payment_intent").count() == 1


def test_idempotency_key_with_a_different_body_is_409(auth_client, card_order):
    order, _ = card_order
    assert (
        auth_client.post(
            PAYMENT_INTENT_URL, {"order_id": order.pk}, format="json", HTTP_IDEMPOTENCY_KEY="pay-2"
        ).status_code
        == 200
    )
    response = auth_client.post(
        PAYMENT_INTENT_URL,
        {"order_id": order.pk, "amount": 5400},
        format="json",
        HTTP_IDEMPOTENCY_KEY="pay-2",
    )
    assert response.status_code == 409
    assert response.json()["code"] == "idempotency_conflict"


def test_idempotency_key_is_per_user(card_order, other_user, product):
    """Another user's identical key neither replays nor blocks: each user has their own."""
    order, _ = card_order
    other_order, _ = place_order(other_user, product, quantity=1)
    mine = client_for(order.user).post(
        PAYMENT_INTENT_URL, {"order_id": order.pk}, format="json", HTTP_IDEMPOTENCY_KEY="same"
    )
    theirs = client_for(other_user).post(
        PAYMENT_INTENT_URL, {"order_id": other_order.pk}, format="json", HTTP_IDEMPOTENCY_KEY="same"
    )
    assert mine.status_code == theirs.status_code == 200
    assert mine.json()["payment_intent_id"] != theirs.json()["payment_intent_id"]
    assert theirs.json()["amount"] == 2950  # 24.50 + 5.00 shipping


def test_order_status_unchanged_by_the_endpoint(auth_client, card_order):
    order, _ = card_order
    auth_client.post(PAYMENT_INTENT_URL, {"order_id": order.pk}, format="json")
    order.refresh_from_db()
    assert order.status == OrderStatus.PENDING
