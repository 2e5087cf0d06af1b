"""What each Stripe event does to our payments and orders (events signed by the test, objects
read back from the fake Stripe after acting on it as a browser or the Dashboard would)."""

from decimal import Decimal

import pytest
from django.core import mail

from orders.models import ItemStatus, OrderEvent, OrderStatus
from payments.models import Payment, Refund, WebhookEvent
from payments.services import payment_intent_create_for_order

from .conftest import (
    charge_refunded_event,
    confirm_on_stripe,
    intent_event,
    stripe_get,
    stripe_post,
)

pytestmark = pytest.mark.django_db


def _notes(order):
    return list(OrderEvent.objects.filter(order=order).values_list("note", flat=True))


def _paid(deliver, card_order):
    order, payment = card_order
    assert confirm_on_stripe(payment.payment_intent_id).json()["status"] == "succeeded"
    assert deliver(intent_event(payment.payment_intent_id)).status_code == 200
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID
    return order, payment


# --- payment_intent.succeeded -------------------------------------------------------------------


def test_succeeded_marks_the_order_paid_once_with_one_email(deliver, card_order, product):
    order, payment = card_order
    confirm_on_stripe(payment.payment_intent_id)
    response = deliver(intent_event(payment.payment_intent_id))
    assert response.status_code == 200
    order.refresh_from_db()
    payment.refresh_from_db()
    product.refresh_from_db()
    assert order.status == OrderStatus.PAID
    assert order.paid_at is not None
    assert payment.status == Payment.Status.SUCCEEDED
    assert payment.amount_received == Decimal("54.00")
    assert payment.succeeded_at is not None
    assert product.stock == 8
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == [order.user.email]


def test_same_intent_under_a_new_event_id_is_a_no_op(deliver, card_order, product):
    order, payment = _paid(deliver, card_order)
    events_before = _notes(order)
    response = deliver(intent_event(payment.payment_intent_id))  # a new event id, same intent
    assert response.status_code == 200
    assert response.json()["duplicate"] is False
    assert WebhookEvent.objects.count() == 2
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID
    assert _notes(order) == events_before
    assert len(mail.outbox) == 1
    assert not Refund.objects.exists()
    product.refresh_from_db()
    assert product.stock == 8


@pytest.mark.parametrize("how", ["expired", "cancelled by the customer"])
def test_succeeded_after_the_order_was_cancelled_is_refunded_automatically(deliver, card_order, product, how):
    from orders.services import order_cancel, order_expire_pending

    order, payment = card_order
    # The customer pays; before the webhook arrives the order is cancelled (its intent can no
    # longer be cancelled on Stripe: it already succeeded).
    confirm_on_stripe(payment.payment_intent_id)
    if how == "expired":
        order.expires_at = order.created_at
        order.save(update_fields=["expires_at"])
        assert order_expire_pending() == 1
    else:
        order_cancel(order_id=order.pk, reason="changed my mind")
    order.refresh_from_db()
    product.refresh_from_db()
    assert order.status == OrderStatus.CANCELLED
    assert product.stock == 10
    mail.outbox.clear()

    response = deliver(intent_event(payment.payment_intent_id))
    assert response.status_code == 200

    order.refresh_from_db()
    payment.refresh_from_db()
    product.refresh_from_db()
    assert order.status == OrderStatus.CANCELLED
    assert product.stock == 10  # not taken a second time
    assert payment.status == Payment.Status.REFUNDED
    assert payment.amount_received == payment.amount_refunded == Decimal("54.00")
    refund = Refund.objects.get(payment=payment)
    assert refund.amount == Decimal("54.00")
    assert refund.status == Refund.Status.SUCCEEDED
    on_stripe = stripe_get(f"refunds/{refund.stripe_refund_id}")
    assert on_stripe["amount"] == 5400
    assert on_stripe["payment_intent"] == payment.payment_intent_id
    assert any("refunded automatically" in note for note in _notes(order))
    assert mail.outbox == []  # no confirmation for an order that is not going out

    # A redelivery under a new event id refunds nothing more.
    deliver(intent_event(payment.payment_intent_id))
    assert Refund.objects.count() == 1
    charge = stripe_get(
        f"charges/{stripe_get(f'payment_intents/{payment.payment_intent_id}')['latest_charge']['id']}"
    )
    assert charge["amount_refunded"] == 5400


