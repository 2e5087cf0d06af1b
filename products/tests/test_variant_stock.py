"""products/stock.py with variants: stock is taken from and put back on variant rows, and the
product's denormalised `stock` (summed active variant stock) moves by the same delta."""

import pytest
from django.db import transaction

from core.exceptions import InsufficientStock, ProductUnavailable
from products import stock
from products.models import Product, ProductVariant
from products.tests.factories import ProductFactory
from products.tests.stock_helpers import sized_product, stock_consistent, variant_of

pytestmark = pytest.mark.django_db


def stocks(product) -> tuple[int, dict[str, int]]:
    """(product.stock, {size: variant stock})."""
    variants = ProductVariant.objects.filter(product=product)
    return (
        Product.objects.get(pk=product.pk).stock,
        {v.options.get("Size", ""): v.stock for v in variants},
    )


@pytest.fixture
def shirt():
    return sized_product()  # S: 5, M: 3; product stock 8


def test_take_moves_the_variant_and_the_products_sum(shirt):
    m = variant_of(shirt, Size="M")
    with transaction.atomic():
        stock.stock_take(lines=[(m.pk, 2)])
    assert stocks(shirt) == (6, {"S": 5, "M": 1})
    assert stock_consistent(shirt)


def test_take_is_per_variant_not_per_product(shirt):
    """M has 3: asking 4 of M is short even though the product holds 8."""
    m = variant_of(shirt, Size="M")
    with pytest.raises(InsufficientStock) as exc, transaction.atomic():
        stock.stock_take(lines=[(m.pk, 4)])
    assert exc.value.extra["variant_id"] == m.pk
    assert exc.value.extra["available"] == 3
    [line] = exc.value.extra["short_lines"]
    assert line == {
        "product_id": shirt.pk,
        "product_name": "T-shirt",
        "variant_id": m.pk,
        "sku": m.sku,
        "options": {"Size": "M"},
        "requested": 4,
        "available": 3,
    }
    assert stocks(shirt) == (8, {"S": 5, "M": 3})


def test_take_of_two_variants_of_one_product_moves_the_sum_once_per_unit(shirt):
    s, m = variant_of(shirt, Size="S"), variant_of(shirt, Size="M")
    with transaction.atomic():
        stock.stock_take(lines=[(m.pk, 1), (s.pk, 2), (m.pk, 2)])  # M merged: 3
    assert stocks(shirt) == (3, {"S": 3, "M": 0})


@pytest.mark.django_db(transaction=True)
def test_take_is_all_or_nothing_across_variants(shirt):
    s, m = variant_of(shirt, Size="S"), variant_of(shirt, Size="M")
    with pytest.raises(InsufficientStock), transaction.atomic():
        stock.stock_take(lines=[(s.pk, 5), (m.pk, 4)])  # S could be served, M cannot
    assert stocks(shirt) == (8, {"S": 5, "M": 3})


def test_an_inactive_variant_is_unavailable(shirt):
    m = variant_of(shirt, Size="M")
    ProductVariant.objects.filter(pk=m.pk).update(is_active=False)
    with pytest.raises(ProductUnavailable) as exc:
        stock.stock_check_for_purchase(lines=[(m.pk, 1)])
    assert exc.value.extra == {"product_id": shirt.pk, "variant_id": m.pk}
    with pytest.raises(ProductUnavailable), transaction.atomic():
        stock.stock_take(lines=[(m.pk, 1)])


@pytest.mark.django_db(transaction=True)
def test_an_inactive_product_refuses_the_take_and_nothing_moves(shirt):
    s = variant_of(shirt, Size="S")
    Product.objects.filter(pk=shirt.pk).update(is_active=False)
    with pytest.raises(ProductUnavailable) as exc, transaction.atomic():
        stock.stock_take(lines=[(s.pk, 1)])
    assert exc.value.extra == {"product_id": shirt.pk, "variant_id": s.pk}
    assert stocks(shirt) == (8, {"S": 5, "M": 3})


def test_release_puts_units_back_on_the_variant_and_the_sum(shirt):
    m = variant_of(shirt, Size="M")
    with transaction.atomic():
        stock.stock_take(lines=[(m.pk, 3)])
        stock.stock_release(lines=[(m.pk, 2), (None, 4)])  # a line without a variant is skipped
    assert stocks(shirt) == (7, {"S": 5, "M": 2})


def test_release_onto_an_inactive_variant_leaves_the_products_sum(shirt):
    """The product's stock sums active variants only: units back on an inactive one do not count."""
    m = variant_of(shirt, Size="M")
    with transaction.atomic():
        stock.stock_take(lines=[(m.pk, 1)])
    ProductVariant.objects.filter(pk=m.pk).update(is_active=False)
    Product.objects.filter(pk=shirt.pk).update(stock=5)  # what a staff deactivation leaves: S only
    with transaction.atomic():
        stock.stock_release(lines=[(m.pk, 1)])
    assert stocks(shirt) == (5, {"S": 5, "M": 3})
    assert stock_consistent(shirt)


def test_release_of_a_deleted_variant_is_skipped(shirt):
    m = variant_of(shirt, Size="M")
    m_id = m.pk
    m.delete()
    with transaction.atomic():
        stock.stock_release(lines=[(m_id, 2)])
    assert Product.objects.get(pk=shirt.pk).stock == 8


def test_a_default_variant_product_still_works_as_before():
    product = ProductFactory(stock=4)
    [variant] = product.variants.all()
    with transaction.atomic():
        stock.stock_take(lines=[(variant.pk, 4)])
    assert stocks(product) == (0, {"": 0})


def test_check_line_is_per_variant(shirt):
    m = variant_of(shirt, Size="M")
    stock.stock_check_line(variant=m, quantity=3, cap=99)
    with pytest.raises(InsufficientStock) as exc:
        stock.stock_check_line(variant=m, quantity=4, cap=99)
    assert exc.value.extra == {"product_id": shirt.pk, "variant_id": m.pk, "available": 3}


def test_restorable_keeps_active_in_stock_variants_of_active_products(shirt):
    s, m = variant_of(shirt, Size="S"), variant_of(shirt, Size="M")
    other = sized_product({"L": (2, "9.00")}, name="Cap")
    ProductVariant.objects.filter(pk=m.pk).update(stock=0)
    Product.objects.filter(pk=other.pk).update(is_active=False)
    found = stock.stock_restorable(variant_ids=[s.pk, m.pk, variant_of(other, Size="L").pk])
    assert set(found) == {s.pk}
