"""Races on PostgreSQL with real threads, each on its own database connection (committed data,
real row locks). Every thread closes its connection when done."""

import threading
from decimal import Decimal

import pytest
from django.db import connection

from addresses.tests.factories import AddressFactory
from conftest import client_for, run_together
from orders import services
from orders.models import Order, OrderEvent
from products.models import Product
from products.tests.factories import ProductFactory
from users.tests.factories import UserFactory

from .conftest import cart_lines, fill_cart, pay_order, place_order, stock_of

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

URL = "/api/orders/create/"


def run_at_once(*calls):
    """Run the callables in threads released together; return their results (or exceptions) in order."""
    return run_together(len(calls), lambda i: calls[i](), wait=30, join=120)


def buyer_with_cart(lines):
    user = UserFactory()
    fill_cart(user, lines)
    return user, AddressFactory(user=user)


def checkout_call(user, address, payment_method="card", headers=None):
    def call():
        client = client_for(user)
        response = client.post(
            URL, {"shipping_address_id": address.pk, "payment_method": payment_method}, **(headers or {})
        )
        return response.status_code, response.json()

    return call


def checkouts_watching_stock(buyers, read_stock):
    """Every buyer checks out at once (card and cash on delivery alternating) while another thread
    keeps reading `read_stock()`: returns the checkout results and every stock value seen."""
    seen = []
    stop = threading.Event()

    def watch_stock():
        try:
            while not stop.is_set():
                seen.append(read_stock())
        finally:
            connection.close()

    watcher = threading.Thread(target=watch_stock)
    watcher.start()
    try:
        results = run_at_once(
            *[
                checkout_call(user, address, "card" if n % 2 else "cod")
                for n, (user, address) in enumerate(buyers)
            ]
        )
    finally:
        stop.set()
        watcher.join()
    return results, seen


def test_twenty_buyers_for_the_last_five_units():
    product = ProductFactory(stock=5, price=Decimal("10.00"))
    buyers = [buyer_with_cart([(product, 1)]) for _ in range(20)]
    results, seen_stock = checkouts_watching_stock(buyers, lambda: Product.objects.get(pk=product.pk).stock)

    assert not [r for r in results if isinstance(r, Exception)], results
    statuses = sorted(status for status, _ in results)
    assert statuses == [201] * 5 + [409] * 15, results
    assert {body["code"] for status, body in results if status == 409} == {"insufficient_stock"}
    assert stock_of(product) == [0]
    assert min(seen_stock) >= 0
    assert Order.objects.count() == 5
    winners = {body["order"]["id"] for status, body in results if status == 201}
    assert set(Order.objects.values_list("pk", flat=True)) == winners
    # Losers keep their cart; winners' carts are empty.
    for (user, _), (status, _) in zip(buyers, results, strict=True):
        assert cart_lines(user) == ([] if status == 201 else [(product.pk, 1)])


def test_opposite_orders_of_two_products_neither_deadlock_nor_take_partial_stock():
    first = ProductFactory(stock=10)
    second = ProductFactory(stock=3)
    buyers = []
    for n in range(10):
        # Half add `first` then `second`, half the other way round.
        lines = [(first, 1), (second, 1)] if n % 2 else [(second, 1), (first, 1)]
        buyers.append(buyer_with_cart(lines))

    results = run_at_once(*[checkout_call(user, address, "cod") for user, address in buyers])

    assert not [r for r in results if isinstance(r, Exception)], results
    statuses = sorted(status for status, _ in results)
    assert statuses == [201] * 3 + [409] * 7, results
    # Each successful order took one of each; failed ones took nothing.
    assert stock_of(first, second) == [7, 0]
    assert Order.objects.count() == 3


def test_same_idempotency_key_twice_at_once_makes_one_order():
    product = ProductFactory(stock=10)
    user, address = buyer_with_cart([(product, 2)])
    headers = {"HTTP_IDEMPOTENCY_KEY": "double-click"}

    results = run_at_once(
        checkout_call(user, address, "card", headers), checkout_call(user, address, "card", headers)
    )

    assert not [r for r in results if isinstance(r, Exception)], results
    (status_a, body_a), (status_b, body_b) = results
    assert status_a == status_b == 201
    assert body_a == body_b
    assert Order.objects.count() == 1
    assert stock_of(product) == [8]


