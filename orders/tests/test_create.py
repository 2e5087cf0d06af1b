from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import IntegrityError
from django.utils import timezone

from addresses.tests.factories import AddressFactory
from cart.models import CartItem
from core.models import IdempotencyRecord
from orders import services
from orders.models import ItemStatus, Order, OrderEvent, OrderItem
from payments import gateway
from payments.models import Payment
from products.tests.factories import ProductFactory

from .conftest import cart_lines, fill_cart, stock_of

URL = "/api/orders/create/"


def test_card_order_is_created_from_the_cart(
    auth_client, user, address, product, cheap, mailoutbox, django_capture_on_commit_callbacks
):
    fill_cart(user, [(product, 2), (cheap, 1)])

    with django_capture_on_commit_callbacks(execute=True):
        response = auth_client.post(URL, {"shipping_address_id": address.pk, "payment_method": "card"})

    assert response.status_code == 201, response.json()
    body = response.json()
    order = Order.objects.get()
    data = body["order"]
    assert data["id"] == order.pk
    assert data["number"] == order.number and order.number.startswith("NC-")
    assert data["status"] == "PENDING"
    assert data["payment_method"] == "card"
    # 2 x 19.99 + 4.50 = 44.48 < 50.00: flat shipping.
    assert data["subtotal"] == "44.48"
    assert data["shipping_total"] == "5.00"
    assert data["total"] == "49.48"
    assert data["currency"] == "usd"
    assert data["estimated_delivery"] == (timezone.localdate() + timedelta(days=5)).isoformat()
    assert data["expires_at"] is not None
    assert order.expires_at - order.created_at == pytest.approx(
        timedelta(minutes=30), abs=timedelta(seconds=5)
    )
    assert [
        (i["product_id"], i["quantity"], i["unit_price"], i["line_total"], i["status"]) for i in data["items"]
    ] == [
        (product.pk, 2, "19.99", "39.98", "ACTIVE"),
        (cheap.pk, 1, "4.50", "4.50", "ACTIVE"),
    ]
    assert data["items"][0]["product_name"] == product.name and data["items"][0]["sku"] == product.sku
    assert data["items"][0]["cancelled_at"] is None
    assert data["shipping_address"]["line1"] == address.line1
    assert data["shipping_address"]["full_name"] == address.full_name
    assert [e["status"] for e in data["events"]] == ["PENDING"]
    assert set(data) == {
        "id", "number", "status", "payment_method", "items", "subtotal", "discount_total", "coupon_code",
        "shipping_total", "total",
        "currency", "shipping_address", "tracking_number", "carrier", "estimated_delivery", "created_at",
        "paid_at", "shipped_at", "delivered_at", "cancelled_at", "expires_at", "events",
    }  # fmt: skip

    payment = Payment.objects.get(order=order)
    assert body["payment"] == {
        "client_secret": payment.client_secret,
        "payment_intent_id": payment.payment_intent_id,
        "amount": 4948,
        "currency": "usd",
        "publishable_key": "pk_test_novacart",
    }
    intent = gateway.retrieve_payment_intent(payment.payment_intent_id)
    assert intent.amount == 4948 and intent.metadata["order_id"] == str(order.pk)

    assert stock_of(product, cheap) == [8, 9]
    assert cart_lines(user) == []
    assert order.email == user.email
    assert mailoutbox == []  # the confirmation waits for the payment


def test_cod_order_starts_confirmed_without_payment_or_expiry(
    auth_client, user, address, product, mailoutbox, django_capture_on_commit_callbacks
):
    fill_cart(user, [(product, 3)])

    with django_capture_on_commit_callbacks(execute=True):
        response = auth_client.post(URL, {"shipping_address_id": address.pk, "payment_method": "cod"})

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["payment"] is None
    assert body["order"]["status"] == "CONFIRMED"
    assert body["order"]["payment_method"] == "cod"
    assert body["order"]["expires_at"] is None
    # 3 x 19.99 = 59.97 >= 50.00: free shipping.
    assert (body["order"]["subtotal"], body["order"]["shipping_total"], body["order"]["total"]) == (
        "59.97",
        "0.00",
        "59.97",
    )
    assert not Payment.objects.exists()
    assert stock_of(product) == [7]
    assert len(mailoutbox) == 1
    assert mailoutbox[0].to == [user.email]
    assert "confirmed" in mailoutbox[0].subject
    assert "cash on delivery" in mailoutbox[0].body


