"""One event delivered five times at once (Stripe retries overlapping a slow first delivery) is
processed exactly once: real threads, real PostgreSQL connections."""

import json

import pytest
from django.core import mail
from django.test import Client

from conftest import run_together
from orders.models import OrderEvent, OrderStatus
from payments.models import Payment, WebhookEvent

from .conftest import WEBHOOK_URL, confirm_on_stripe, intent_event, sign

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_same_event_five_times_concurrently_is_processed_once(card_order, product):
    order, payment = card_order
    confirm_on_stripe(payment.payment_intent_id)
    event = intent_event(payment.payment_intent_id)
    body = json.dumps(event)
    events_before = OrderEvent.objects.filter(order=order).count()
    mail.outbox.clear()

    clients = [Client() for _ in range(5)]

    results = run_together(
        5,
        lambda i: clients[i].post(
            WEBHOOK_URL, data=body, content_type="application/json", HTTP_STRIPE_SIGNATURE=sign(body)
        ),
        join=30,
    )

    errors = [result for result in results if isinstance(result, Exception)]
    assert errors == []
    statuses = [response.status_code for response in results]
    assert statuses == [200] * 5
    assert WebhookEvent.objects.filter(event_id=event["id"]).count() == 1
    order.refresh_from_db()
    payment.refresh_from_db()
    product.refresh_from_db()
    assert order.status == OrderStatus.PAID
    assert payment.status == Payment.Status.SUCCEEDED
    paid_events = OrderEvent.objects.filter(
        order=order, status=OrderStatus.PAID, from_status=OrderStatus.PENDING
    )
    assert paid_events.count() == 1
    assert OrderEvent.objects.filter(order=order).count() == events_before + 1
    assert len(mail.outbox) == 1
    assert product.stock == 8
