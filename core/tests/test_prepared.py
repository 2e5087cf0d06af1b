"""`core.prepared.PreparedQuery`: the stored SQL gives what the queryset gives (same instances,
same field values, related objects, deferred fields, converters), for each shape of argument,
in one query, from any thread; a lookup that would change its argument is refused."""

import threading
from decimal import Decimal

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import connection
from django.test.utils import CaptureQueriesContext

from core.ids import MAX_ID, as_id
from core.prepared import PreparedQuery
from products.models import Product, ProductVariant
from products.tests.factories import CategoryFactory, ProductFactory, ProductVariantFactory

pytestmark = pytest.mark.django_db(transaction=False)


def product_columns(product: Product) -> tuple:
    return (
        product.pk,
        product.name,
        product.price,
        product.is_active,
        product.created_at,
        product.image.name,
        product.category_id,
    )


def build_products(product_ids):
    return (
        Product.objects.select_related("category")
        .filter(pk__in=product_ids, is_active=True)
        .only("id", "name", "price", "is_active", "created_at", "image", "category__name")
        .order_by("-price", "id")
    )


@pytest.fixture
def products():
    shoes = CategoryFactory(name="Shoes")
    return [
        ProductFactory(price=Decimal("10.50"), category=shoes),
        ProductFactory(price=Decimal("99.99"), category=None),
        ProductFactory(price=Decimal("10.50"), category=shoes, image="products/a.png"),
        ProductFactory(is_active=False),
    ]


def test_instances_equal_the_querysets(products):
    prepared = PreparedQuery(build_products)
    for ids in (
        [p.pk for p in products],
        [products[0].pk],
        [products[3].pk],
        [products[2].pk, products[1].pk],
    ):
        expected = list(build_products(ids))
        with CaptureQueriesContext(connection) as queries:
            got = prepared(ids)
        assert len(queries) == 1
        assert [product_columns(p) for p in got] == [product_columns(p) for p in expected]
        for mine, theirs in zip(got, expected, strict=True):
            assert type(mine) is Product and mine._state.db == "default" and not mine._state.adding
            assert mine.get_deferred_fields() == theirs.get_deferred_fields()
            if theirs.category_id is None:
                assert mine.category is None
            else:
                with CaptureQueriesContext(connection) as lazy:
                    assert mine.category.name == theirs.category.name
                assert len(lazy) == 0  # the joined category came with the row


def test_the_same_shape_runs_with_other_ids_and_an_unknown_id_finds_nothing(products):
    prepared = PreparedQuery(lambda product_id: Product.objects.filter(pk=product_id))
    assert [p.pk for p in prepared(products[0].pk)] == [products[0].pk]
    assert [p.pk for p in prepared(products[3].pk)] == [products[3].pk]
    assert prepared(MAX_ID) == []


def test_json_and_decimal_columns_go_through_djangos_converters(products):
    variant = ProductVariantFactory(
        product=products[0], options={"size": "M", "colour": "Röd"}, price=Decimal("5.10")
    )
    prepared = PreparedQuery(lambda variant_id: ProductVariant.objects.filter(pk=variant_id))
    (got,) = prepared(variant.pk)
    assert got.options == {"size": "M", "colour": "Röd"}
    assert got.price == Decimal("5.10") and isinstance(got.price, Decimal)


def test_a_lookup_that_changes_its_argument_is_refused(products):
    prepared = PreparedQuery(lambda product_id: Product.objects.filter(pk__gt=product_id + 1))
    with pytest.raises(ImproperlyConfigured, match="unchanged"):
        prepared(products[0].pk)


def test_values_querysets_are_refused(products):
    prepared = PreparedQuery(lambda product_id: Product.objects.filter(pk=product_id).values("id"))
    with pytest.raises(ImproperlyConfigured):
        prepared(products[0].pk)


@pytest.mark.django_db(transaction=True)
def test_each_thread_compiles_its_own_and_gets_the_same_rows(products):
    prepared = PreparedQuery(build_products)
    ids = [p.pk for p in products]
    here = [product_columns(p) for p in prepared(ids)]
    there = []

    def other_thread():
        try:
            there.extend(product_columns(p) for p in prepared(ids))
        finally:
            connection.close()

    thread = threading.Thread(target=other_thread)
    thread.start()
    thread.join(30)
    assert there == here
    assert len(prepared._local.compiled) == 1  # this thread's; the other thread kept its own


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (7, 7),
        ("7", 7),
        (" 7", 7),  # int() as the ORM's lookups read it
        (str(MAX_ID), MAX_ID),
        (str(MAX_ID + 1), None),
        ("0", None),
        ("-3", None),
        ("abc", None),
        ("", None),
        (True, None),
        (None, None),
        (7.0, None),
    ],
)
def test_as_id(value, expected):
    assert as_id(value) == expected
