"""Stripe unreachable: 502 and nothing half-written (order creation, staff refund); cancelling
an intent is best effort."""

from decimal import Decimal

import pytest

from cart.models import CartItem
from core.exceptions import PaymentProviderError
from orders.models import Order, OrderEvent, OrderStatus
from payments import gateway
from payments.models import Payment, Refund
from payments.services import payment_intent_cancel_for_order, payment_refund_create

from .conftest import confirm_on_stripe, deliver_intent_event, stripe_get

pytestmark = pytest.mark.django_db


def test_order_creation_with_stripe_down_is_502_and_rolls_everything_back(
    auth_client, user, product, address, settings
):
    response = auth_client.post("/api/cart/add/", {"product_id": product.pk, "quantity": 3}, format="json")
    assert response.status_code == 201
    settings.STRIPE_API_BASE = "http://127.0.0.1:9"  # nothing listens there

    response = auth_client.post(
        "/api/orders/create/", {"shipping_address_id": address.pk, "payment_method": "card"}, format="json"
    )
    assert response.status_code == 502
    assert response.json()["code"] == "payment_provider_error"
    assert Order.objects.count() == 0
    assert OrderEvent.objects.count() == 0
    assert Payment.objects.count() == 0
    product.refresh_from_db()
    assert product.stock == 10
    assert list(CartItem.objects.filter(cart__user=user).values_list("product_id", "quantity")) == [
        (product.pk, 3)
    ]