def test_a_payment_past_expires_at_that_beats_the_sweeper_pays_the_order(deliver, card_order, product):
    """The deadline stops new payment attempts (the payment-intent endpoint answers 409), but a
    payment already under way that succeeds before the sweeper cancels the order is kept: its
    stock is still reserved, and refunding it would make the customer pay again. The order row
    lock decides between the two: whichever comes first wins, and the other changes nothing."""
    from orders.services import order_expire_pending

    order, payment = card_order
    confirm_on_stripe(payment.payment_intent_id)
    order.expires_at = order.created_at
    order.save(update_fields=["expires_at"])

    assert deliver(intent_event(payment.payment_intent_id)).status_code == 200

    order.refresh_from_db()
    product.refresh_from_db()
    assert order.status == OrderStatus.PAID
    assert product.stock == 8
    assert not Refund.objects.exists()
    assert order_expire_pending() == 0  # the sweeper leaves a paid order alone
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID


def test_auto_refund_with_stripe_down_answers_502_and_is_retried(deliver, card_order, settings):
    from orders.services import order_cancel

    order, payment = card_order
    confirm_on_stripe(payment.payment_intent_id)
    order_cancel(order_id=order.pk, reason="changed my mind")
    event = intent_event(payment.payment_intent_id)
    real_base = settings.STRIPE_API_BASE

    settings.STRIPE_API_BASE = "http://127.0.0.1:9"  # nothing listens (discard port)
    response = deliver(event)
    assert response.status_code == 502
    assert response.json()["code"] == "payment_provider_error"
    assert not WebhookEvent.objects.filter(event_id=event["id"]).exists()
    assert not Refund.objects.exists()

    settings.STRIPE_API_BASE = real_base
    assert deliver(event).status_code == 200  # Stripe's retry of the same event
    payment.refresh_from_db()
    assert payment.status == Payment.Status.REFUNDED
    assert Refund.objects.count() == 1


def test_a_second_intent_paid_for_an_already_paid_order_is_refunded(deliver, card_order):
    order, first = card_order
    second = payment_intent_create_for_order(order=order)  # e.g. a stale second browser tab
    confirm_on_stripe(first.payment_intent_id)
    confirm_on_stripe(second.payment_intent_id)
    deliver(intent_event(first.payment_intent_id))
    deliver(intent_event(second.payment_intent_id))
    order.refresh_from_db()
    first.refresh_from_db()
    second.refresh_from_db()
    assert order.status == OrderStatus.PAID
    assert first.status == Payment.Status.SUCCEEDED
    assert second.status == Payment.Status.REFUNDED
    refund = Refund.objects.get()
    assert refund.payment == second
    assert stripe_get(f"refunds/{refund.stripe_refund_id}")["amount"] == 5400
    assert len(mail.outbox) == 1


def test_intent_amount_changed_on_stripe_does_not_pay_the_order(deliver, card_order, product):
    order, payment = card_order
    stripe_post(f"payment_intents/{payment.payment_intent_id}", {"amount": 100}).raise_for_status()
    assert confirm_on_stripe(payment.payment_intent_id).json()["status"] == "succeeded"
    assert deliver(intent_event(payment.payment_intent_id)).status_code == 200
    order.refresh_from_db()
    payment.refresh_from_db()
    assert order.status == OrderStatus.PENDING
    assert payment.status == Payment.Status.MISMATCH
    assert payment.amount_received == Decimal("1.00")
    assert "received 1.00 USD" in payment.last_error
    assert any("not accepted" in note and "54.00" in note for note in _notes(order))
    assert mail.outbox == []
    product.refresh_from_db()
    assert product.stock == 8


@pytest.mark.parametrize(
    "change",
    [
        {"amount_received": 5399},
        {"amount_received": 540000},
        {"currency": "eur"},
        {"metadata": {"order_id": "999999", "order_number": "X"}},
    ],
    ids=["less", "more", "currency", "other-order"],
)
def test_the_event_body_is_not_believed_stripes_copy_decides(deliver, card_order, change):
    # The event only names the intent; amount, currency and order are read back from Stripe. Here
    # Stripe holds the right payment, so whatever the (signed) body claims, the order is paid.
    order, payment = card_order
    confirm_on_stripe(payment.payment_intent_id)
    event = intent_event(payment.payment_intent_id)
    event["data"]["object"].update(change)
    assert deliver(event).status_code == 200
    order.refresh_from_db()
    payment.refresh_from_db()
    assert order.status == OrderStatus.PAID
    assert payment.status == Payment.Status.SUCCEEDED
    assert payment.amount_received == Decimal("54.00")


# --- payment_intent.payment_failed ----------------------------------------------------------------


