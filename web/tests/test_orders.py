"""Orders through the storefront profile: cash-on-delivery checkout, latest, my orders (5 a page),
the per-item view and per-item cancellation."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from addresses.tests.factories import AddressFactory
from orders import services as order_services
from orders.models import ItemStatus, Order, OrderItem, OrderStatus
from payments.models import Payment
from products.models import Product
from products.tests.factories import ProductFactory

from .conftest import BEARER_NULL, cart_of, fill_cart, is_number, url

pytestmark = pytest.mark.django_db

ORDER_KEYS = {"id", "status", "estimated_delivery", "items"}
ITEM_KEYS = {
    "id",
    "status",
    "cancelled_at",
    "price_at_purchase",
    "quantity",
    "product_image",
    "product_title",
    "product_subtitle",
}
LATEST_ADDRESS_KEYS = {"name", "mobile", "house_number", "address", "district", "state", "pincode"}
CANCEL_ITEM_KEYS = {
    "id",
    "status",
    "payment_method",
    "product_image",
    "product_title",
    "product_subtitle",
    "price_at_purchase",
    "estimated_delivery",
    "created_at",
    "email",
    "address",
}


def place(user, lines, *, payment_method="cod", address=None) -> Order:
    """A checkout through the orders service (the HTTP path is tested separately)."""
    fill_cart(user, lines)
    address = address or AddressFactory(user=user)
    return order_services.order_create_from_cart(
        user=user, shipping_address_id=address.pk, payment_method=payment_method
    ).order


@pytest.fixture
def cheap(category):
    return ProductFactory(name="Leaflet", brand="Pan", price=Decimal("4.50"), stock=10, category=category)


# --- create (cash on delivery) --------------------------------------------------------------------


def test_cod_order_from_the_cart(auth_client, user, address, book, cheap):
    fill_cart(user, [(book, 2), (cheap, 1)])

    response = auth_client.post(url("/orders/create/"), {"address_id": address.pk, "payment_method": "COD"})

    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) == ORDER_KEYS
    order = Order.objects.get(user=user)
    assert body["id"] == order.pk
    assert body["status"] == "CONFIRMED"
    assert body["estimated_delivery"] == (timezone.localdate() + timedelta(days=5)).isoformat()
    assert [(i["product_subtitle"], i["quantity"], i["status"]) for i in body["items"]] == [
        ("Dune", 2, "CONFIRMED"),
        ("Leaflet", 1, "CONFIRMED"),
    ]
    assert order.payment_method == "cod" and order.status == OrderStatus.CONFIRMED
    assert order.total == Decimal("44.48") + Decimal("5.00")
    assert order.shipping_address["full_name"] == "Ada Lovelace"
    assert cart_of(user) == []
    assert Product.objects.get(pk=book.pk).stock == 8
    assert not Payment.objects.exists()


@pytest.mark.parametrize("method", ["cod", "Cod"])
def test_cod_in_any_case_and_ids_as_strings(auth_client, user, address, book, method):
    fill_cart(user, [(book, 1)])
    response = auth_client.post(
        url("/orders/create/"), {"address_id": str(address.pk), "payment_method": method}, format="json"
    )
    assert response.status_code == 201
    assert Order.objects.get(user=user).payment_method == "cod"


@pytest.mark.parametrize("method", ["CARD", "card", "STRIPE", ""])
def test_other_payment_methods_point_to_the_payment_intent(auth_client, user, address, book, method):
    fill_cart(user, [(book, 1)])

    response = auth_client.post(url("/orders/create/"), {"address_id": address.pk, "payment_method": method})

    assert response.status_code == 400
    assert "payment_method" in response.json()
    if method:
        assert "/payments/payment-intent/" in response.json()["payment_method"][0]
    assert not Order.objects.exists()
    assert cart_of(user) == [(book.pk, 1)]


def test_create_with_another_users_address_is_404_and_changes_nothing(auth_client, user, other_address, book):
    fill_cart(user, [(book, 1)])
    response = auth_client.post(
        url("/orders/create/"), {"address_id": other_address.pk, "payment_method": "COD"}
    )
    assert response.status_code == 404
    assert not Order.objects.exists()
    assert cart_of(user) == [(book.pk, 1)]
    assert Product.objects.get(pk=book.pk).stock == 10


def test_create_with_an_empty_cart_is_400(auth_client, user, address):
    response = auth_client.post(url("/orders/create/"), {"address_id": address.pk, "payment_method": "COD"})
    assert response.status_code == 400
    assert response.json()["code"] == "cart_empty"


def test_create_beyond_stock_is_409_and_takes_nothing(auth_client, user, address, book, cheap):
    fill_cart(user, [(book, 11), (cheap, 1)])
    response = auth_client.post(url("/orders/create/"), {"address_id": address.pk, "payment_method": "COD"})
    assert response.status_code == 409
    assert response.json()["code"] == "insufficient_stock"
    assert [p.stock for p in Product.objects.filter(pk__in=[book.pk, cheap.pk]).order_by("pk")] == [10, 10]
    assert not Order.objects.exists()


@pytest.mark.parametrize(
    "payload", [{}, {"address_id": "x", "payment_method": "COD"}, {"payment_method": "COD"}]
)
def test_create_invalid_payload_is_400(auth_client, user, book, payload):
    fill_cart(user, [(book, 1)])
    response = auth_client.post(url("/orders/create/"), payload, format="json")
    assert response.status_code == 400
    assert not Order.objects.exists()


def test_create_honours_an_idempotency_key(auth_client, user, address, book):
    fill_cart(user, [(book, 1)])
    payload = {"address_id": address.pk, "payment_method": "COD"}
    first = auth_client.post(url("/orders/create/"), payload, HTTP_IDEMPOTENCY_KEY="k-1")
    again = auth_client.post(url("/orders/create/"), payload, HTTP_IDEMPOTENCY_KEY="k-1")
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert Order.objects.count() == 1


# --- latest --------------------------------------------------------------------------------------


def test_latest_shape(auth_client, user, address, book, cheap):
    place(user, [(cheap, 1)], address=address)
    newest = place(user, [(book, 2)], address=address)

    response = auth_client.get(url("/orders/latest/"))

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"items", "address", "estimated_delivery"}
    assert body["estimated_delivery"] == newest.estimated_delivery.isoformat()
    assert len(body["items"]) == 1
    item = body["items"][0]
    assert set(item) == {"product_image", "product_title", "quantity"}
    assert item["product_title"] == "Penguin" and item["quantity"] == 2
    assert item["product_image"].startswith("http://testserver/media/products/dune")
    assert body["address"] == {
        "name": "Ada Lovelace",
        "mobile": "9876543210",
        "house_number": "221B",
        "address": "Baker Street",
        "district": "London",
        "state": "Greater London",
        "pincode": "560001",
    }


def test_latest_keeps_the_address_as_it_was(auth_client, user, address, book):
    place(user, [(book, 1)], address=address)
    address.full_name = "Someone Else"
    address.save()
    assert auth_client.get(url("/orders/latest/")).json()["address"]["name"] == "Ada Lovelace"


def test_latest_without_orders_is_404_even_when_others_have_some(auth_client, other_user, book):
    place(other_user, [(book, 1)])
    response = auth_client.get(url("/orders/latest/"))
    assert response.status_code == 404


def test_latest_includes_an_unpaid_card_order(auth_client, user, book, cheap):
    place(user, [(cheap, 1)])
    card = place(user, [(book, 1)], payment_method="card")
    assert card.status == OrderStatus.PENDING
    body = auth_client.get(url("/orders/latest/")).json()
    assert [i["product_title"] for i in body["items"]] == ["Penguin"]


# --- my orders -----------------------------------------------------------------------------------


def test_my_orders_five_per_page_with_absolute_links(auth_client, user, category):
    products = ProductFactory.create_batch(7, category=category, stock=5)
    orders = [place(user, [(product, 1)]) for product in products]

    first = auth_client.get(url("/orders/my/"))

    assert first.status_code == 200
    body = first.json()
    assert set(body) == {"count", "next", "previous", "results"}
    assert body["count"] == 7
    assert body["previous"] is None
    assert body["next"] == "http://testserver/api/web/orders/my/?page=2"
    assert [o["id"] for o in body["results"]] == [o.pk for o in reversed(orders)][:5]
    order = body["results"][0]
    assert set(order) == ORDER_KEYS
    item = order["items"][0]
    assert set(item) == ITEM_KEYS
    assert is_number(item["price_at_purchase"]) and item["price_at_purchase"] == 19.99
    assert item["quantity"] == 1 and item["status"] == "CONFIRMED" and item["cancelled_at"] is None

    second = auth_client.get(body["next"]).json()
    assert [o["id"] for o in second["results"]] == [orders[1].pk, orders[0].pk]
    assert second["next"] is None
    assert second["previous"] == "http://testserver/api/web/orders/my/"


def test_my_orders_search_keeps_the_query_in_the_links(auth_client, user, category):
    for _ in range(6):
        place(user, [(ProductFactory(name="Red Notebook", category=category), 1)])
    place(user, [(ProductFactory(name="Blue Pen", category=category), 1)])

    body = auth_client.get(url("/orders/my/"), {"search": "notebook"}).json()

    assert body["count"] == 6
    assert body["next"] == "http://testserver/api/web/orders/my/?page=2&search=notebook"


def test_my_orders_beyond_the_last_page_is_404(auth_client, user, book):
    place(user, [(book, 1)])
    assert auth_client.get(url("/orders/my/"), {"page": 9}).status_code == 404
    assert auth_client.get(url("/orders/my/"), {"page": "x"}).status_code == 404


@pytest.mark.parametrize("search", ["x" * 201, "a\x00b"])
def test_my_orders_invalid_search_is_400(auth_client, user, search):
    response = auth_client.get(url("/orders/my/"), {"search": search})
    assert response.status_code == 400
    assert "search" in response.json()


def test_my_orders_only_the_callers(auth_client, user, other_user, book):
    place(other_user, [(book, 1)])
    body = auth_client.get(url("/orders/my/")).json()
    assert body["count"] == 0 and body["results"] == []


def test_my_orders_leave_out_unpaid_card_orders(auth_client, user, book, cheap):
    cod = place(user, [(cheap, 1)])
    place(user, [(book, 1)], payment_method="card")

    body = auth_client.get(url("/orders/my/")).json()

    assert [o["id"] for o in body["results"]] == [cod.pk]


def test_line_statuses(auth_client, user, book, cheap):
    order = place(user, [(book, 1), (cheap, 1)])
    line_book, line_cheap = order.items.order_by("id")
    order_services.order_item_cancel(order_id=order.pk, item_id=line_cheap.pk, user=user, reason="No")

    body = auth_client.get(url("/orders/my/")).json()["results"][0]

    assert body["status"] == "CONFIRMED"
    statuses = {i["id"]: (i["status"], i["cancelled_at"]) for i in body["items"]}
    assert statuses[line_book.pk] == ("CONFIRMED", None)
    assert statuses[line_cheap.pk][0] == "CANCELLED"
    assert statuses[line_cheap.pk][1] is not None


def test_my_orders_query_budget(auth_client, user, category, django_assert_max_num_queries):
    for _ in range(5):
        place(user, [(ProductFactory(category=category), 1), (ProductFactory(category=category), 2)])
    with django_assert_max_num_queries(6):
        response = auth_client.get(url("/orders/my/"))
    assert len(response.json()["results"]) == 5


# --- one line: view and cancel ---------------------------------------------------------------------


def test_item_view_shape(auth_client, user, address, book):
    order = place(user, [(book, 2)], address=address)
    item = order.items.get()

    response = auth_client.get(
        url("/orders/cancel-item/"), {"orderId": str(order.pk), "itemId": str(item.pk)}
    )

    assert response.status_code == 200
    body = response.json()
    assert set(body) == CANCEL_ITEM_KEYS
    assert body["id"] == item.pk
    assert body["status"] == "CONFIRMED"
    assert body["payment_method"] == "Cash on Delivery"
    assert body["product_title"] == "Penguin" and body["product_subtitle"] == "Dune"
    assert body["product_image"].startswith("http://testserver/media/")
    assert is_number(body["price_at_purchase"]) and body["price_at_purchase"] == 19.99
    assert body["estimated_delivery"] == order.estimated_delivery.isoformat()
    assert body["created_at"]
    assert body["email"] == user.email
    assert body["address"] == {
        "name": "Ada Lovelace",
        "mobile": "9876543210",
        "pincode": "560001",
        "house_number": "221B",
        "address": "Baker Street",
        "town": "Marylebone",
        "district": "London",
        "state": "Greater London",
        "location": "Near the museum",
    }


@pytest.mark.parametrize(
    "query",
    [
        {},
        {"orderId": "1"},
        {"orderId": "abc", "itemId": "1"},
        {"orderId": "1", "itemId": "-1"},
        {"orderId": "1", "itemId": "1.5"},
    ],
)
def test_item_view_invalid_ids_are_400(auth_client, user, query):
    response = auth_client.get(url("/orders/cancel-item/"), query)
    assert response.status_code == 400


def test_item_view_of_another_users_order_is_404(auth_client, other_user, book):
    order = place(other_user, [(book, 1)])
    item = order.items.get()
    response = auth_client.get(url("/orders/cancel-item/"), {"orderId": order.pk, "itemId": item.pk})
    assert response.status_code == 404
    assert set(response.json()) == {"detail", "code"}


def test_item_view_of_a_line_of_another_order_is_404(auth_client, user, book, cheap):
    first = place(user, [(book, 1)])
    second = place(user, [(cheap, 1)])
    response = auth_client.get(
        url("/orders/cancel-item/"), {"orderId": first.pk, "itemId": second.items.get().pk}
    )
    assert response.status_code == 404


def test_cancel_a_cod_line_then_the_last_one(auth_client, user, book, cheap):
    order = place(user, [(book, 2), (cheap, 1)])
    line_book, line_cheap = order.items.order_by("id")

    response = auth_client.post(
        url("/orders/cancel-item/"),
        {"orderId": str(order.pk), "itemId": str(line_cheap.pk), "reason": "Ordered by mistake"},
    )

    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) == CANCEL_ITEM_KEYS
    assert body["id"] == line_cheap.pk and body["status"] == "CANCELLED"
    line_cheap.refresh_from_db()
    assert line_cheap.status == ItemStatus.CANCELLED
    assert line_cheap.cancel_reason == "Ordered by mistake"
    assert Product.objects.get(pk=cheap.pk).stock == 10
    assert Order.objects.get(pk=order.pk).status == OrderStatus.CONFIRMED

    last = auth_client.post(
        url("/orders/cancel-item/"),
        {"orderId": order.pk, "itemId": line_book.pk, "reason": "No longer needed"},
    )

    assert last.status_code == 200
    assert Order.objects.get(pk=order.pk).status == OrderStatus.CANCELLED
    assert Product.objects.get(pk=book.pk).stock == 10
    assert not Payment.objects.exists()  # nothing was paid, nothing refunded
    listed = auth_client.get(url("/orders/my/")).json()["results"][0]
    assert listed["status"] == "CANCELLED"
    assert {i["status"] for i in listed["items"]} == {"CANCELLED"}

    again = auth_client.post(url("/orders/cancel-item/"), {"orderId": order.pk, "itemId": line_book.pk})
    assert again.status_code == 409
    assert again.json()["code"] == "invalid_transition"


def test_cancel_a_shipped_line_is_409(auth_client, user, book):
    order = place(user, [(book, 1)])
    order_services.order_ship(order_id=order.pk, tracking_number="T1", carrier="DHL")
    item = order.items.get()

    response = auth_client.post(url("/orders/cancel-item/"), {"orderId": order.pk, "itemId": item.pk})

    assert response.status_code == 409
    assert OrderItem.objects.get(pk=item.pk).status == ItemStatus.ACTIVE


def test_cancel_another_users_line_is_404_and_changes_nothing(auth_client, other_user, book):
    order = place(other_user, [(book, 1)])
    item = order.items.get()

    response = auth_client.post(url("/orders/cancel-item/"), {"orderId": order.pk, "itemId": item.pk})

    assert response.status_code == 404
    assert OrderItem.objects.get(pk=item.pk).status == ItemStatus.ACTIVE
    assert Order.objects.get(pk=order.pk).status == OrderStatus.CONFIRMED
    assert Product.objects.get(pk=book.pk).stock == 9


@pytest.mark.parametrize(
    "payload",
    [
        {},
        {"orderId": "x", "itemId": 1},
        {"orderId": 1, "itemId": 0},
        {"orderId": 1, "itemId": 1, "reason": "x" * 501},
    ],
)
def test_cancel_invalid_payload_is_400(auth_client, user, payload):
    response = auth_client.post(url("/orders/cancel-item/"), payload, format="json")
    assert response.status_code == 400


@pytest.mark.parametrize(
    "method, path",
    [
        ("post", "/orders/create/"),
        ("get", "/orders/latest/"),
        ("get", "/orders/my/"),
        ("get", "/orders/cancel-item/?orderId=1&itemId=1"),
        ("post", "/orders/cancel-item/"),
    ],
)
@pytest.mark.parametrize("header", [None, BEARER_NULL])
def test_orders_need_a_valid_token(api_client, db, method, path, header):
    kwargs = {"HTTP_AUTHORIZATION": header} if header else {}
    response = getattr(api_client, method)(url(path), **kwargs)
    assert response.status_code == 401
