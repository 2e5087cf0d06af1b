"""GET /api/products/brands/ and /api/products/price-range/."""

from decimal import Decimal

import pytest

from products.tests.factories import CategoryFactory, ProductFactory

pytestmark = pytest.mark.django_db

BRANDS = "/api/products/brands/"
PRICE_RANGE = "/api/products/price-range/"


@pytest.fixture
def catalog():
    outdoor = CategoryFactory(slug="outdoor")
    tents = CategoryFactory(slug="tents", parent=outdoor)
    kitchen = CategoryFactory(slug="kitchen")
    ProductFactory(brand="Trailhead", price=Decimal("120.00"), category=tents)
    ProductFactory(brand="Trailhead", price=Decimal("80.00"), category=outdoor)
    ProductFactory(brand="Alpine", price=Decimal("300.00"), category=tents)
    ProductFactory(brand="Alpine", price=Decimal("999.00"), category=tents, is_active=False)
    ProductFactory(brand="Chef", price=Decimal("15.50"), category=kitchen)
    ProductFactory(brand="", price=Decimal("1.00"), category=kitchen)
    return {"outdoor": outdoor, "tents": tents, "kitchen": kitchen}


def test_brands_is_plain_array_of_active_products_ordered(api_client, catalog, django_assert_max_num_queries):
    with django_assert_max_num_queries(1):
        response = api_client.get(BRANDS)
    assert response.status_code == 200
    assert response.json() == [
        {"brand": "Alpine", "count": 1},
        {"brand": "Chef", "count": 1},
        {"brand": "Trailhead", "count": 2},
    ]


def test_brands_by_category_includes_descendants(api_client, catalog, django_assert_max_num_queries):
    with django_assert_max_num_queries(2):
        response = api_client.get(BRANDS, {"category": "outdoor"})
    assert response.json() == [{"brand": "Alpine", "count": 1}, {"brand": "Trailhead", "count": 2}]
    by_id = api_client.get(BRANDS, {"category": str(catalog["tents"].pk)}).json()
    assert by_id == [{"brand": "Alpine", "count": 1}, {"brand": "Trailhead", "count": 1}]
    assert api_client.get(BRANDS, {"category": "nope"}).json() == []


def test_price_range(api_client, catalog, django_assert_max_num_queries):
    with django_assert_max_num_queries(1):
        response = api_client.get(PRICE_RANGE)
    assert response.status_code == 200
    assert response.json() == {"min_price": "1.00", "max_price": "300.00"}  # the inactive 999 is ignored

    with django_assert_max_num_queries(2):
        response = api_client.get(PRICE_RANGE, {"category": "outdoor"})
    assert response.json() == {"min_price": "80.00", "max_price": "300.00"}


def test_price_range_when_empty(api_client, catalog):
    assert api_client.get(PRICE_RANGE, {"category": "nope"}).json() == {"min_price": None, "max_price": None}
    empty = CategoryFactory(slug="empty")
    assert api_client.get(PRICE_RANGE, {"category": empty.slug}).json() == {
        "min_price": None,
        "max_price": None,
    }


def test_facet_routes_are_not_product_details(api_client):
    # Would be 404 if /api/products/<pk>/ captured these paths.
    assert api_client.get(BRANDS).status_code == 200
    assert api_client.get(PRICE_RANGE).status_code == 200
