"""`?category=` naming no category (unknown slug or id) or an inactive, empty one is an empty answer
(200), never a 500, on every catalog endpoint, with the catalog cache off (tests' default) and on
(the production default: CATALOG_CACHE_SECONDS=300 when DEBUG is off).

With the cache on, the product list's cached COUNT(*) used to compile the filtered query to SQL
for its key; an unknown category filters with `.none()`, which has no SQL (`EmptyResultSet`) -> 500.
"""

from decimal import Decimal

import pytest
from django.core.cache import cache

from products.tests.factories import CategoryFactory, ProductFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(params=["cache-off", "cache-on"])
def catalog_cache_mode(request, settings):
    if request.param == "cache-on":
        settings.CACHES = {
            "default": {
                "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
                "LOCATION": "unknown-category-tests",
            }
        }
        settings.CATALOG_CACHE_SECONDS = 300
    else:
        settings.CATALOG_CACHE_SECONDS = 0
    cache.clear()
    yield request.param
    cache.clear()


@pytest.fixture
def catalog():
    """A shop with products, so an empty answer comes from the filter and not from an empty table."""
    books = CategoryFactory(name="Books", slug="books")
    ProductFactory(name="Atlas", brand="Penguin", price=Decimal("12.00"), category=books)
    ProductFactory(name="Novel", brand="Vintage", price=Decimal("8.00"), category=books)
    archive = CategoryFactory(name="Archive", slug="archive", is_active=False)
    return {"books": books, "archive": archive}


def _unknown_values(catalog) -> list[str]:
    missing_id = max(catalog["books"].pk, catalog["archive"].pk) + 1000
    return ["no-such-category", str(missing_id), "archive", str(catalog["archive"].pk)]


@pytest.mark.parametrize("authenticated", [False, True], ids=["anonymous", "customer"])
def test_product_list_is_an_empty_page(api_client, auth_client, catalog, catalog_cache_mode, authenticated):
    client = auth_client if authenticated else api_client
    for value in _unknown_values(catalog):
        for _ in range(2):  # the second answer may come from the cache
            response = client.get("/api/products/", {"category": value})
            assert response.status_code == 200, (value, response.content[:300])
            body = response.json()
            assert body["count"] == 0 and body["results"] == [], value
            assert body["next"] is None and body["previous"] is None
    # The known category still finds its products, through the same cache.
    assert client.get("/api/products/", {"category": "books"}).json()["count"] == 2


def test_brand_facets_are_empty(api_client, catalog, catalog_cache_mode):
    for value in _unknown_values(catalog):
        response = api_client.get("/api/products/brands/", {"category": value})
        assert response.status_code == 200, value
        assert response.json() == [], value
    assert len(api_client.get("/api/products/brands/", {"category": "books"}).json()) == 2


def test_price_range_is_empty(api_client, catalog, catalog_cache_mode):
    for value in _unknown_values(catalog):
        response = api_client.get("/api/products/price-range/", {"category": value})
        assert response.status_code == 200, value
        assert response.json() == {"min_price": None, "max_price": None}, value


def test_storefront_product_list_is_empty(api_client, catalog, catalog_cache_mode):
    for value in _unknown_values(catalog):
        for path in ("/api/web/products/", "/api/web/products/brands/", "/api/web/products/price-range/"):
            response = api_client.get(path, {"category": value})
            assert response.status_code == 200, (path, value)
            body = response.json()
            assert body in ([], {"min_price": None, "max_price": None}), (path, value, body)
    assert len(api_client.get("/api/web/products/", {"category": "books"}).json()) == 2


@pytest.fixture
def inactive_with_products():
    """An inactive category that still holds active products: its detail is a 404 for customers,
    so `?category=` naming it must not list them either (staff still can)."""
    retired = CategoryFactory(name="Retired", slug="retired", is_active=False)
    ProductFactory(name="Old map", brand="Penguin", price=Decimal("5.00"), category=retired)
    return retired


def test_an_inactive_category_with_products_is_empty_for_customers(
    api_client, auth_client, staff_client, catalog, inactive_with_products, catalog_cache_mode
):
    retired = inactive_with_products
    for value in ("retired", str(retired.pk)):
        for client in (api_client, auth_client):
            body = client.get("/api/products/", {"category": value}).json()
            assert body["count"] == 0 and body["results"] == [], value
        assert api_client.get("/api/products/brands/", {"category": value}).json() == []
        assert api_client.get("/api/products/price-range/", {"category": value}).json() == {
            "min_price": None,
            "max_price": None,
        }
        assert api_client.get("/api/web/products/", {"category": value}).json() == []
        # Staff manage the catalogue: they still find the products of a retired category.
        assert staff_client.get("/api/products/", {"category": value}).json()["count"] == 1, value
    # The products themselves stay visible (an inactive category does not hide its products).
    assert api_client.get("/api/products/", {"search": "Old map"}).json()["count"] == 1