def test_shipping_rule_boundary_is_inclusive(user, address):
    exactly = ProductFactory(price=Decimal("25.00"), stock=5)
    fill_cart(user, [(exactly, 2)])
    order = services.order_create_from_cart(
        user=user, shipping_address_id=address.pk, payment_method="cod"
    ).order
    assert (order.subtotal, order.shipping_total, order.total) == (
        Decimal("50.00"),
        Decimal("0.00"),
        Decimal("50.00"),
    )
    assert isinstance(order.total, Decimal)


def test_snapshots_do_not_follow_later_edits(auth_client, user, address, product):
    fill_cart(user, [(product, 1)])
    order_id = auth_client.post(URL, {"shipping_address_id": address.pk, "payment_method": "cod"}).json()[
        "order"
    ]["id"]

    product.name, product.price, product.sku = "Renamed", Decimal("1.00"), "NEW-SKU"
    product.save()
    address.line1 = "Somewhere else"
    address.save()

    data = auth_client.get(f"/api/orders/{order_id}/").json()
    assert data["items"][0]["product_name"] != "Renamed"
    assert data["items"][0]["unit_price"] == "19.99"
    assert data["items"][0]["sku"] != "NEW-SKU"
    assert data["shipping_address"]["line1"] != "Somewhere else"
    item = OrderItem.objects.get()
    assert item.product_brand == "Acme"


def test_empty_cart_is_400(auth_client, address):
    response = auth_client.post(URL, {"shipping_address_id": address.pk, "payment_method": "card"})
    assert response.status_code == 400
    assert response.json()["code"] == "cart_empty"
    assert not Order.objects.exists()


@pytest.mark.parametrize(
    "body",
    [
        {"shipping_address_id": 1, "payment_method": "paypal"},
        {"shipping_address_id": 1, "payment_method": "CARD"},
        {"shipping_address_id": 1},
        {"payment_method": "card"},
        {"shipping_address_id": "abc", "payment_method": "card"},
        {"shipping_address_id": 0, "payment_method": "card"},
    ],
)
def test_invalid_body_is_400_and_changes_nothing(auth_client, user, product, body):
    fill_cart(user, [(product, 1)])
    response = auth_client.post(URL, body)
    assert response.status_code == 400
    assert set(response.json()) <= {"shipping_address_id", "payment_method"}
    assert not Order.objects.exists()
    assert cart_lines(user) == [(product.pk, 1)]


def test_service_refuses_unknown_payment_method(user, address, product):
    fill_cart(user, [(product, 1)])
    from core.exceptions import ApplicationError

    with pytest.raises(ApplicationError) as exc:
        services.order_create_from_cart(user=user, shipping_address_id=address.pk, payment_method="bitcoin")
    assert exc.value.status_code == 400


def test_another_users_address_is_404_and_nothing_changes(auth_client, user, other_address, product):
    fill_cart(user, [(product, 2)])
    response = auth_client.post(URL, {"shipping_address_id": other_address.pk, "payment_method": "card"})
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    assert not Order.objects.exists()
    assert stock_of(product) == [10]
    assert cart_lines(user) == [(product.pk, 2)]


def test_huge_address_id_is_a_clean_4xx(auth_client, user, product):
    fill_cart(user, [(product, 1)])
    response = auth_client.post(URL, {"shipping_address_id": 2**70, "payment_method": "card"})
    assert response.status_code in (400, 404)


