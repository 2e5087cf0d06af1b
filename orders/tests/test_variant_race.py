"""Checkout races over HTTP on PostgreSQL with variants: real threads, each on its own connection.
Stock is held per variant; the product's denormalised stock follows in the same transaction."""

from collections import Counter

import pytest

from orders.models import Order, OrderItem
from products.models import ProductVariant
from products.tests.stock_helpers import sized_product, stock_consistent, variant_of

from .conftest import cart_lines, stock_of
from .test_concurrency import buyer_with_cart, checkout_call, checkouts_watching_stock, run_at_once

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_ten_buyers_of_size_m_with_three_left():
    shirt = sized_product({"S": (5, "20.00"), "M": (3, "22.00")})
    s, m = variant_of(shirt, Size="S"), variant_of(shirt, Size="M")
    buyers = [buyer_with_cart([(m, 1)]) for _ in range(10)]
    results, seen = checkouts_watching_stock(buyers, lambda: ProductVariant.objects.get(pk=m.pk).stock)

    assert not [r for r in results if isinstance(r, Exception)], results
    assert Counter(status for status, _ in results) == {201: 3, 409: 7}, results
    losers = [body for status, body in results if status == 409]
    assert {body["code"] for body in losers} == {"insufficient_stock"}
    assert {(body["variant_id"], body["available"]) for body in losers} <= {(m.pk, 0), (m.pk, 1), (m.pk, 2)}
    assert min(seen) >= 0
    m.refresh_from_db()
    s.refresh_from_db()
    assert (m.stock, s.stock) == (0, 5)
    assert stock_of(shirt) == [5]  # the product's sum: S only (checked against the variants)
    assert Order.objects.count() == 3
    assert OrderItem.objects.filter(variant=m).count() == 3
    assert [item.options for item in OrderItem.objects.all()] == [{"Size": "M"}] * 3
    for (user, _), (status, _) in zip(buyers, results, strict=True):
        assert cart_lines(user) == ([] if status == 201 else [(shirt.pk, 1)])


def test_two_variants_and_another_product_in_opposite_orders_neither_deadlock_nor_drift():
    """Half the carts hold (M, cap), half (cap, S): the cap (4 left) binds; variant and product
    rows are locked in key order, so no two checkouts wait on each other in a cycle."""
    shirt = sized_product({"S": (10, "20.00"), "M": (10, "22.00")})
    cap = sized_product({"One size": (4, "9.00")}, name="Cap")
    s, m = variant_of(shirt, Size="S"), variant_of(shirt, Size="M")
    one = variant_of(cap, Size="One size")
    buyers = [buyer_with_cart([(m, 1), (one, 1)] if n % 2 else [(one, 1), (s, 1)]) for n in range(10)]

    results = run_at_once(*[checkout_call(user, address, "cod") for user, address in buyers])

    assert not [r for r in results if isinstance(r, Exception)], results
    assert Counter(status for status, _ in results) == {201: 4, 409: 6}, results
    one.refresh_from_db()
    assert one.stock == 0
    taken_m = OrderItem.objects.filter(variant=m).count()
    taken_s = OrderItem.objects.filter(variant=s).count()
    assert taken_m + taken_s == 4
    assert {v.pk: v.stock for v in ProductVariant.objects.filter(product=shirt)} == {
        s.pk: 10 - taken_s,
        m.pk: 10 - taken_m,
    }
    assert stock_consistent(shirt) and stock_consistent(cap)
    assert stock_of(shirt, cap) == [16, 0]
