"""Card payments through the storefront profile, end to end against the fake Stripe (localstripe):
payment-intent places the order, the browser confirms with Stripe.js, Stripe's signed webhook
marks it paid; then lines of the paid order are cancelled one by one and refunded."""

from decimal import Decimal

import pytest

from addresses.tests.factories import AddressFactory
from orders.models import ItemStatus, Order, OrderStatus
from payments import gateway
from payments.models import Payment, Refund
from payments.tests.conftest import confirm_on_stripe, deliver_intent_event, stripe_get
from products.tests.factories import ProductFactory

from .conftest import BEARER_NULL, cart_of, fill_cart, is_number, stock, url

pytestmark = [pytest.mark.django_db, pytest.mark.stripe]


def pay_through_the_storefront(client, api_client, user, address, capture) -> Order:
    """What the storefront does: payment-intent, Stripe.js confirm, then Stripe calls our webhook."""
    response = client.post(url("/payments/payment-intent/"), {"address_id": address.pk})
    assert response.status_code == 200, response.content
    payment = Payment.objects.get(client_secret=response.json()["client_secret"])
    assert confirm_on_stripe(payment.payment_intent_id).json()["status"] == "succeeded"
    with capture(execute=True):
        assert deliver_intent_event(api_client, payment.payment_intent_id).status_code == 200
    order = Order.objects.get(pk=payment.order_id)
    assert order.status == OrderStatus.PAID
    return order


def test_card_checkout_end_to_end(
    auth_client, api_client, user, address, book, mailoutbox, django_capture_on_commit_callbacks
):
    fill_cart(user, [(book, 2)])  # 39.98 + 5.00 shipping

    response = auth_client.post(url("/payments/payment-intent/"), {"address_id": address.pk})

    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) == {"client_secret", "amount"}
    assert is_number(body["amount"]) and body["amount"] == 44.98
    order = Order.objects.get(user=user)
    payment = Payment.objects.get(order=order)
    assert order.payment_method == "card" and order.status == OrderStatus.PENDING
    on_stripe = stripe_get(f"payment_intents/{payment.payment_intent_id}")
    assert body["client_secret"] == on_stripe["client_secret"]
    assert on_stripe["amount"] == 4498
    assert cart_of(user) == []  # the cart became the order
    assert stock(book) == 8  # stock is reserved
    # Awaiting Stripe: latest shows it, my orders does not.
    assert auth_client.get(url("/orders/latest/")).json()["items"][0]["quantity"] == 2
    assert auth_client.get(url("/orders/my/")).json()["results"] == []

    # The browser confirms with Stripe.js and calls nothing else; Stripe calls the webhook.
    assert confirm_on_stripe(payment.payment_intent_id).json()["status"] == "succeeded"
    with django_capture_on_commit_callbacks(execute=True):
        assert deliver_intent_event(api_client, payment.payment_intent_id).status_code == 200

    order.refresh_from_db()
    assert order.status == OrderStatus.PAID
    latest = auth_client.get(url("/orders/latest/"))
    assert latest.status_code == 200
    assert [(i["product_title"], i["quantity"]) for i in latest.json()["items"]] == [("Penguin", 2)]
    assert latest.json()["estimated_delivery"] == order.estimated_delivery.isoformat()
    listed = auth_client.get(url("/orders/my/")).json()["results"]
    assert [(o["id"], o["status"]) for o in listed] == [(order.pk, "CONFIRMED")]
    assert [i["status"] for i in listed[0]["items"]] == ["CONFIRMED"]
    item = order.items.get()
    detail = auth_client.get(url("/orders/cancel-item/"), {"orderId": order.pk, "itemId": item.pk}).json()
    assert detail["payment_method"] == "Online Payment"
    assert detail["status"] == "CONFIRMED"
    assert [m.to for m in mailoutbox] == [[user.email]]  # the confirmation, once


def test_payment_intent_with_an_empty_cart_is_400(auth_client, user, address):
    response = auth_client.post(url("/payments/payment-intent/"), {"address_id": address.pk})
    assert response.status_code == 400
    assert response.json()["code"] == "cart_empty"
    assert not Order.objects.exists()


def test_payment_intent_with_another_users_address_is_404(auth_client, user, other_address, book):
    fill_cart(user, [(book, 1)])
    response = auth_client.post(url("/payments/payment-intent/"), {"address_id": other_address.pk})
    assert response.status_code == 404
    assert not Order.objects.exists() and not Payment.objects.exists()
    assert cart_of(user) == [(book.pk, 1)]
    assert stock(book) == 10


@pytest.mark.parametrize("payload", [{}, {"address_id": "x"}, {"address_id": 0}, {"order_id": 1}])
def test_payment_intent_invalid_payload_is_400(auth_client, user, book, payload):
    fill_cart(user, [(book, 1)])
    response = auth_client.post(url("/payments/payment-intent/"), payload, format="json")
    assert response.status_code == 400
    assert "address_id" in response.json()
    assert not Order.objects.exists()