def test_declined_card_keeps_the_order_pending_with_the_reason(deliver, card_order, product):
    order, payment = card_order
    declined = confirm_on_stripe(payment.payment_intent_id, "pm_card_chargeCustomerFail")
    assert declined.status_code == 402
    response = deliver(intent_event(payment.payment_intent_id, "payment_intent.payment_failed"))
    assert response.status_code == 200
    order.refresh_from_db()
    payment.refresh_from_db()
    assert order.status == OrderStatus.PENDING
    assert payment.status == Payment.Status.FAILED
    assert payment.last_error == "Your card was declined. (card_declined)"
    assert any(
        note == "Card payment failed: Your card was declined. (card_declined)" for note in _notes(order)
    )
    product.refresh_from_db()
    assert product.stock == 8

    assert mail.outbox == []
    # (A retry on the same intent is how real Stripe works; the fake cannot confirm an intent
    # again after a declined charge, so that part is not exercised here.)


def test_late_failure_event_does_not_undo_a_payment(deliver, card_order):
    order, payment = card_order
    confirm_on_stripe(payment.payment_intent_id)
    # An earlier attempt's failure, delivered after the success.
    failed_event = intent_event(payment.payment_intent_id, "payment_intent.payment_failed")
    failed_event["data"]["object"].update(
        status="requires_payment_method",
        last_payment_error={"code": "card_declined", "message": "Your card was declined."},
    )
    deliver(intent_event(payment.payment_intent_id))
    assert deliver(failed_event).status_code == 200
    order.refresh_from_db()
    payment.refresh_from_db()
    assert order.status == OrderStatus.PAID
    assert payment.status == Payment.Status.SUCCEEDED
    assert not any("failed" in note for note in _notes(order))


def test_succeeded_event_whose_intent_has_not_succeeded_is_ignored(deliver, card_order):
    order, payment = card_order
    event = intent_event(payment.payment_intent_id)  # still requires_payment_method on Stripe
    assert deliver(event).status_code == 200
    order.refresh_from_db()
    payment.refresh_from_db()
    assert order.status == OrderStatus.PENDING
    assert payment.status == Payment.Status.REQUIRES_PAYMENT


# --- charge.refunded ------------------------------------------------------------------------------


def test_full_refund_on_stripe_marks_a_paid_order_refunded(deliver, card_order, product):
    order, payment = _paid(deliver, card_order)
    refund = stripe_post("refunds", {"payment_intent": payment.payment_intent_id}).json()  # the Dashboard
    assert deliver(charge_refunded_event(payment.payment_intent_id)).status_code == 200
    order.refresh_from_db()
    payment.refresh_from_db()
    product.refresh_from_db()
    assert order.status == OrderStatus.REFUNDED
    assert payment.status == Payment.Status.REFUNDED
    assert payment.amount_refunded == Decimal("54.00")
    assert product.stock == 10  # stock released
    row = Refund.objects.get(stripe_refund_id=refund["id"])
    assert row.amount == Decimal("54.00") and row.status == Refund.Status.SUCCEEDED
    assert set(order.items.values_list("status", flat=True)) == {ItemStatus.REFUNDED}


def test_partial_refund_is_recorded_not_treated_as_full(deliver, card_order, product):
    order, payment = _paid(deliver, card_order)
    stripe_post("refunds", {"payment_intent": payment.payment_intent_id, "amount": 1000}).raise_for_status()
    deliver(charge_refunded_event(payment.payment_intent_id))
    order.refresh_from_db()
    payment.refresh_from_db()
    product.refresh_from_db()
    assert order.status == OrderStatus.PAID
    assert payment.status == Payment.Status.PARTIALLY_REFUNDED
    assert payment.amount_refunded == Decimal("10.00")
    assert product.stock == 8
    assert any(note.startswith("Partial refund recorded: 10.00 USD of 54.00 USD") for note in _notes(order))

    # The same state redelivered under another event id counts nothing twice.
    deliver(charge_refunded_event(payment.payment_intent_id))
    payment.refresh_from_db()
    assert payment.amount_refunded == Decimal("10.00")
    assert Refund.objects.count() == 1
    assert sum(note.startswith("Partial refund") for note in _notes(order)) == 1

    # The rest is refunded later: now it is full.
    stripe_post("refunds", {"payment_intent": payment.payment_intent_id, "amount": 4400}).raise_for_status()
    deliver(charge_refunded_event(payment.payment_intent_id))
    order.refresh_from_db()
    payment.refresh_from_db()
    assert order.status == OrderStatus.REFUNDED
    assert payment.status == Payment.Status.REFUNDED
    assert payment.amount_refunded == Decimal("54.00")
    assert Refund.objects.count() == 2


