from decimal import Decimal

import pytest

from orders.models import ItemStatus, Order, OrderItem
from payments import gateway
from payments.models import Payment, Refund

from .conftest import order_state, pay_order, place_order, stock_of


def ship_url(order_id):
    return f"/api/orders/{order_id}/ship/"


def deliver_url(order_id):
    return f"/api/orders/{order_id}/deliver/"


def refund_url(order_id):
    return f"/api/orders/{order_id}/refund/"


TRACKING = {"tracking_number": "1Z999AA10123456784", "carrier": "UPS"}


def test_paid_card_order_ships_and_is_delivered(
    staff_client, staff_user, user, product, mailoutbox, django_capture_on_commit_callbacks
):
    order = pay_order(place_order(user, [(product, 1)]))

    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(ship_url(order.pk), TRACKING)

    assert response.status_code == 200, response.json()
    data = response.json()
    assert data["status"] == "SHIPPED"
    assert (data["tracking_number"], data["carrier"]) == ("1Z999AA10123456784", "UPS")
    assert data["shipped_at"] is not None
    assert [m.subject for m in mailoutbox] == [f"Your order {order.number} is on its way"]
    assert "1Z999AA10123456784" in mailoutbox[0].body and "UPS" in mailoutbox[0].body
    html = mailoutbox[0].alternatives[0][0]
    assert "1Z999AA10123456784" in html
    assert Order.objects.get(pk=order.pk).events.latest("id").actor == staff_user

    response = staff_client.post(deliver_url(order.pk))
    assert response.status_code == 200
    assert response.json()["status"] == "DELIVERED"
    assert response.json()["delivered_at"] is not None
    assert not Payment.objects.filter(order=order, provider=Payment.Provider.CASH).exists()


def test_cod_flow_confirmed_shipped_delivered_with_cash_collected(
    staff_client, auth_client, user, product, cheap
):
    order = place_order(user, [(product, 2), (cheap, 1)], payment_method="cod")
    _, line_cheap = OrderItem.objects.filter(order=order).order_by("id")
    # The customer drops one line before shipping: the courier collects for what is left.
    assert auth_client.post(f"/api/orders/{order.pk}/items/{line_cheap.pk}/cancel/", {}).status_code == 200

    assert staff_client.post(ship_url(order.pk), TRACKING).json()["status"] == "SHIPPED"
    assert staff_client.post(deliver_url(order.pk)).json()["status"] == "DELIVERED"

    cash = Payment.objects.get(order=order)
    assert cash.provider == Payment.Provider.CASH
    assert cash.status == Payment.Status.SUCCEEDED
    assert cash.amount_received == Decimal("44.98")  # 39.98 + 5.00 shipping
    statuses = [e["status"] for e in staff_client.get(f"/api/orders/{order.pk}/").json()["events"]]
    assert statuses[0] == "CONFIRMED" and statuses[-2:] == ["SHIPPED", "DELIVERED"]


@pytest.mark.parametrize(
    "body",
    [{}, {"tracking_number": "T"}, {"carrier": "UPS"}, {"tracking_number": "", "carrier": "UPS"}],
)
def test_ship_requires_tracking_and_carrier(staff_client, user, product, body):
    order = place_order(user, [(product, 1)], payment_method="cod")
    before = order_state(order)
    response = staff_client.post(ship_url(order.pk), body)
    assert response.status_code == 400
    assert set(response.json()) <= {"tracking_number", "carrier"}
    assert order_state(order) == before


@pytest.mark.parametrize("status", ["PENDING", "SHIPPED", "DELIVERED", "CANCELLED", "REFUNDED"])
def test_ship_from_other_statuses_is_409(staff_client, user, product, status):
    order = place_order(user, [(product, 1)], payment_method="cod")
    Order.objects.filter(pk=order.pk).update(status=status)
    before = order_state(order)
    response = staff_client.post(ship_url(order.pk), TRACKING)
    assert response.status_code == 409
    assert response.json()["code"] == "invalid_transition"
    assert order_state(order) == before


@pytest.mark.parametrize("status", ["PENDING", "CONFIRMED", "PAID", "DELIVERED", "CANCELLED", "REFUNDED"])
def test_deliver_from_other_statuses_is_409(staff_client, user, product, status):
    order = place_order(user, [(product, 1)], payment_method="cod")
    Order.objects.filter(pk=order.pk).update(status=status)
    before = order_state(order)
    response = staff_client.post(deliver_url(order.pk))
    assert response.status_code == 409
    assert order_state(order) == before


