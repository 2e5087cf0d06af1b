"""Catalog through the storefront profile: categories, brands, price range, product list and detail."""

from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from conftest import client_for
from products.tests.factories import CategoryFactory, ProductFactory

from .conftest import BEARER_NULL, image_file, is_number, url

pytestmark = pytest.mark.django_db

PRODUCT_KEYS = {"id", "title", "subtitle", "price", "image", "description"}
CATEGORY_KEYS = {
    "id",
    "name",
    "slug",
    "image",
    "mobile_image",
    "mobile_secondary_image",
    "desktop_image",
    "desktop_secondary_image",
}


@pytest.fixture
def shelf(category):
    """Books (with a sub-category) and Music, with brands and prices to filter on."""
    fiction = CategoryFactory(name="Fiction", slug="fiction", parent=category)
    music = CategoryFactory(name="Music", slug="music")
    return {
        "cheap": ProductFactory(name="Pamphlet", brand="Penguin", price=Decimal("5.50"), category=category),
        "mid": ProductFactory(name="Novel", brand="Vintage", price=Decimal("12.00"), category=fiction),
        "dear": ProductFactory(name="Atlas", brand="Penguin", price=Decimal("80.25"), category=category),
        "vinyl": ProductFactory(name="Vinyl", brand="Decca", price=Decimal("30.00"), category=music),
        "hidden": ProductFactory(
            name="Gone", brand="Ghost", price=Decimal("1.00"), category=category, is_active=False
        ),
    }


# --- categories ----------------------------------------------------------------------------------


def test_categories_active_only_with_absolute_banner_urls(api_client, category):
    category.desktop_image.save("desk.png", image_file("desk.png"), save=True)
    CategoryFactory(name="Archive", slug="archive", is_active=False)

    response = api_client.get(url("/categories/"))

    assert response.status_code == 200
    body = response.json()
    assert isinstance(body, list)
    assert [c["slug"] for c in body] == ["books"]
    books = body[0]
    assert set(books) == CATEGORY_KEYS
    assert books["id"] == category.pk and books["name"] == "Books"
    assert books["desktop_image"].startswith("http://testserver/media/categories/banners/desk")
    assert books["image"] is None
    assert books["mobile_image"] is None and books["mobile_secondary_image"] is None


def test_categories_hide_inactive_ones_from_staff_too(staff_user, category):
    CategoryFactory(name="Archive", slug="archive", is_active=False)
    body = client_for(staff_user).get(url("/categories/")).json()
    assert [c["slug"] for c in body] == ["books"]


# --- brands and price range -----------------------------------------------------------------------


def test_brands_of_a_category_and_its_subcategories(api_client, shelf):
    response = api_client.get(url("/products/brands/"), {"category": "books"})

    assert response.status_code == 200
    assert response.json() == [{"title": "Penguin"}, {"title": "Vintage"}]


def test_brands_unknown_category_is_an_empty_array(api_client, shelf):
    response = api_client.get(url("/products/brands/"), {"category": "nope"})
    assert response.status_code == 200
    assert response.json() == []


def test_price_range_numbers(api_client, shelf):
    response = api_client.get(url("/products/price-range/"), {"category": "books"})

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"min_price", "max_price"}
    assert is_number(body["min_price"]) and is_number(body["max_price"])
    assert body == {"min_price": 5.5, "max_price": 80.25}


def test_price_range_empty_category_means_every_active_product(api_client, shelf):
    body = api_client.get(url("/products/price-range/?category=")).json()
    assert body == {"min_price": 5.5, "max_price": 80.25}


def test_price_range_without_products_is_null(api_client, shelf):
    body = api_client.get(url("/products/price-range/"), {"category": "nope"}).json()
    assert body == {"min_price": None, "max_price": None}


# --- product list --------------------------------------------------------------------------------


