"""The product lists' SQL compiled once per filter set (`selectors._LIST_SQL`, core.prepared.QueryMemo).

A filter set seen before in the thread runs its stored SQL without building the FilterSet again,
and answers exactly what a cold request (a fresh build) answers; the rows are always read from the
database; staff and customers never share an entry; invalid filters are a 400 every time."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from products import selectors
from products.tests.factories import CategoryFactory, ProductFactory, ProductVariantFactory
from products.tests.queries import variants_queries

pytestmark = pytest.mark.django_db

LIST = "/api/products/"
WEB_LIST = "/api/web/products/"

FILTER_SETS = [
    {},
    {"page_size": "2"},
    {"page_size": "2", "page": "2"},
    {"ordering": "price"},
    {"sort": "-name"},
    {"category": "shoes"},
    {"category": "shoes", "ordering": "-price"},
    {"brand": ["Acme", "Zeta"]},
    {"min_price": "10", "max_price": "60"},
    {"in_stock": "true"},
    {"in_stock": "false"},
    {"search": "boot"},
    {"option": "Size:M"},
]


@pytest.fixture
def catalog():
    shoes = CategoryFactory(name="Shoes", slug="shoes")
    trainers = CategoryFactory(name="Trainers", slug="trainers", parent=shoes)
    products = [
        ProductFactory(name="Boot", brand="Acme", price=Decimal("59.00"), category=shoes),
        ProductFactory(name="Runner", brand="Zeta", price=Decimal("89.00"), category=trainers),
        ProductFactory(name="Sandal", brand="Acme", price=Decimal("19.00"), stock=0, category=shoes),
        ProductFactory(name="Hat", brand="Other", price=Decimal("9.50")),
        ProductFactory(
            name="Hidden boot", brand="Acme", price=Decimal("30.00"), is_active=False, category=shoes
        ),
    ]
    ProductVariantFactory(product=products[0], options={"Size": "M"})
    return products


@pytest.fixture
def builds(monkeypatch):
    """Clears the memo and counts the FilterSet builds (`selectors.product_list` calls)."""
    selectors._LIST_SQL.clear()
    calls = []
    real = selectors.product_list

    def counted(*, filters, user):
        calls.append(dict(filters))
        return real(filters=filters, user=user)

    monkeypatch.setattr(selectors, "product_list", counted)
    return calls


@pytest.mark.parametrize("client_name", ["api_client", "staff_client"])
def test_a_known_filter_set_answers_what_a_fresh_build_does_without_building(
    request, catalog, builds, client_name
):
    client = request.getfixturevalue(client_name)
    for params in FILTER_SETS:
        cold = client.get(LIST, params)
        assert cold.status_code == 200, (params, cold.content)
        built = len(builds)
        with CaptureQueriesContext(connection) as queries:
            warm = client.get(LIST, params)
        assert warm.json() == cold.json(), params
        assert len(builds) == built, f"{params}: the FilterSet was built again"
        assert len(queries) <= 4, params  # the list budget holds on the warm path (staff: +1 user)


def test_the_rows_and_the_total_are_read_every_time(api_client, catalog, builds):
    first = api_client.get(LIST, {"category": "shoes"}).json()
    ProductFactory(name="Clog", category=catalog[0].category)
    catalog[1].price = Decimal("5.00")
    catalog[1].save()
    again = api_client.get(LIST, {"category": "shoes"}).json()
    assert again["count"] == first["count"] + 1
    assert "Clog" in {row["name"] for row in again["results"]}
    assert {row["name"]: row["price"] for row in again["results"]}["Runner"] == "5.00"
    assert len(builds) == 1


def test_staff_and_customers_never_share_an_entry(api_client, staff_client, catalog, builds):
    params = {"search": "boot"}
    assert [r["name"] for r in api_client.get(LIST, params).json()["results"]] == ["Boot"]
    assert sorted(r["name"] for r in staff_client.get(LIST, params).json()["results"]) == [
        "Boot",
        "Hidden boot",
    ]
    assert [r["name"] for r in api_client.get(LIST, params).json()["results"]] == ["Boot"]
    assert len(builds) == 2


def test_every_value_of_a_filter_is_part_of_the_key(api_client, catalog, builds):
    one = api_client.get(LIST, {"brand": ["Acme"]}).json()
    two = api_client.get(LIST, {"brand": ["Acme", "Zeta"]}).json()
    assert one["count"] == 2 and two["count"] == 3
    # A parameter the FilterSet does not read shares the filter set's entries.
    api_client.get(LIST, {"brand": ["Acme"], "utm_source": "x"})
    assert len(builds) == 2
    # Another page of a known filter set compiles its own slice (LIMIT/OFFSET are in the SQL).
    page = api_client.get(LIST, {"brand": ["Acme"], "page_size": "1", "page": "2"}).json()
    assert page["count"] == 2 and [r["name"] for r in page["results"]] == [one["results"][1]["name"]]
    assert len(builds) == 3


def test_invalid_filters_are_a_400_every_time_even_with_an_invalid_page(api_client, catalog, builds):
    for _ in range(2):
        response = api_client.get(LIST, {"min_price": "abc", "page": "zzz"})
        assert response.status_code == 400
        assert "min_price" in response.json()
    assert api_client.get(LIST, {"page": "zzz"}).status_code == 404


def test_an_unknown_category_is_an_empty_page_warm_and_cold(api_client, catalog, builds):
    for _ in range(2):
        body = api_client.get(LIST, {"category": "nope"}).json()
        assert body["count"] == 0 and body["results"] == []
    assert len(builds) == 1


def test_the_storefront_list_builds_once_per_filter_set_and_reads_fresh_rows(
    api_client, catalog, builds, settings
):
    params = {"category": "shoes", "sort": "price"}
    cold = api_client.get(WEB_LIST, params).json()
    assert [row["subtitle"] for row in cold] == ["Sandal", "Boot", "Runner"]
    ProductFactory(name="Clog", price=Decimal("1.00"), category=catalog[0].category)
    warm = api_client.get(WEB_LIST, params).json()
    assert [row["subtitle"] for row in warm] == ["Clog", "Sandal", "Boot", "Runner"]
    assert len(builds) == 1
    settings.WEB_PRODUCT_LIST_MAX = 2  # the cap is part of the key
    assert [row["subtitle"] for row in api_client.get(WEB_LIST, params).json()] == ["Clog", "Sandal"]
    assert len(builds) == 2
    assert api_client.get(WEB_LIST, {"min_price": "x"}).status_code == 400


# --- The page and its total in one query (CachedCountPaginator + ProductListSource.rows_with_total)


def list_queries(client, params):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(LIST, params)
    return response, [q["sql"] for q in queries.captured_queries]


@pytest.mark.parametrize(
    ("params", "count", "names"),
    [
        ({"page_size": "2", "ordering": "price"}, 4, ["Hat", "Sandal"]),
        ({"page_size": "3", "page": "2", "ordering": "price"}, 4, ["Runner"]),
        ({"page_size": "2", "page": "last", "ordering": "price"}, 4, ["Boot", "Runner"]),
        ({"search": "nothing-matches"}, 0, []),
        ({"category": "nope"}, 0, []),
    ],
)
def test_the_page_carries_its_total(api_client, catalog, params, count, names):
    response, sql = list_queries(api_client, params)
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == count
    assert [row["name"] for row in body["results"]] == names
    # The page with the COUNT inside it (no separate COUNT), then the page's variants (inside the
    # first page on PostgreSQL); an unknown category matches nothing in SQL too: one query, no
    # variants to read.
    first_page = params.get("page", "1") == "1"
    variants = (variants_queries() if first_page else 1) if names else 0
    assert sum("COUNT(*)" in statement for statement in sql) <= 1
    assert len(sql) == 1 + variants + (1 if params.get("page") == "last" else 0)


@pytest.mark.postgres
def test_only_the_first_page_carries_the_variants_column(api_client, catalog):
    """PostgreSQL computes a select-list subquery for every row the LIMIT and OFFSET read, the
    skipped ones included: a deep page with the variants column would aggregate the variants of
    every product before it. So the first page carries them, later pages read them apart."""
    response, sql = list_queries(api_client, {"page_size": "2", "ordering": "price"})
    assert response.status_code == 200
    assert len(sql) == 1 and "JSONB_AGG" in sql[0]
    response, sql = list_queries(api_client, {"page_size": "2", "page": "2", "ordering": "price"})
    assert response.status_code == 200
    assert [row["name"] for row in response.json()["results"]] == ["Boot", "Runner"]
    assert len(sql) == 2
    assert "OFFSET" in sql[0] and "JSONB_AGG" not in sql[0]
    assert all(row["variants"] for row in response.json()["results"])


def test_a_page_past_the_end_is_a_404_after_counting(api_client, catalog):
    response, sql = list_queries(api_client, {"page_size": "2", "page": "3"})
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    assert len(sql) == 2  # the empty page, then the COUNT that says it does not exist
    assert api_client.get(LIST, {"search": "nothing-matches", "page": "2"}).status_code == 404
    for page in ("0", "-1", "abc", "1.5", str(10**20), str(2**63 // 20)):  # no OFFSET, or a huge one
        assert api_client.get(LIST, {"page": page}).status_code == 404


def test_with_the_cache_on_a_page_stores_its_total_and_the_next_reads_it(staff_client, catalog, settings):
    from django.core.cache import cache

    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "t"}
    }
    settings.CATALOG_CACHE_SECONDS = 30
    cache.clear()
    # Staff requests skip the response cache: only the cached total is in play.
    first, sql = list_queries(staff_client, {"ordering": "price"})
    assert first.json()["count"] == 5 and sum("COUNT(*)" in s for s in sql) == 1
    again, sql = list_queries(staff_client, {"ordering": "-price"})  # the same filters' total
    assert again.json()["count"] == 5
    assert not any("COUNT(*)" in s for s in sql)
    assert [r["name"] for r in again.json()["results"]] == [r["name"] for r in first.json()["results"]][::-1]
