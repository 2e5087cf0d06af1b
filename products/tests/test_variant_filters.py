"""`?option=Name:Value` on the product list, the `/api/products/options/` facet, query budgets
with multi-variant products, and freshness of cached pages after a variant write."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from products import services
from products.tests.factories import CategoryFactory, ProductFactory, ProductVariantFactory

pytestmark = pytest.mark.django_db

LIST = "/api/products/"
OPTIONS = "/api/products/options/"


def with_variants(name: str, combos: list[dict], *, inactive: tuple[int, ...] = (), **kwargs):
    product = ProductFactory(name=name, default_variant=False, **kwargs)
    for index, options in enumerate(combos):
        ProductVariantFactory(
            product=product, sku=f"{name}-{index}", options=options, stock=3, is_active=index not in inactive
        )
    services.product_totals_refresh(product_ids=[product.pk])
    return product


def names(response) -> list[str]:
    assert response.status_code == 200, response.json()
    return sorted(row["name"] for row in response.json()["results"])


@pytest.fixture
def wardrobe():
    tops = CategoryFactory(slug="tops")
    tees = CategoryFactory(slug="tees", parent=tops)
    shoes = CategoryFactory(slug="shoes")
    with_variants(
        "tee",
        [{"Size": "S", "Colour": "Red"}, {"Size": "M", "Colour": "Blue"}, {"Size": "L", "Colour": "Red"}],
        category=tees,
    )
    with_variants("hoodie", [{"Size": "M"}, {"Size": "L"}, {"Size": "XL"}], inactive=(0,), category=tops)
    with_variants("boot", [{"Size": "42"}, {"Size": "43"}], category=shoes)
    with_variants("old", [{"Size": "M"}], category=tops, is_active=False)  # inactive product
    ProductFactory(name="mug", category=shoes)  # default variant, no options
    return tops, tees, shoes


def test_option_filter_keeps_products_with_an_active_variant_of_that_value(api_client, wardrobe):
    assert names(api_client.get(LIST, {"option": "Size:M"})) == ["tee"]  # hoodie's M is inactive
    assert names(api_client.get(LIST, {"option": "Size:L"})) == ["hoodie", "tee"]
    assert names(api_client.get(LIST, {"option": "Size:42"})) == ["boot"]
    assert names(api_client.get(LIST, {"option": "Size:XXL"})) == []


def test_option_filter_is_and_across_names_on_one_variant(api_client, wardrobe):
    assert names(api_client.get(LIST, {"option": ["Size:M", "Colour:Blue"]})) == ["tee"]
    # The tee has an M and a Red, but no red M: no match.
    assert names(api_client.get(LIST, {"option": ["Size:M", "Colour:Red"]})) == []
    # Several values of one name are alternatives.
    assert names(api_client.get(LIST, {"option": ["Size:XL", "Size:42"]})) == ["boot", "hoodie"]
    assert names(api_client.get(LIST, {"option": ["Size:S", "Size:M", "Colour:Red"]})) == ["tee"]


def test_option_filter_is_exact_and_case_sensitive(api_client, wardrobe):
    assert names(api_client.get(LIST, {"option": "size:M"})) == []
    assert names(api_client.get(LIST, {"option": "Size:m"})) == []
    assert names(api_client.get(LIST, {"option": " Size : M "})) == ["tee"]  # trimmed


def test_option_filter_combines_with_the_other_filters(api_client, wardrobe):
    assert names(api_client.get(LIST, {"option": "Size:L", "category": "tees"})) == ["tee"]
    assert names(api_client.get(LIST, {"option": "Size:L", "category": "tops"})) == ["hoodie", "tee"]
    assert api_client.get(LIST, {"option": "Size:L"}).json()["count"] == 2


def test_staff_see_inactive_products_matching(staff_client, wardrobe):
    assert names(staff_client.get(LIST, {"option": "Size:M"})) == ["old", "tee"]


@pytest.mark.parametrize("value", ["Size", "Size:", ":M", "SizeM", "x" * 161, "Size:M\x00"])
def test_bad_option_is_400(api_client, value):
    response = api_client.get(LIST, {"option": value})
    assert response.status_code == 400
    assert "option" in response.json()


def test_too_many_options_is_400(api_client):
    response = api_client.get(LIST, {"option": [f"Size:{n}" for n in range(11)]})
    assert response.status_code == 400
    assert "option" in response.json()


def test_option_names_with_odd_characters_are_matched_safely(api_client):
    with_variants("odd", [{"Fit's [style] %_": "Slim % _ 'x'"}])
    assert names(api_client.get(LIST, {"option": "Fit's [style] %_:Slim % _ 'x'"})) == ["odd"]
    assert names(api_client.get(LIST, {"option": "Fit's [style] %_:Slim"})) == []
    assert names(api_client.get(LIST, {"option": "Fit's [style] %:Slim % _ 'x'"})) == []


# --- Options facet ---------------------------------------------------------------------------


def test_options_facet_counts_active_products_with_an_active_variant(api_client, wardrobe):
    response = api_client.get(OPTIONS)
    assert response.status_code == 200
    assert response.json() == [
        {
            "name": "Size",
            "values": [
                {"value": "S", "count": 1},
                {"value": "M", "count": 1},  # the hoodie's M is inactive, "old" is inactive
                {"value": "L", "count": 2},
                {"value": "XL", "count": 1},
                {"value": "42", "count": 1},
                {"value": "43", "count": 1},
            ],
        },
        {"name": "Colour", "values": [{"value": "Red", "count": 1}, {"value": "Blue", "count": 1}]},
    ]


def test_options_facet_by_category_includes_descendants(api_client, wardrobe):
    body = api_client.get(OPTIONS, {"category": "tops"}).json()
    assert [(row["name"], [v["value"] for v in row["values"]]) for row in body] == [
        ("Size", ["S", "M", "L", "XL"]),
        ("Colour", ["Red", "Blue"]),
    ]
    assert api_client.get(OPTIONS, {"category": "shoes"}).json() == [
        {"name": "Size", "values": [{"value": "42", "count": 1}, {"value": "43", "count": 1}]}
    ]
    assert api_client.get(OPTIONS, {"category": "nope"}).json() == []


def test_options_facet_is_one_query(api_client, wardrobe, django_assert_max_num_queries):
    with django_assert_max_num_queries(1):
        assert api_client.get(OPTIONS).status_code == 200
    with django_assert_max_num_queries(2):  # + the category tree
        assert api_client.get(OPTIONS, {"category": "tops"}).status_code == 200


# --- Query budgets with multi-variant products -----------------------------------------------


@pytest.mark.parametrize("page_size", [5, 50])
def test_list_budget_with_multi_variant_pages(
    django_assert_max_num_queries, staff_client, api_client, page_size
):
    parent = CategoryFactory(slug="parent")
    child = CategoryFactory(slug="child", parent=parent)
    for index in range(30):
        with_variants(
            f"p{index}",
            [{"Size": size, "Colour": "Red"} for size in ("S", "M", "L", "XL")],
            category=child if index % 2 else parent,
        )
    for client in (staff_client, api_client):
        with django_assert_max_num_queries(4):
            response = client.get(
                LIST,
                {
                    "page_size": page_size,
                    "category": "parent",
                    "option": ["Size:M", "Colour:Red"],
                    "search": "p",
                },
            )
        rows = response.json()["results"]
        assert len(rows) == min(page_size, 30)
        assert all(len(row["variants"]) == 4 for row in rows)


def test_detail_budget_with_many_variants(api_client, django_assert_max_num_queries):
    product = with_variants("big", [{"Size": str(n)} for n in range(40)])
    with django_assert_max_num_queries(2):  # product (with category) + its variants
        body = api_client.get(f"{LIST}{product.pk}/").json()
    assert len(body["variants"]) == 40


# --- Cached pages after variant writes -------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_variant_price_change_is_visible_at_once_with_the_cache_on(settings, api_client, staff_client):
    settings.CATALOG_CACHE_SECONDS = 3600  # only the catalog version can refresh a page
    product = with_variants("tee", [{"Size": "S"}, {"Size": "M"}], price=Decimal("20.00"))
    small = product.variants.order_by("pk").first()
    detail = f"{LIST}{product.pk}/"

    def read():
        listed = api_client.get(LIST).json()["results"][0]
        shown = api_client.get(detail).json()
        facet = api_client.get(OPTIONS).json()
        return listed, shown, facet

    read()
    with CaptureQueriesContext(connection) as ctx:  # warm: served from the cache
        read()
    assert not ctx.captured_queries

    response = staff_client.patch(f"{detail}variants/{small.pk}/", {"price": "9.00"}, format="json")
    assert response.status_code == 200
    listed, shown, _facet = read()
    assert listed["price"] == shown["price"] == "9.00"
    assert listed["variants"][0]["price"] == shown["variants"][0]["price"] == "9.00"

    response = staff_client.post(
        f"{detail}variants/", {"sku": "T-XL", "options": {"Size": "XL"}, "stock": 1}, format="json"
    )
    assert response.status_code == 201
    listed, shown, facet = read()
    assert [v["sku"] for v in shown["variants"]][-1] == "T-XL"
    assert [v["value"] for v in facet[0]["values"]] == ["S", "M", "XL"]

    assert staff_client.delete(f"{detail}variants/{small.pk}/").status_code == 204
    listed, shown, facet = read()
    assert len(listed["variants"]) == len(shown["variants"]) == 2
    assert [v["value"] for v in facet[0]["values"]] == ["M", "XL"]
