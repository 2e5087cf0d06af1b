from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from orders.models import Order
from products.tests.factories import ProductFactory

from .conftest import place_order

MY = "/api/orders/my/"
LATEST = "/api/orders/latest/"

# Measured: JWT user, count, orders page, items (prefetch), events (prefetch).
LIST_QUERIES = 5
# JWT user, the order, items, events.
DETAIL_QUERIES = 4


def detail(order_id):
    return f"/api/orders/{order_id}/"


def make_orders(user, count, *, lines_each=1):
    orders = []
    for n in range(count):
        products = [ProductFactory(name=f"Gadget {n}-{k}") for k in range(lines_each)]
        orders.append(place_order(user, [(p, 1) for p in products], payment_method="cod"))
    return orders


def test_my_orders_newest_first_paginated_and_only_mine(auth_client, user, other_user):
    mine = make_orders(user, 3)
    make_orders(other_user, 2)
    # Make the creation times distinct and out of id order.
    for order, minutes in zip(mine, [5, 1, 10], strict=True):
        Order.objects.filter(pk=order.pk).update(created_at=timezone.now() - timedelta(minutes=minutes))

    response = auth_client.get(MY, {"page_size": 2})

    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 3
    assert [o["id"] for o in body["results"]] == [mine[1].pk, mine[0].pk]
    assert body["next"] and body["previous"] is None
    assert [o["id"] for o in auth_client.get(body["next"]).json()["results"]] == [mine[2].pk]
    first = body["results"][0]
    assert first["items"][0]["status"] == "ACTIVE"
    assert first["events"][0]["status"] == "CONFIRMED"


def test_status_filter(auth_client, user):
    confirmed, cancelled = make_orders(user, 2)
    Order.objects.filter(pk=cancelled.pk).update(status="CANCELLED")

    body = auth_client.get(MY, {"status": "CANCELLED"}).json()
    assert [o["id"] for o in body["results"]] == [cancelled.pk]
    assert auth_client.get(MY, {"status": "CONFIRMED"}).json()["count"] == 1
    assert auth_client.get(MY, {"status": "PAID"}).json()["count"] == 0


@pytest.mark.parametrize("status", ["paid", "SHIPPING", "1", " "])
def test_unknown_status_is_400(auth_client, user, status):
    make_orders(user, 1)
    response = auth_client.get(MY, {"status": status})
    assert response.status_code == 400
    assert "status" in response.json()


def test_empty_status_means_no_filter(auth_client, user):
    make_orders(user, 2)
    assert auth_client.get(MY, {"status": "", "search": ""}).json()["count"] == 2


def test_search_by_number_and_product_name(auth_client, user):
    first, second = make_orders(user, 2)

    assert [o["id"] for o in auth_client.get(MY, {"search": "gadget 1-"}).json()["results"]] == [second.pk]
    assert [o["id"] for o in auth_client.get(MY, {"search": first.number.lower()}).json()["results"]] == [
        first.pk
    ]
    assert auth_client.get(MY, {"search": "no such thing"}).json()["count"] == 0
    # An order matching through several lines is listed once.
    [multi] = make_orders(user, 1, lines_each=3)
    assert auth_client.get(MY, {"search": "Gadget 0-"}).json()["count"] == 2
    assert [o["id"] for o in auth_client.get(MY, {"search": "gadget"}).json()["results"]].count(multi.pk) == 1


def test_list_query_count_is_fixed(auth_client, user, django_assert_max_num_queries):
    make_orders(user, 1)
    with CaptureQueriesContext(connection) as one:
        assert auth_client.get(MY).status_code == 200
    make_orders(user, 6, lines_each=3)

    with django_assert_max_num_queries(LIST_QUERIES):
        response = auth_client.get(MY)

    assert response.json()["count"] == 7
    assert len(one) == LIST_QUERIES


def test_detail_with_items_and_events(auth_client, user, django_assert_max_num_queries):
    [order] = make_orders(user, 1, lines_each=5)
    with django_assert_max_num_queries(DETAIL_QUERIES):
        response = auth_client.get(detail(order.pk))
    assert response.status_code == 200
    data = response.json()
    assert len(data["items"]) == 5
    [event] = data["events"]
    assert set(event) == {"status", "note", "created_at"}
    assert (event["status"], event["note"]) == ("CONFIRMED", "Order placed, cash on delivery.")
    assert event["created_at"]


def test_detail_of_another_users_order_is_404_but_staff_sees_it(
    auth_client, other_client, staff_client, user
):
    [order] = make_orders(user, 1)
    assert other_client.get(detail(order.pk)).status_code == 404
    assert other_client.get(detail(order.pk)).json()["code"] == "not_found"
    assert staff_client.get(detail(order.pk)).status_code == 200
    assert auth_client.get(detail(999999)).status_code == 404
    assert auth_client.get(detail(2**64)).status_code == 404


def test_latest(auth_client, other_client, user, django_assert_max_num_queries):
    older, newer = make_orders(user, 2)
    Order.objects.filter(pk=older.pk).update(created_at=timezone.now() + timedelta(minutes=1))
    with django_assert_max_num_queries(DETAIL_QUERIES):
        response = auth_client.get(LATEST)
    assert response.status_code == 200
    assert response.json()["id"] == older.pk
    assert response.json()["estimated_delivery"]

    response = other_client.get(LATEST)
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_reads_need_authentication(api_client, user):
    [order] = make_orders(user, 1)
    for path in (MY, LATEST, detail(order.pk)):
        response = api_client.get(path)
        assert response.status_code == 401, path
