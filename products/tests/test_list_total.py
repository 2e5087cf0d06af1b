"""The list page and its total in one query (`core.pagination.CachedCountPaginator`): the page's
query carries `COUNT(*) OVER ()` whenever the total is not cached, and falls back to COUNT(*)
where that cannot tell (no rows on the page, a query the window would miscount)."""

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from core.pagination import CachedCountPaginator
from products.models import Product
from products.tests.factories import CategoryFactory, ProductFactory

pytestmark = pytest.mark.django_db

LIST = "/api/products/"


def _sql(ctx) -> list[str]:
    return [query["sql"] for query in ctx.captured_queries]


@pytest.fixture
def catalog_cache(settings):
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "list-total"}
    }
    settings.CATALOG_CACHE_SECONDS = 30
    cache.clear()
    yield
    cache.clear()


@pytest.mark.parametrize("page_size", [1, 2, 5, 7])
def test_every_page_tells_the_exact_total_from_its_own_query(api_client, page_size):
    ProductFactory.create_batch(5)
    ProductFactory(is_active=False)  # not visible: not counted
    seen = []
    for number in range(1, 6):
        with CaptureQueriesContext(connection) as ctx:
            response = api_client.get(LIST, {"page_size": page_size, "page": number, "ordering": "name"})
        if (number - 1) * page_size >= 5:
            assert response.status_code == 404
            assert response.json() == {"detail": "Invalid page.", "code": "not_found"}
            break
        body = response.json()
        assert response.status_code == 200 and body["count"] == 5
        assert (body["next"] is None) == (number * page_size >= 5)
        seen += [product["id"] for product in body["results"]]
        sql = _sql(ctx)
        assert len(sql) == 2 and "OVER ()" in sql[0] and not any("COUNT(*) AS" in q for q in sql)
    assert sorted(seen) == sorted(Product.objects.filter(is_active=True).values_list("pk", flat=True))


def test_a_page_past_the_end_and_an_empty_filter(api_client):
    ProductFactory.create_batch(3)
    with CaptureQueriesContext(connection) as ctx:
        response = api_client.get(LIST, {"page": 2})
    assert response.status_code == 404
    assert any("COUNT(*)" in q and "OVER" not in q for q in _sql(ctx))  # the fallback total
    empty = api_client.get(LIST, {"search": "no such product"}).json()
    assert empty["count"] == 0 and empty["results"] == []
    assert api_client.get(LIST, {"page": "last", "page_size": 2}).json()["results"]
    for bad in ("0", "-1", "abc", "1.5", str(10**30)):
        response = api_client.get(LIST, {"page": bad})
        assert response.status_code == 404, bad
        assert response.json()["code"] == "not_found"


def test_the_rows_carry_no_total_attribute(api_client):
    ProductFactory.create_batch(2)
    paginator = CachedCountPaginator(Product.objects.order_by("id"), 10)
    page = paginator.page(1)
    assert paginator.count == 2
    assert [vars(product).get("_paginator_total") for product in page] == [None, None]


def test_a_distinct_query_is_counted_by_count(django_assert_num_queries):
    """DISTINCT (or GROUP BY, a slice) would make the window count rows before they are merged:
    such a query is counted by COUNT(*), as Django's Paginator does."""
    category = CategoryFactory()
    ProductFactory.create_batch(3, category=category)
    joined = Product.objects.filter(category__products__isnull=False).distinct().order_by("id")
    paginator = CachedCountPaginator(joined, 2)
    with CaptureQueriesContext(connection) as ctx:
        page = paginator.page(1)
        assert paginator.count == 3
    assert len(page) == 2
    assert not any("OVER" in q for q in _sql(ctx))


def test_the_windowed_total_is_cached_and_the_next_page_reads_it(staff_client, catalog_cache):
    """Staff requests skip the response cache, so only the total's cache is in play."""
    ProductFactory.create_batch(4)
    with CaptureQueriesContext(connection) as ctx:
        assert staff_client.get(LIST, {"page_size": 2}).json()["count"] == 4
    assert any("OVER ()" in q for q in _sql(ctx))
    with CaptureQueriesContext(connection) as ctx:
        body = staff_client.get(LIST, {"page_size": 2, "page": 2, "ordering": "-price"}).json()
    assert body["count"] == 4 and len(body["results"]) == 2
    assert not any("COUNT(" in q for q in _sql(ctx))