def test_order_creation_with_closed_port_fixture(auth_client, user, product, address, closed_port_stripe):
    auth_client.post("/api/cart/add/", {"product_id": product.pk, "quantity": 1}, format="json")
    response = auth_client.post(
        "/api/orders/create/",
        {"shipping_address_id": address.pk, "payment_method": "card"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="checkout-1",
    )
    assert response.status_code == 502
    assert Order.objects.count() == 0
    assert CartItem.objects.filter(cart__user=user).count() == 1


@pytest.fixture
def paid_order(api_client, card_order, django_capture_on_commit_callbacks):
    order, payment = card_order
    confirm_on_stripe(payment.payment_intent_id)
    with django_capture_on_commit_callbacks(execute=True):
        assert deliver_intent_event(api_client, payment.payment_intent_id).status_code == 200
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID
    return order, payment


def test_staff_refund_with_stripe_down_is_502_and_leaves_the_order_paid(
    staff_client, paid_order, product, settings
):
    order, payment = paid_order
    events_before = OrderEvent.objects.filter(order=order).count()
    settings.STRIPE_API_BASE = "http://127.0.0.1:9"
    response = staff_client.post(f"/api/orders/{order.pk}/refund/", {"reason": "damaged"}, format="json")
    assert response.status_code == 502
    assert response.json()["code"] == "payment_provider_error"
    order.refresh_from_db()
    payment.refresh_from_db()
    product.refresh_from_db()
    assert order.status == OrderStatus.PAID
    assert order.amount_refunded == 0
    assert payment.status == Payment.Status.SUCCEEDED
    assert payment.amount_refunded == 0
    assert not Refund.objects.exists()
    assert product.stock == 8
    assert OrderEvent.objects.filter(order=order).count() == events_before
    assert set(order.items.values_list("status", flat=True)) == {"ACTIVE"}


def test_staff_refund_when_stripe_is_up_refunds_in_full(staff_client, paid_order, product):
    order, payment = paid_order
    response = staff_client.post(f"/api/orders/{order.pk}/refund/", {"reason": "damaged"}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "REFUNDED"
    refund = Refund.objects.get()
    assert refund.amount == Decimal("54.00")
    assert stripe_get(f"refunds/{refund.stripe_refund_id}")["amount"] == 5400
    payment.refresh_from_db()
    assert payment.status == Payment.Status.REFUNDED
    product.refresh_from_db()
    assert product.stock == 10


def test_refund_service_never_refunds_more_than_was_paid(paid_order):
    order, payment = paid_order
    (item,) = order.items.all()
    with pytest.raises(Exception) as excinfo:
        payment_refund_create(order=order, amount=Decimal("54.01"))
    assert excinfo.value.code == "refund_exceeds_payment"
    with pytest.raises(Exception) as excinfo:
        payment_refund_create(order=order, amount=Decimal("0.00"))
    assert excinfo.value.code == "invalid_amount"
    payment_refund_create(order=order, amount=Decimal("50.00"), order_item=item)
    with pytest.raises(Exception) as excinfo:
        payment_refund_create(order=order, amount=Decimal("4.01"))
    assert excinfo.value.code == "refund_exceeds_payment"
    refund = payment_refund_create(order=order, amount=Decimal("4.00"))
    payment.refresh_from_db()
    assert payment.amount_refunded == Decimal("54.00")
    assert payment.status == Payment.Status.REFUNDED
    assert refund.succeeded and refund.amount == Decimal("4.00")
    assert Refund.objects.count() == 2


def test_a_line_refunded_again_for_more_gets_only_the_difference(paid_order):
    # The same line asked for more (it became the last line and owes the shipping fee too): the
    # first refund stands and only the difference is paid out, once however often it is asked.
    order, payment = paid_order
    (item,) = order.items.all()
    first = payment_refund_create(order=order, amount=Decimal("30.00"), order_item=item)
    again = payment_refund_create(order=order, amount=Decimal("30.00"), order_item=item)
    more = payment_refund_create(order=order, amount=Decimal("34.00"), order_item=item)
    more_again = payment_refund_create(order=order, amount=Decimal("34.00"), order_item=item)

    assert [r.pk for r in again.refunds] == [r.pk for r in first.refunds]
    assert more.amount == more_again.amount == Decimal("34.00")
    assert sorted(r.amount for r in more.refunds) == [Decimal("4.00"), Decimal("30.00")]
    stripe_minor = [int(r.amount) for r in gateway.list_refunds(payment.payment_intent_id)]
    assert sorted(stripe_minor) == [400, 3000]
    payment.refresh_from_db()
    assert payment.amount_refunded == Decimal("34.00")


def test_refund_service_with_stripe_down_writes_nothing(paid_order, closed_port_stripe):
    order, payment = paid_order
    with pytest.raises(PaymentProviderError):
        payment_refund_create(order=order, amount=Decimal("5.00"))
    payment.refresh_from_db()
    assert payment.amount_refunded == 0
    assert not Refund.objects.exists()


def test_refund_of_an_unpaid_order_is_409_no_payment(card_order):
    order, _ = card_order
    with pytest.raises(Exception) as excinfo:
        payment_refund_create(order=order, amount=Decimal("1.00"))
    assert excinfo.value.code == "no_payment"
    assert excinfo.value.status_code == 409


def test_cancel_for_order_cancels_the_intent_on_stripe(card_order):
    order, payment = card_order
    payment_intent_cancel_for_order(order=order)
    payment.refresh_from_db()
    assert payment.status == Payment.Status.CANCELLED
    assert stripe_get(f"payment_intents/{payment.payment_intent_id}")["status"] == "canceled"
    # Twice is harmless (only open payments are touched).
    payment_intent_cancel_for_order(order=order)
    assert Payment.objects.get(pk=payment.pk).status == Payment.Status.CANCELLED


def test_cancel_for_order_of_an_intent_already_cancelled_on_stripe(card_order):
    from .conftest import stripe_post

    order, payment = card_order
    stripe_post(f"payment_intents/{payment.payment_intent_id}/cancel", {}).raise_for_status()
    payment_intent_cancel_for_order(order=order)
    payment.refresh_from_db()
    assert payment.status == Payment.Status.CANCELLED
    assert payment.last_error == ""


def test_cancel_for_order_with_stripe_down_is_best_effort(card_order, closed_port_stripe):
    order, payment = card_order
    payment_intent_cancel_for_order(order=order)  # does not raise
    payment.refresh_from_db()
    assert payment.status == Payment.Status.REQUIRES_PAYMENT
    assert payment.last_error.startswith("Cancel failed: APIConnectionError")


def test_user_cancel_with_stripe_down_still_cancels_the_order(
    auth_client, card_order, product, closed_port_stripe
):
    order, payment = card_order
    response = auth_client.post(f"/api/orders/cancel/{order.pk}/", {}, format="json")
    assert response.status_code == 200, response.content
    order.refresh_from_db()
    payment.refresh_from_db()
    product.refresh_from_db()
    assert order.status == OrderStatus.CANCELLED
    assert product.stock == 10
    assert payment.last_error.startswith("Cancel failed")


def test_cancel_after_payment_succeeded_on_stripe_records_the_error(card_order):
    order, payment = card_order
    confirm_on_stripe(payment.payment_intent_id)
    payment_intent_cancel_for_order(order=order)
    payment.refresh_from_db()
    assert payment.status == Payment.Status.REQUIRES_PAYMENT  # the webhook will settle (refund) it
    assert payment.last_error.startswith("Cancel failed: InvalidRequestError")


def test_list_refunds_reads_every_page(paid_order):
    # One page holds 100 refunds; a 101st, unseen, would have been refunded a second time.
    order, payment = paid_order
    client = gateway.stripe_client()
    for n in range(101):
        client.v1.refunds.create(
            params={"payment_intent": payment.payment_intent_id, "amount": 1, "metadata": {"n": str(n)}}
        )

    refunds = gateway.list_refunds(payment.payment_intent_id)

    assert sorted(int(r.metadata["n"]) for r in refunds) == list(range(101))