def test_payment_intent_when_stripe_is_down_is_502_and_changes_nothing(
    auth_client, user, address, book, closed_port_stripe
):
    fill_cart(user, [(book, 1)])
    response = auth_client.post(url("/payments/payment-intent/"), {"address_id": address.pk})
    assert response.status_code == 502
    assert response.json()["code"] == "payment_provider_error"
    assert not Order.objects.exists()
    assert cart_of(user) == [(book.pk, 1)]
    assert stock(book) == 10


@pytest.mark.parametrize("header", [None, BEARER_NULL])
def test_payment_intent_needs_a_valid_token(api_client, db, header):
    kwargs = {"HTTP_AUTHORIZATION": header} if header else {}
    assert api_client.post(url("/payments/payment-intent/"), {"address_id": 1}, **kwargs).status_code == 401


def test_paid_lines_cancelled_one_by_one_are_refunded_exactly(
    auth_client, api_client, user, address, category, django_capture_on_commit_callbacks
):
    lamp = ProductFactory(name="Lamp", brand="Lumen", price=Decimal("30.00"), stock=5, category=category)
    mug = ProductFactory(name="Mug", brand="Clay", price=Decimal("12.50"), stock=5, category=category)
    fill_cart(user, [(lamp, 1), (mug, 2)])  # 30.00 + 25.00 = 55.00: ships free, so paid = the lines
    order = pay_through_the_storefront(
        auth_client, api_client, user, address, django_capture_on_commit_callbacks
    )
    assert order.total == Decimal("55.00")
    payment = Payment.objects.get(order=order)
    line_lamp, line_mug = order.items.order_by("id")

    first = auth_client.post(
        url("/orders/cancel-item/"),
        {"orderId": str(order.pk), "itemId": str(line_mug.pk), "reason": "Broken"},
    )

    assert first.status_code == 200, first.content
    assert first.json()["status"] in {"REFUND_REQUESTED", "REFUNDED"}
    assert first.json()["payment_method"] == "Online Payment"
    assert [(r.order_item_id, r.amount) for r in Refund.objects.filter(payment=payment)] == [
        (line_mug.pk, Decimal("25.00"))
    ]
    assert Order.objects.get(pk=order.pk).status == OrderStatus.PAID
    assert stock(mug) == 5
    listed = auth_client.get(url("/orders/my/")).json()["results"][0]
    assert listed["status"] == "CONFIRMED"
    assert {i["id"]: i["status"] for i in listed["items"]}[line_lamp.pk] == "CONFIRMED"

    second = auth_client.post(
        url("/orders/cancel-item/"), {"orderId": order.pk, "itemId": line_lamp.pk, "reason": "Not needed"}
    )

    assert second.status_code == 200, second.content
    refunds = list(Refund.objects.filter(payment=payment).order_by("id"))
    assert [(r.order_item_id, r.amount) for r in refunds] == [
        (line_mug.pk, Decimal("25.00")),
        (line_lamp.pk, Decimal("30.00")),
    ]
    assert sum(r.amount for r in refunds) == order.total  # exactly what was paid for the two lines
    client = gateway.stripe_client()
    assert sum(int(client.v1.refunds.retrieve(r.stripe_refund_id).amount) for r in refunds) == 5500
    fresh = Order.objects.get(pk=order.pk)
    assert fresh.status == OrderStatus.REFUNDED
    assert fresh.amount_refunded == Decimal("55.00")
    assert {i.status for i in fresh.items.all()} <= {ItemStatus.REFUND_REQUESTED, ItemStatus.REFUNDED}
    assert stock(lamp) == 5 and stock(mug) == 5
    listed = auth_client.get(url("/orders/my/")).json()["results"][0]
    assert listed["status"] == "REFUNDED"

    third = auth_client.post(url("/orders/cancel-item/"), {"orderId": order.pk, "itemId": line_lamp.pk})

    assert third.status_code == 409
    assert third.json()["code"] == "invalid_transition"
    assert Refund.objects.filter(payment=payment).count() == 2
    assert Order.objects.get(pk=order.pk).amount_refunded == Decimal("55.00")


def test_cancel_a_line_of_another_users_paid_order_is_404(
    auth_client, api_client, other_user, book, django_capture_on_commit_callbacks
):
    from conftest import client_for

    other_client = client_for(other_user)
    fill_cart(other_user, [(book, 3)])
    order = pay_through_the_storefront(
        other_client,
        api_client,
        other_user,
        AddressFactory(user=other_user),
        django_capture_on_commit_callbacks,
    )
    item = order.items.get()

    response = auth_client.post(url("/orders/cancel-item/"), {"orderId": order.pk, "itemId": item.pk})

    assert response.status_code == 404
    assert not Refund.objects.exists()
    assert Order.objects.get(pk=order.pk).status == OrderStatus.PAID
