"""`core.prepared`: the stored SQL gives what the queryset gives (same instances, same field
values, related objects, deferred fields, converters, `values_list()` tuples, counts), in one query,
from any thread. PreparedQuery: for each shape of argument; a lookup that would change its
argument is refused. QueryMemo: built once per key and thread, within its bound, and every call
reads the database (it stores SQL, not rows)."""

import threading
from collections import Counter
from decimal import Decimal

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import connection
from django.test.utils import CaptureQueriesContext

from core.ids import MAX_ID, as_id
from core.prepared import CompiledCount, CompiledRows, PreparedQuery, QueryMemo
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


def in_another_thread(call):
    """`call()`'s result, run in a new thread (with its own database connection, closed after)."""
    results = []

    def run():
        try:
            results.append(call())
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(30)
    return results[0] if results else None


@pytest.mark.django_db(transaction=True)
def test_each_thread_compiles_its_own_and_gets_the_same_rows(products):
    prepared = PreparedQuery(build_products)
    ids = [p.pk for p in products]
    here = [product_columns(p) for p in prepared(ids)]
    there = in_another_thread(lambda: [product_columns(p) for p in prepared(ids)])
    assert there == here
    assert len(prepared._local.compiled) == 1  # this thread's; the other thread kept its own


# --- CompiledRows, CompiledCount, QueryMemo ---------------------------------------------------


def test_compiled_rows_equal_the_querysets_rows_instances_and_tuples(products):
    variant = ProductVariantFactory(product=products[0], options={"Size": "M"}, price=Decimal("5.10"))
    querysets = [
        build_products([p.pk for p in products]),
        build_products([p.pk for p in products])[1:3],
        Product.objects.order_by("id").values_list("id", "name", "price", "image", "created_at"),
        ProductVariant.objects.order_by("id").values_list("sku", "options", "price"),
    ]
    for queryset in querysets:
        expected = list(queryset._chain())
        with CaptureQueriesContext(connection) as queries:
            got = CompiledRows.of(queryset._chain()).run()
        assert len(queries) == 1
        if queryset._fields is None:
            assert [product_columns(p) for p in got] == [product_columns(p) for p in expected]
            assert [p.category_id and p.category.name for p in got] == [
                p.category_id and p.category.name for p in expected
            ]
        else:
            assert got == expected
            assert all(type(row) is tuple for row in got)
    (variant_row,) = CompiledRows.of(
        ProductVariant.objects.filter(pk=variant.pk).values_list("options", "price")
    ).run()
    assert variant_row == ({"Size": "M"}, Decimal("5.10"))


def test_compiled_rows_of_a_query_that_matches_nothing_send_no_sql(products):
    compiled = CompiledRows.of(Product.objects.filter(pk__in=[]))
    with CaptureQueriesContext(connection) as queries:
        assert compiled.run() == []
    assert len(queries) == 0


def test_compiled_counts_equal_count(products):
    for queryset in (
        Product.objects.all(),
        Product.objects.filter(is_active=True).select_related("category").order_by("-price"),
        build_products([products[0].pk, products[2].pk, products[3].pk]),
        Product.objects.filter(category__name="Shoes"),
        Product.objects.filter(pk__in=[]),
    ):
        compiled = CompiledCount(queryset._chain())
        with CaptureQueriesContext(connection) as queries:
            assert compiled.run() == queryset.count()
        assert len(queries) == (0 if compiled.statement is None else 2)
        assert compiled.statement is None or "ORDER BY" not in compiled.statement[0]
    for refused in (
        Product.objects.all()[:2],
        Product.objects.values("id"),
        Product.objects.union(Product.objects.all()),
    ):
        with pytest.raises(ImproperlyConfigured):
            CompiledCount(refused)


def test_a_memo_builds_once_per_key_and_reads_the_database_every_time(products):
    memo = QueryMemo(maxsize=2)
    built = Counter()

    def build(key):
        def make():
            built[key] += 1
            return Product.objects.filter(is_active=True, price__lte=key).order_by("id")

        return make

    cheap = [p.pk for p in products if p.is_active and p.price <= 50]
    assert [p.pk for p in memo.rows(50, build(50))] == cheap
    assert memo.compiled_count(50, build(50)).run() == len(cheap)
    new = ProductFactory(price=Decimal("1.00"))  # the memo stores SQL, not rows
    assert [p.pk for p in memo.rows(50, build(50))] == [*cheap, new.pk]
    assert memo.compiled_count(50, build(50)).run() == len(cheap) + 1
    assert built[50] == 2  # once for the rows, once for the count
    assert memo.knows_count(50) and not memo.knows_count(100)

    memo.rows(100, build(100))  # a third entry: the least recently used (the rows of 50) goes
    memo.rows(50, build(50))
    assert built == {50: 3, 100: 1}


def test_a_failing_build_is_not_remembered(products):
    memo = QueryMemo()
    calls = []

    def build():
        calls.append(1)
        raise ValueError("bad filter")

    for _ in range(2):
        with pytest.raises(ValueError, match="bad filter"):
            memo.rows("k", build)
    assert len(calls) == 2


@pytest.mark.django_db(transaction=True)
def test_each_thread_keeps_its_own_memo(products):
    memo = QueryMemo()
    built = []

    def build():
        built.append(threading.get_ident())
        return Product.objects.order_by("id")

    here = [p.pk for p in memo.rows("all", build)]
    there = in_another_thread(lambda: [p.pk for p in memo.rows("all", build)])
    assert there == here
    assert len(built) == 2 and built[0] != built[1]


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