@pytest.mark.parametrize("round_", range(3))
def test_cancel_and_expiry_racing_release_stock_once(round_):
    product = ProductFactory(stock=10)
    user = UserFactory()
    order = place_order(user, [(product, 2)])
    Order.objects.filter(pk=order.pk).update(expires_at=order.created_at)  # already expired

    def cancel():
        response = client_for(user).post(f"/api/orders/cancel/{order.pk}/")
        return response.status_code

    results = run_at_once(cancel, lambda: services.order_expire_pending())

    assert not [r for r in results if isinstance(r, Exception)], results
    cancel_status, expired = results
    assert cancel_status in (200, 409)
    assert (cancel_status == 200) + expired == 1, results
    assert Order.objects.get(pk=order.pk).status == "CANCELLED"
    assert OrderEvent.objects.filter(order=order, status="CANCELLED").count() == 1
    assert stock_of(product) == [10]
    assert cart_lines(user) == [(product.pk, 2)]


def test_two_expiry_runs_at_once_cancel_each_order_once():
    product = ProductFactory(stock=20)
    users = [UserFactory() for _ in range(4)]
    orders = [place_order(user, [(product, 2)]) for user in users]
    Order.objects.filter(pk__in=[o.pk for o in orders]).update(expires_at=orders[0].created_at)

    results = run_at_once(services.order_expire_pending, services.order_expire_pending)

    assert not [r for r in results if isinstance(r, Exception)], results
    assert sum(results) == 4
    assert stock_of(product) == [20]
    assert OrderEvent.objects.filter(status="CANCELLED").count() == 4
    for user in users:
        assert cart_lines(user) == [(product.pk, 2)]


def test_two_line_cancels_at_once_never_refund_more_than_paid():
    product = ProductFactory(stock=10, price=Decimal("20.00"))
    other = ProductFactory(stock=10, price=Decimal("30.00"))
    user = UserFactory()
    order = pay_order(place_order(user, [(product, 1), (other, 1)]))  # 50.00, free shipping
    line_a, line_b = order.items.order_by("id")

    results = run_at_once(
        lambda: services.order_item_cancel(order_id=order.pk, item_id=line_a.pk, user=user, reason="a"),
        lambda: services.order_item_cancel(order_id=order.pk, item_id=line_b.pk, user=user, reason="b"),
    )

    assert not [r for r in results if isinstance(r, Exception)], results
    fresh = Order.objects.get(pk=order.pk)
    assert fresh.status == "REFUNDED"
    assert fresh.amount_refunded == fresh.total == Decimal("50.00")
    assert stock_of(product, other) == [10, 10]


# --- Failures midway through checkout, with real commits ---------------------------------------------


def test_stripe_failure_midway_leaves_everything_as_before(closed_port_stripe, mailoutbox):
    product = ProductFactory(stock=4)
    user, address = buyer_with_cart([(product, 3)])

    status, body = checkout_call(user, address, "card")()

    assert status == 502 and body["code"] == "payment_provider_error"
    assert stock_of(product) == [4]
    assert cart_lines(user) == [(product.pk, 3)]
    assert not Order.objects.exists()
    assert mailoutbox == []


def test_one_confirmation_email_per_paid_order(mailoutbox):
    product = ProductFactory(stock=10)
    user = UserFactory()
    card = place_order(user, [(product, 1)])
    assert mailoutbox == []
    pay_order(card)
    services.order_mark_paid(order_id=card.pk)  # a duplicate notification
    cod = place_order(user, [(product, 1)], payment_method="cod")

    assert sorted(m.subject for m in mailoutbox) == sorted(
        [f"Thank you for your order {card.number}", f"Order {cod.number} confirmed (cash on delivery)"]
    )
