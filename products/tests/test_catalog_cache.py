"""CATALOG_CACHE_SECONDS: the anonymous product-list response cache and the cached COUNT(*).
(Freshness after writes, the catalog version: test_catalog_cache_versioning.py.)

Off in development and tests (the default while DEBUG is on); these tests switch it on with the
`settings` fixture and use a private in-process cache so nothing leaks between tests.
"""

import pytest
from django.core.cache import cache
from django.core.cache.backends.locmem import LocMemCache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from core import catalog_cache as catalog
from products.models import Product
from products.tests.factories import CategoryFactory, ProductFactory

pytestmark = pytest.mark.django_db

LIST = "/api/products/"


@pytest.fixture
def catalog_cache(settings):
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": "catalog-cache-tests",
        }
    }
    settings.CATALOG_CACHE_SECONDS = 30
    cache.clear()
    yield
    cache.clear()


def test_off_by_default_in_tests(api_client, settings):
    assert settings.CATALOG_CACHE_SECONDS == 0
    product = ProductFactory(name="Lamp")
    assert api_client.get(LIST).json()["count"] == 1
    Product.objects.filter(pk=product.pk).update(name="Renamed")
    response = api_client.get(LIST)
    assert response.json()["results"][0]["name"] == "Renamed"
    assert "Cache-Control" not in response.headers


def test_anonymous_list_is_served_from_the_cache_without_queries(api_client, catalog_cache):
    ProductFactory(name="Lamp", stock=3)
    first = api_client.get(LIST, {"ordering": "-price"})
    assert first.status_code == 200
    # No HTTP max-age: a browser's copy would not see the catalog version change.
    assert first.headers["Cache-Control"] == "no-cache"
    assert "Authorization" in first.headers["Vary"]

    with CaptureQueriesContext(connection) as ctx:
        second = api_client.get(LIST, {"ordering": "-price"})
    assert len(ctx.captured_queries) == 0
    assert second.status_code == 200
    assert second.content == first.content
    assert second.headers["Content-Type"] == "application/json"


def test_a_write_that_skips_the_services_lags_until_it_expires(api_client, catalog_cache):
    # Raw queryset updates (a shell, a data migration) do not bump the catalog version.
    product = ProductFactory(name="Lamp", stock=3)
    assert api_client.get(LIST).json()["results"][0]["stock"] == 3
    assert api_client.get(f"{LIST}{product.pk}/").json()["stock"] == 3
    # Stock lives on the variant; the product row holds the total: a raw write changes both.
    product.variants.update(stock=0)
    Product.objects.filter(pk=product.pk).update(stock=0)
    assert api_client.get(LIST).json()["results"][0]["stock"] == 3  # within the cache time
    assert api_client.get(f"{LIST}{product.pk}/").json()["stock"] == 3
    cache.clear()  # what expiry does
    assert api_client.get(LIST).json()["results"][0]["stock"] == 0
    assert api_client.get(f"{LIST}{product.pk}/").json()["stock"] == 0
    assert api_client.get(f"{LIST}{product.pk}/").json()["variants"][0]["stock"] == 0


def test_each_url_is_cached_separately(api_client, catalog_cache):
    audio = CategoryFactory(slug="audio")
    ProductFactory(name="Speaker", category=audio)
    ProductFactory(name="Kettle")
    assert api_client.get(LIST).json()["count"] == 2
    filtered = api_client.get(LIST, {"category": "audio"}).json()
    assert [row["name"] for row in filtered["results"]] == ["Speaker"]


def test_requests_with_a_token_bypass_the_cache(api_client, staff_client, catalog_cache):
    product = ProductFactory(name="Lamp")
    assert api_client.get(LIST).json()["count"] == 1
    Product.objects.filter(pk=product.pk).update(is_active=False)
    # Anonymous: the cached page, until it expires.
    assert api_client.get(LIST).json()["results"][0]["is_active"] is True
    # Staff see the database, inactive product included; their answer is never stored.
    staff_rows = staff_client.get(LIST).json()["results"]
    assert staff_rows[0]["is_active"] is False
    assert api_client.get(LIST).json()["results"][0]["is_active"] is True


def test_errors_are_not_cached(api_client, catalog_cache):
    ProductFactory(name="Lamp")
    for _ in range(2):  # evaluated again each time: never a stored body
        response = api_client.get(LIST, {"min_price": "abc"})
        assert response.status_code == 400
        assert "min_price" in response.json()
        assert "Cache-Control" not in response.headers
    for _ in range(2):
        response = api_client.get(LIST, {"page": "99"})
        assert response.status_code == 404
        assert response.json()["code"] == "not_found"
        assert "Cache-Control" not in response.headers