def test_our_own_staff_refund_is_not_counted_twice(deliver, card_order, staff_user):
    from orders.services import order_refund

    order, payment = _paid(deliver, card_order)
    order_refund(order_id=order.pk, actor=staff_user, reason="damaged")
    payment.refresh_from_db()
    assert payment.amount_refunded == Decimal("54.00")
    deliver(charge_refunded_event(payment.payment_intent_id))
    deliver(charge_refunded_event(payment.payment_intent_id, with_refund_list=False))
    order.refresh_from_db()
    payment.refresh_from_db()
    assert order.status == OrderStatus.REFUNDED
    assert payment.amount_refunded == Decimal("54.00")
    assert payment.status == Payment.Status.REFUNDED
    assert Refund.objects.count() == 1
    assert stripe_get(f"refunds/{Refund.objects.get().stripe_refund_id}")["amount"] == 5400


def test_pending_item_refund_is_confirmed_by_the_event(deliver, card_order, user):
    """A line refund Stripe had not finished: the line stays REFUND_REQUESTED until charge.refunded."""
    from orders.services import order_item_cancel

    order, payment = _paid(deliver, card_order)
    item = order.items.get()
    # Two units on one line: cancel it (the whole order's only line, so shipping comes back too).
    order_item_cancel(order_id=order.pk, item_id=item.pk, user=user, reason="too big")
    refund = Refund.objects.get()
    # Pretend Stripe answered `pending` (real Stripe can; the fake always says succeeded).
    Refund.objects.filter(pk=refund.pk).update(status=Refund.Status.PENDING)
    item.refresh_from_db()
    order.refresh_from_db()
    if item.status == ItemStatus.REFUNDED:
        type(item).objects.filter(pk=item.pk).update(status=ItemStatus.REFUND_REQUESTED)
        type(order).objects.filter(pk=order.pk).update(status=OrderStatus.PAID)

    deliver(charge_refunded_event(payment.payment_intent_id))
    refund.refresh_from_db()
    item.refresh_from_db()
    order.refresh_from_db()
    assert refund.status == Refund.Status.SUCCEEDED
    assert item.status == ItemStatus.REFUNDED
    assert order.status == OrderStatus.REFUNDED


def test_pending_refunds_are_confirmed_when_the_charge_lists_none(deliver, card_order, user):
    from payments.services import payment_refund_create

    order, payment = _paid(deliver, card_order)
    (refund,) = payment_refund_create(order=order, amount=Decimal("4.00"), reason="goodwill").refunds
    Refund.objects.filter(pk=refund.pk).update(status=Refund.Status.PENDING)
    deliver(charge_refunded_event(payment.payment_intent_id, with_refund_list=False))
    refund.refresh_from_db()
    payment.refresh_from_db()
    assert refund.status == Refund.Status.SUCCEEDED
    assert payment.amount_refunded == Decimal("4.00")
    assert payment.status == Payment.Status.PARTIALLY_REFUNDED


def test_refund_event_before_the_success_event_is_retried_later(deliver, card_order):
    """Stripe does not promise delivery order: a refund reported before the payment's success."""
    order, payment = card_order
    confirm_on_stripe(payment.payment_intent_id)
    stripe_post("refunds", {"payment_intent": payment.payment_intent_id, "amount": 1000}).raise_for_status()
    refund_event = charge_refunded_event(payment.payment_intent_id)

    early = deliver(refund_event)
    assert early.status_code == 503
    assert early.json()["code"] == "payment_not_settled"
    assert not WebhookEvent.objects.filter(event_id=refund_event["id"]).exists()
    assert not Refund.objects.exists()

    deliver(intent_event(payment.payment_intent_id))
    assert deliver(refund_event).status_code == 200  # Stripe's retry
    order.refresh_from_db()
    payment.refresh_from_db()
    assert order.status == OrderStatus.PAID
    assert payment.status == Payment.Status.PARTIALLY_REFUNDED
    assert payment.amount_refunded == Decimal("10.00")


def test_refund_event_for_an_unknown_charge_changes_nothing(deliver, card_order):
    order, payment = _paid(deliver, card_order)
    event = charge_refunded_event(payment.payment_intent_id)
    event["data"]["object"]["payment_intent"] = "pi_someone_elses"
    event["data"]["object"]["amount_refunded"] = event["data"]["object"]["amount"]
    assert deliver(event).status_code == 200
    order.refresh_from_db()
    payment.refresh_from_db()
    assert order.status == OrderStatus.PAID
    assert payment.amount_refunded == 0
