"""The storefront fires `increase` calls without waiting for each other: every one must count.

Real threads with their own PostgreSQL connections, through HTTP on this profile.
"""

import pytest

from cart.models import CartItem
from cart.tests.factories import CartFactory, CartItemFactory
from conftest import client_for, run_together
from products.tests.factories import ProductFactory

from .conftest import url

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_ten_concurrent_increases_add_ten(user):
    item = CartItemFactory(cart=CartFactory(user=user), product=ProductFactory(stock=50), quantity=2)
    clients = [client_for(user) for _ in range(10)]

    responses = run_together(
        10, lambda i: clients[i].patch(url(f"/cart/update/{item.pk}/"), {"action": "increase"}, format="json")
    )

    assert [r.status_code for r in responses] == [200] * 10
    assert CartItem.objects.get(pk=item.pk).quantity == 12
    # Each answer showed a distinct step: the writes really were serialised.
    assert sorted(r.json()[0]["quantity"] for r in responses) == list(range(3, 13))


def test_concurrent_increases_stop_exactly_at_the_stock(user):
    item = CartItemFactory(cart=CartFactory(user=user), product=ProductFactory(stock=6), quantity=2)
    clients = [client_for(user) for _ in range(10)]

    responses = run_together(
        10, lambda i: clients[i].patch(url(f"/cart/update/{item.pk}/"), {"action": "increase"}, format="json")
    )

    codes = sorted(r.status_code for r in responses)
    assert codes == [200] * 4 + [409] * 6
    assert all("error" in r.json() for r in responses if r.status_code == 409)
    assert CartItem.objects.get(pk=item.pk).quantity == 6