def test_count_is_cached_per_filter_and_shared_across_orderings(staff_client, catalog_cache):
    # Staff requests skip the response cache, so only the COUNT(*) cache is in play here.
    ProductFactory.create_batch(3)
    assert staff_client.get(LIST, {"ordering": "price"}).json()["count"] == 3

    ProductFactory()  # a fourth product: the cached total lags, the rows do not
    with CaptureQueriesContext(connection) as ctx:
        body = staff_client.get(LIST, {"ordering": "-price", "page_size": 10}).json()
    assert body["count"] == 3
    assert len(body["results"]) == 4  # the rows are never cut to the cached total
    assert not any("COUNT(" in q["sql"] for q in ctx.captured_queries)

    # A different filter is a different total.
    assert staff_client.get(LIST, {"min_price": "0"}).json()["count"] == 4


def test_count_without_cache_is_exact(staff_client, settings):
    settings.CATALOG_CACHE_SECONDS = 0
    ProductFactory.create_batch(3)
    assert staff_client.get(LIST).json()["count"] == 3
    ProductFactory()
    assert staff_client.get(LIST).json()["count"] == 4


class CountingCache(LocMemCache):
    """An in-process cache that records its reads of catalog keys: with Redis each read is a
    round trip. (The throttles' reads are not the catalog cache's.)"""

    reads: list[str] = []

    def get(self, key, default=None, version=None):
        if key.startswith("catalog:"):
            self.reads.append("get")
        return super().get(key, default, version)

    def get_many(self, keys, version=None):
        if any(key.startswith("catalog:") for key in keys):
            self.reads.append("get_many")
        missing = object()
        found = {key: LocMemCache.get(self, key, missing, version) for key in keys}
        return {key: value for key, value in found.items() if value is not missing}


def test_a_cached_answer_costs_one_cache_read(api_client, settings):
    settings.CACHES = {"default": {"BACKEND": f"{__name__}.CountingCache", "LOCATION": "counting"}}
    settings.CATALOG_CACHE_SECONDS = 30
    cache.clear()
    product = ProductFactory(name="Lamp")
    for path in (LIST, f"{LIST}{product.pk}/", "/api/web/products/", "/api/products/options/"):
        first = api_client.get(path)
        CountingCache.reads.clear()
        with CaptureQueriesContext(connection) as ctx:
            second = api_client.get(path)
        assert ctx.captured_queries == []
        assert second.content == first.content
        assert CountingCache.reads == ["get_many"], path  # the versions and the entry together
    cache.clear()


def test_a_hit_answers_with_the_headers_of_the_miss_that_stored_it(api_client, catalog_cache):
    # A hit builds its response anew, with its Vary and Cache-Control set directly: the headers
    # must be the ones the view's own response carried, on every cached view.
    product = ProductFactory(name="Lamp")
    paths = (
        LIST,
        f"{LIST}{product.pk}/",
        "/api/products/options/",
        "/api/web/products/",
        f"/api/web/products/{product.pk}/",
    )
    for path in paths:
        miss = api_client.get(path)
        hit = api_client.get(path)
        assert miss.status_code == hit.status_code == 200, path
        assert hit.content == miss.content, path
        per_request = {"X-Request-ID"}
        assert {k: v for k, v in hit.headers.items() if k not in per_request} == {
            k: v for k, v in miss.headers.items() if k not in per_request
        }, path
        assert hit.headers["Cache-Control"] == "no-cache", path
        assert "Authorization" in hit.headers["Vary"], path


def test_an_entry_stored_before_a_write_is_a_miss_after_it(catalog_cache):
    url = "https://shop.test/api/products/1/"
    entry = catalog.catalog_lookup("response", url)
    assert entry is not None and entry.value is None  # first use: the versions are created
    reader = catalog.catalog_lookup("response", url)
    catalog._bump(catalog.VERSION_KEY)  # a write commits while the reader renders
    reader.store(b"old", 30)
    assert catalog.catalog_lookup("response", url).value is None
    catalog.catalog_lookup("response", url).store(b"new", 30)
    assert catalog.catalog_lookup("response", url).value == b"new"
    # A stock write stales the entries that show stock, not the others.
    catalog.catalog_lookup("count", "storefront", with_stock=False).store(7, 30)
    catalog._bump(catalog.STOCK_VERSION_KEY)
    assert catalog.catalog_lookup("response", url).value is None
    assert catalog.catalog_lookup("count", "storefront", with_stock=False).value == 7
    # A value of another shape under the key (an older release's format) is a miss.
    cache.set(entry.key, b"bare body", 30)
    assert catalog.catalog_lookup("response", url).value is None


def test_no_lookup_when_the_cache_cannot_hold_the_versions(settings):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}}
    assert catalog.catalog_lookup("response", "https://shop.test/") is None
