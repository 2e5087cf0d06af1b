import pytest

from orders.models import Order
from payments import gateway
from payments.models import Payment
from products.tests.factories import ProductFactory

from .conftest import cart_lines, fill_cart, order_state, pay_order, place_order, stock_of


def url(order_id) -> str:
    return f"/api/orders/cancel/{order_id}/"


def test_owner_cancels_a_pending_card_order(
    auth_client, user, product, cheap, mailoutbox, django_capture_on_commit_callbacks
):
    order = place_order(user, [(product, 3), (cheap, 1)])
    payment = Payment.objects.get(order=order)
    assert stock_of(product, cheap) == [7, 9]
    assert cart_lines(user) == []

    with django_capture_on_commit_callbacks(execute=True):
        response = auth_client.post(url(order.pk))

    assert response.status_code == 200, response.json()
    data = response.json()
    assert data["status"] == "CANCELLED"
    assert data["cancelled_at"] is not None
    assert {i["status"] for i in data["items"]} == {"CANCELLED"}
    assert [e["status"] for e in data["events"]] == ["PENDING", "CANCELLED"]
    assert stock_of(product, cheap) == [10, 10]
    assert cart_lines(user) == sorted([(product.pk, 3), (cheap.pk, 1)])
    payment.refresh_from_db()
    assert payment.status == Payment.Status.CANCELLED
    assert gateway.retrieve_payment_intent(payment.payment_intent_id).status == "canceled"
    assert len(mailoutbox) == 1
    assert "cancelled" in mailoutbox[0].subject
    assert mailoutbox[0].to == [user.email]


def test_cancelled_lines_merge_into_the_cart_capped_by_stock(auth_client, user):
    scarce = ProductFactory(stock=3)
    order = place_order(user, [(scarce, 3)], payment_method="cod")
    assert stock_of(scarce) == [0]
    fill_cart(user, [(scarce, 2)])  # added again since (the cart allows it while stock lasts)

    assert auth_client.post(url(order.pk)).status_code == 200

    assert stock_of(scarce) == [3]
    assert cart_lines(user) == [(scarce.pk, 3)]  # 2 + 3, capped at the 3 in stock


def test_owner_cancels_a_cod_order_before_shipping(auth_client, user, product):
    order = place_order(user, [(product, 2)], payment_method="cod")
    response = auth_client.post(url(order.pk))
    assert response.status_code == 200
    assert response.json()["status"] == "CANCELLED"
    assert stock_of(product) == [10]
    assert not Payment.objects.exists()


@pytest.mark.parametrize("status", ["PAID", "SHIPPED", "DELIVERED", "CANCELLED", "REFUNDED"])
def test_cancel_in_other_statuses_is_409_and_changes_nothing(auth_client, user, product, status):
    order = place_order(user, [(product, 2)], payment_method="cod")
    Order.objects.filter(pk=order.pk).update(status=status)
    before = order_state(order)

    response = auth_client.post(url(order.pk))

    assert response.status_code == 409
    assert response.json()["code"] == "invalid_transition"
    assert order_state(order) == before
    assert stock_of(product) == [8]
    assert cart_lines(user) == []


def test_paid_order_cannot_be_cancelled_whole(auth_client, user, product):
    order = pay_order(place_order(user, [(product, 1)]))
    response = auth_client.post(url(order.pk))
    assert response.status_code == 409
    assert Order.objects.get(pk=order.pk).status == "PAID"


def test_another_users_order_is_404_and_unchanged(other_client, user, product):
    order = place_order(user, [(product, 2)])
    before = order_state(order)
    response = other_client.post(url(order.pk))
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    assert order_state(order) == before
    assert stock_of(product) == [8]


def test_staff_cannot_cancel_someone_elses_order_through_the_customer_endpoint(staff_client, user, product):
    order = place_order(user, [(product, 1)])
    assert staff_client.post(url(order.pk)).status_code == 404


def test_unknown_and_overflowing_ids_are_404(auth_client, db):
    assert auth_client.post(url(999999)).status_code == 404
    assert auth_client.post(url(2**64)).status_code == 404


def test_cancel_needs_authentication(api_client, user, product):
    order = place_order(user, [(product, 1)])
    assert api_client.post(url(order.pk)).status_code == 401


def test_cancel_with_stripe_down_still_cancels(auth_client, user, product, settings):
    """Cancelling the PaymentIntent is best effort: a late payment is refunded by the webhook."""
    order = place_order(user, [(product, 1)])
    settings.STRIPE_API_BASE = "http://127.0.0.1:9"
    response = auth_client.post(url(order.pk))
    assert response.status_code == 200
    assert response.json()["status"] == "CANCELLED"
    assert stock_of(product) == [10]