def test_insufficient_stock_is_409_naming_the_product_and_takes_nothing(auth_client, user, address):
    plenty = ProductFactory(stock=50)
    scarce = ProductFactory(stock=2, name="Scarce widget")
    fill_cart(user, [(plenty, 5), (scarce, 3)])  # `plenty` has the lower id: taken first, then rolled back

    response = auth_client.post(URL, {"shipping_address_id": address.pk, "payment_method": "card"})

    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "insufficient_stock"
    assert body["product_id"] == scarce.pk
    assert body["available"] == 2
    assert "Scarce widget" in body["detail"]
    assert stock_of(plenty, scarce) == [50, 2]
    assert not Order.objects.exists()
    assert cart_lines(user) == sorted([(plenty.pk, 5), (scarce.pk, 3)])


def test_inactive_product_is_409_product_unavailable(auth_client, user, address, product):
    gone = ProductFactory(is_active=False)
    fill_cart(user, [(product, 1), (gone, 1)])
    response = auth_client.post(URL, {"shipping_address_id": address.pk, "payment_method": "cod"})
    assert response.status_code == 409
    assert response.json()["code"] == "product_unavailable"
    assert response.json()["product_id"] == gone.pk
    assert stock_of(product, gone) == [10, 10]
    assert not Order.objects.exists()


def test_unauthenticated_is_401(api_client):
    response = api_client.post(URL, {"shipping_address_id": 1, "payment_method": "card"})
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


def test_stripe_unreachable_rolls_everything_back(
    auth_client, user, address, product, closed_port_stripe, mailoutbox, django_capture_on_commit_callbacks
):
    fill_cart(user, [(product, 4)])

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = auth_client.post(URL, {"shipping_address_id": address.pk, "payment_method": "card"})

    assert response.status_code == 502
    assert response.json()["code"] == "payment_provider_error"
    assert stock_of(product) == [10]
    assert cart_lines(user) == [(product.pk, 4)]
    assert not Order.objects.exists()
    assert not OrderItem.objects.exists()
    assert not OrderEvent.objects.exists()
    assert not Payment.objects.exists()
    assert callbacks == []
    assert mailoutbox == []


def test_database_error_midway_rolls_everything_back(api_client, user, address, product, settings):
    """A real constraint failure midway: a negative shipping rate makes the order total negative,
    which the `order_total_non_negative` CHECK refuses on insert (the cart lock is held, the stock
    not yet taken: checkout takes it last)."""
    from conftest import client_for

    settings.SHIPPING_FLAT_RATE = Decimal("-1000.00")
    fill_cart(user, [(product, 2)])  # 39.98: below the free-shipping threshold
    client = client_for(user)
    client.raise_request_exception = False

    response = client.post(URL, {"shipping_address_id": address.pk, "payment_method": "cod"})

    assert response.status_code == 500
    assert stock_of(product) == [10]
    assert cart_lines(user) == [(product.pk, 2)]
    assert not Order.objects.exists()


def test_order_number_collision_is_retried(user, address, product, monkeypatch):
    fill_cart(user, [(product, 1)])
    first = services.order_create_from_cart(
        user=user, shipping_address_id=address.pk, payment_method="cod"
    ).order
    numbers = iter([first.number, first.number, "NC-20990101-FRESHONE"])
    monkeypatch.setattr(services, "_order_number", lambda: next(numbers))
    fill_cart(user, [(product, 1)])

    second = services.order_create_from_cart(
        user=user, shipping_address_id=address.pk, payment_method="cod"
    ).order

    assert second.number == "NC-20990101-FRESHONE"
    assert Order.objects.count() == 2


def test_order_number_retries_are_bounded(user, address, product, monkeypatch):
    fill_cart(user, [(product, 1)])
    first = services.order_create_from_cart(
        user=user, shipping_address_id=address.pk, payment_method="cod"
    ).order
    monkeypatch.setattr(services, "_order_number", lambda: first.number)
    fill_cart(user, [(product, 1)])

    with pytest.raises(IntegrityError):
        services.order_create_from_cart(user=user, shipping_address_id=address.pk, payment_method="cod")