def test_product_list_is_a_plain_array_of_storefront_products(api_client, book):
    response = api_client.get(url("/products/"))

    assert response.status_code == 200
    body = response.json()
    assert isinstance(body, list) and len(body) == 1
    product = body[0]
    assert set(product) == PRODUCT_KEYS
    assert product["id"] == book.pk
    assert product["title"] == "Penguin"  # the brand
    assert product["subtitle"] == "Dune"  # the name
    assert is_number(product["price"]) and product["price"] == 19.99
    assert product["image"].startswith("http://testserver/media/products/dune")
    assert product["description"] == book.description


def test_product_without_image_is_null(api_client, shelf):
    body = api_client.get(url("/products/")).json()
    assert all(p["image"] is None for p in body)


def test_product_list_filters_like_the_storefront_sends_them(api_client, shelf):
    response = api_client.get(
        url("/products/?category=books&brand=Penguin&brand=Vintage&min_price=5&max_price=81&sort=-price")
    )

    assert response.status_code == 200
    assert [p["subtitle"] for p in response.json()] == ["Atlas", "Novel", "Pamphlet"]


def test_product_list_price_bounds_and_ascending_sort(api_client, shelf):
    body = api_client.get(url("/products/"), {"min_price": 6, "max_price": 30, "sort": "price"}).json()
    assert [p["subtitle"] for p in body] == ["Novel", "Vinyl"]


def test_product_list_hides_inactive_products_even_from_staff(staff_user, shelf):
    body = client_for(staff_user).get(url("/products/")).json()
    assert "Gone" not in {p["subtitle"] for p in body}
    assert len(body) == 4


def test_product_list_ignores_parameters_the_storefront_does_not_send(api_client, shelf):
    # `search` is a canonical-API filter, not part of this profile.
    body = api_client.get(url("/products/"), {"search": "Atlas"}).json()
    assert len(body) == 4


@pytest.mark.parametrize(
    "query, field",
    [
        ({"min_price": "abc"}, "min_price"),
        ({"max_price": "-1"}, "max_price"),
        ({"sort": "bogus"}, "sort"),
        ({"category": "x" * 200}, "category"),
    ],
)
def test_invalid_filters_are_400_naming_the_parameter(api_client, shelf, query, field):
    response = api_client.get(url("/products/"), query)
    assert response.status_code == 400
    assert field in response.json()


def test_product_list_is_capped(api_client, settings, shelf):
    settings.WEB_PRODUCT_LIST_MAX = 2
    body = api_client.get(url("/products/"), {"sort": "price"}).json()
    assert [p["subtitle"] for p in body] == ["Pamphlet", "Novel"]


def test_product_list_query_count_does_not_grow_with_products(
    api_client, category, django_assert_max_num_queries
):
    ProductFactory.create_batch(30, category=category)
    with django_assert_max_num_queries(3):
        response = api_client.get(url("/products/"))
    assert len(response.json()) == 30


# --- product detail ------------------------------------------------------------------------------


def test_product_detail_same_object(api_client, book):
    response = api_client.get(url(f"/products/{book.pk}/"))
    assert response.status_code == 200
    listed = api_client.get(url("/products/")).json()[0]
    assert response.json() == listed


@pytest.mark.parametrize("pk", ["999999", "9223372036854775808"])
def test_product_detail_unknown_is_404(api_client, db, pk):
    response = api_client.get(url(f"/products/{pk}/"))
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_product_detail_inactive_is_404_even_for_staff(staff_user, shelf):
    response = client_for(staff_user).get(url(f"/products/{shelf['hidden'].pk}/"))
    assert response.status_code == 404


# --- Bearer null on public endpoints ----------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    ["/categories/", "/products/", "/products/brands/", "/products/price-range/", "PRODUCT"],
)
@pytest.mark.parametrize("header", [BEARER_NULL, "Bearer not-a-jwt", "Bearer"])
def test_public_endpoints_treat_a_bad_token_as_anonymous(book, path, header):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=header)
    path = f"/products/{book.pk}/" if path == "PRODUCT" else path
    response = client.get(url(path))
    assert response.status_code == 200, (path, response.content)


def test_public_endpoint_with_a_valid_token_still_works(auth_client, book):
    assert auth_client.get(url("/products/")).status_code == 200