def test_staff_refund_of_a_paid_order(staff_client, user, product, cheap):
    order = pay_order(place_order(user, [(product, 2), (cheap, 1)]))  # 49.48

    response = staff_client.post(refund_url(order.pk), {"reason": "Warehouse fire"})

    assert response.status_code == 200, response.json()
    data = response.json()
    assert data["status"] == "REFUNDED"
    assert {i["status"] for i in data["items"]} == {"REFUNDED"}
    assert "Warehouse fire" in data["events"][-1]["note"]
    fresh = Order.objects.get(pk=order.pk)
    assert fresh.amount_refunded == Decimal("49.48") and fresh.refunded_at is not None
    refund = Refund.objects.get()
    assert refund.amount == Decimal("49.48") and refund.order_item is None
    assert int(gateway.stripe_client().v1.refunds.retrieve(refund.stripe_refund_id).amount) == 4948
    assert stock_of(product, cheap) == [10, 10]


def test_staff_refund_after_a_line_refund_only_refunds_the_rest(
    staff_client, auth_client, user, product, cheap
):
    order = pay_order(place_order(user, [(product, 2), (cheap, 1)]))
    _, line_cheap = OrderItem.objects.filter(order=order).order_by("id")
    assert auth_client.post(f"/api/orders/{order.pk}/items/{line_cheap.pk}/cancel/", {}).status_code == 200

    assert staff_client.post(refund_url(order.pk), {}).status_code == 200

    assert [r.amount for r in Refund.objects.order_by("id")] == [Decimal("4.50"), Decimal("44.98")]
    assert Order.objects.get(pk=order.pk).amount_refunded == Decimal("49.48")
    line_cheap.refresh_from_db()
    assert line_cheap.status == ItemStatus.REFUNDED and line_cheap.refunded_amount == Decimal("4.50")
    assert stock_of(product, cheap) == [10, 10]


def test_the_shipped_email_shows_what_was_refunded_for_cancelled_lines(
    staff_client, auth_client, user, product, cheap, mailoutbox, django_capture_on_commit_callbacks
):
    # It lists the lines still shipped beside the order's paid totals: without the refund the
    # figures did not add up.
    order = pay_order(place_order(user, [(product, 2), (cheap, 1)]))
    _, line_cheap = OrderItem.objects.filter(order=order).order_by("id")
    assert auth_client.post(f"/api/orders/{order.pk}/items/{line_cheap.pk}/cancel/", {}).status_code == 200
    mailoutbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        assert staff_client.post(ship_url(order.pk), TRACKING).status_code == 200

    (message,) = mailoutbox
    assert "Refunded for cancelled items: 4.50 USD" in message.body
    html = message.alternatives[0][0]
    assert "Refunded (cancelled items)" in html and "-4.50 USD" in html


def test_staff_refund_after_a_dashboard_refund_refunds_only_the_rest(staff_client, user, product):
    from .test_item_cancel import dashboard_refund

    order = pay_order(place_order(user, [(product, 3)]))  # 59.97, free shipping
    dashboard_refund(order, 1000)

    assert staff_client.post(refund_url(order.pk), {}).status_code == 200

    ours = Refund.objects.exclude(reason__startswith="Refunded outside").get()
    assert ours.amount == Decimal("49.97")
    assert Payment.objects.get(order=order).amount_refunded == Decimal("59.97")
    assert Order.objects.get(pk=order.pk).status == "REFUNDED"


def test_staff_refund_with_stripe_down_leaves_the_order_paid(staff_client, user, product, settings):
    order = pay_order(place_order(user, [(product, 1)]))
    before = order_state(order)
    settings.STRIPE_API_BASE = "http://127.0.0.1:9"

    response = staff_client.post(refund_url(order.pk), {})

    assert response.status_code == 502
    assert order_state(order) == before
    assert stock_of(product) == [9]


@pytest.mark.parametrize("status", ["PENDING", "CONFIRMED", "SHIPPED", "DELIVERED", "CANCELLED", "REFUNDED"])
def test_refund_from_other_statuses_is_409(staff_client, user, product, status):
    order = place_order(user, [(product, 1)])
    Order.objects.filter(pk=order.pk).update(status=status)
    before = order_state(order)
    response = staff_client.post(refund_url(order.pk), {})
    assert response.status_code == 409
    assert order_state(order) == before


@pytest.mark.parametrize("make_url", [ship_url, deliver_url, refund_url])
def test_customers_get_403_even_on_their_own_order(auth_client, user, product, make_url):
    order = place_order(user, [(product, 1)], payment_method="cod")
    before = order_state(order)
    response = auth_client.post(make_url(order.pk), TRACKING)
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"
    assert order_state(order) == before


@pytest.mark.parametrize("make_url", [ship_url, deliver_url, refund_url])
def test_staff_operations_need_authentication_and_an_existing_order(api_client, staff_client, db, make_url):
    assert api_client.post(make_url(1), TRACKING).status_code == 401
    assert staff_client.post(make_url(999999), TRACKING).status_code == 404
    assert staff_client.post(make_url(2**64), TRACKING).status_code == 404