def test_order_numbers_are_unique_and_readable(user, product):
    numbers = {services._order_number() for _ in range(200)}
    assert len(numbers) == 200
    assert all(len(n) == 20 and n.startswith("NC-") for n in numbers)


# --- Idempotency-Key ------------------------------------------------------------------------------


def test_same_idempotency_key_replays_the_first_response(auth_client, user, address, product):
    fill_cart(user, [(product, 2)])
    body = {"shipping_address_id": address.pk, "payment_method": "card"}

    first = auth_client.post(URL, body, HTTP_IDEMPOTENCY_KEY="key-1")
    second = auth_client.post(URL, body, HTTP_IDEMPOTENCY_KEY="key-1")

    assert first.status_code == second.status_code == 201
    assert second.json() == first.json()
    assert Order.objects.count() == 1
    assert Payment.objects.count() == 1
    assert stock_of(product) == [8]


def test_same_key_with_a_different_body_is_409(auth_client, user, address, product):
    fill_cart(user, [(product, 2)])
    assert (
        auth_client.post(
            URL, {"shipping_address_id": address.pk, "payment_method": "card"}, HTTP_IDEMPOTENCY_KEY="k"
        ).status_code
        == 201
    )
    fill_cart(user, [(product, 1)])

    response = auth_client.post(
        URL, {"shipping_address_id": address.pk, "payment_method": "cod"}, HTTP_IDEMPOTENCY_KEY="k"
    )

    assert response.status_code == 409
    assert response.json()["code"] == "idempotency_conflict"
    assert Order.objects.count() == 1
    assert cart_lines(user) == [(product.pk, 1)]


def test_failed_attempt_is_not_stored_so_a_retry_runs_anew(
    auth_client, user, address, product, settings, stripe_server
):
    fill_cart(user, [(product, 1)])
    body = {"shipping_address_id": address.pk, "payment_method": "card"}
    good_base = settings.STRIPE_API_BASE
    settings.STRIPE_API_BASE = "http://127.0.0.1:9"  # nothing listens on the discard port

    assert auth_client.post(URL, body, HTTP_IDEMPOTENCY_KEY="retry-me").status_code == 502
    assert not IdempotencyRecord.objects.exists()

    settings.STRIPE_API_BASE = good_base
    response = auth_client.post(URL, body, HTTP_IDEMPOTENCY_KEY="retry-me")
    assert response.status_code == 201
    assert Order.objects.count() == 1


def test_idempotency_keys_are_per_user(auth_client, other_client, user, other_user, address, product):
    fill_cart(user, [(product, 1)])
    fill_cart(other_user, [(product, 1)])
    other_address = AddressFactory(user=other_user)

    a = auth_client.post(
        URL, {"shipping_address_id": address.pk, "payment_method": "cod"}, HTTP_IDEMPOTENCY_KEY="same"
    )
    b = other_client.post(
        URL, {"shipping_address_id": other_address.pk, "payment_method": "cod"}, HTTP_IDEMPOTENCY_KEY="same"
    )

    assert a.status_code == b.status_code == 201
    assert a.json()["order"]["id"] != b.json()["order"]["id"]


def test_overlong_idempotency_key_is_400(auth_client, user, address, product):
    fill_cart(user, [(product, 1)])
    response = auth_client.post(
        URL, {"shipping_address_id": address.pk, "payment_method": "cod"}, HTTP_IDEMPOTENCY_KEY="x" * 256
    )
    assert response.status_code == 400
    assert not Order.objects.exists()


def test_item_statuses_start_active(user, address, product):
    fill_cart(user, [(product, 1)])
    order = services.order_create_from_cart(
        user=user, shipping_address_id=address.pk, payment_method="cod"
    ).order
    assert list(order.items.values_list("status", flat=True)) == [ItemStatus.ACTIVE]
    assert CartItem.objects.filter(cart__user=user).count() == 0
