"""Real threads, real PostgreSQL connections: what the cart-row lock has to guarantee."""

import threading
import time
from collections import Counter

import pytest
from django.db import transaction

from cart import services
from cart.models import Cart, CartItem
from conftest import client_for, run_together
from products.tests.factories import ProductFactory

from .factories import CartFactory, CartItemFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_ten_concurrent_increases_end_at_plus_ten(user):
    item = CartItemFactory(cart=CartFactory(user=user), product=ProductFactory(stock=50), quantity=3)
    clients = [client_for(user) for _ in range(10)]

    statuses = run_together(
        10,
        lambda i: (
            clients[i]
            .patch(f"/api/cart/update/{item.pk}/", {"action": "increase"}, format="json")
            .status_code
        ),
    )

    assert statuses == [200] * 10
    assert CartItem.objects.get(pk=item.pk).quantity == 13


def test_concurrent_adds_never_exceed_stock(user):
    product = ProductFactory(stock=5)
    clients = [client_for(user) for _ in range(10)]

    responses = run_together(
        10, lambda i: clients[i].post("/api/cart/add/", {"product_id": product.pk}, format="json")
    )

    statuses = Counter(r.status_code for r in responses)
    assert statuses == {201: 5, 409: 5}
    assert {r.json()["code"] for r in responses if r.status_code == 409} == {"insufficient_stock"}
    assert CartItem.objects.get(cart__user=user, product=product).quantity == 5
    assert Cart.objects.filter(user=user).count() == 1


def test_concurrent_adds_never_lose_an_increment(user):
    product = ProductFactory(stock=100)

    results = run_together(10, lambda i: services.cart_item_add(user=user, product_id=product.pk, quantity=2))

    assert all(isinstance(result, Cart) for result in results), results
    assert CartItem.objects.get(cart__user=user, product=product).quantity == 20


def test_concurrent_first_use_creates_one_cart_without_errors(user):
    clients = [client_for(user) for _ in range(8)]

    responses = run_together(8, lambda i: clients[i].get("/api/cart/"))

    assert [r.status_code for r in responses] == [200] * 8
    assert len({r.json()["id"] for r in responses}) == 1
    assert Cart.objects.filter(user=user).count() == 1


def test_checkout_lock_holds_off_cart_writes_until_commit(user):
    """While orders holds `cart_lock_for_checkout`, an add waits; it runs after the commit."""
    product = ProductFactory(stock=10)
    CartItemFactory(cart=CartFactory(user=user), product=product, quantity=1)
    locked = threading.Event()
    release = threading.Event()
    add_done = threading.Event()

    def checkout(i: int):
        if i == 0:
            with transaction.atomic():
                services.cart_lock_for_checkout(user=user)
                locked.set()
                release.wait(timeout=10)
            return "committed"
        locked.wait(timeout=10)
        services.cart_item_add(user=user, product_id=product.pk, quantity=1)
        add_done.set()
        return "added"

    def controller():
        locked.wait(timeout=10)
        time.sleep(0.5)
        blocked = not add_done.is_set()
        release.set()
        return blocked

    outcome: dict = {}
    watcher = threading.Thread(target=lambda: outcome.setdefault("blocked", controller()))
    watcher.start()
    results = run_together(2, checkout)
    watcher.join(timeout=20)

    assert results == ["committed", "added"]
    assert outcome["blocked"] is True
    assert CartItem.objects.get(cart__user=user, product=product).quantity == 2
