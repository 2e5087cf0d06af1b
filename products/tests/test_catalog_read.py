"""GET /api/products/ and /api/products/<id>/: shape, filters, search, ordering, pagination,
visibility of inactive products, query budgets."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from products.models import Product
from products.tests.factories import CategoryFactory, ProductFactory

pytestmark = pytest.mark.django_db

LIST = "/api/products/"


def names(response) -> list[str]:
    return [row["name"] for row in response.json()["results"]]


def test_product_shape(api_client, settings):
    settings.CURRENCY = "eur"
    category = CategoryFactory(name="Audio", slug="audio")
    product = ProductFactory(
        name="Studio Headphones",
        slug="studio-headphones",
        brand="Sonix",
        sku="SX-100",
        description="Closed-back.",
        price=Decimal("59.9"),
        stock=3,
        category=category,
    )

    response = api_client.get(f"{LIST}{product.pk}/")

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {
        "id",
        "name",
        "slug",
        "brand",
        "sku",
        "description",
        "price",
        "currency",
        "stock",
        "in_stock",
        "image",
        "category",
        "is_active",
        "created_at",
        "updated_at",
        "variants",
        "options",
    }
    assert body["id"] == product.pk
    assert body["price"] == "59.90"
    assert body["currency"] == "eur"
    assert body["stock"] == 3
    assert body["in_stock"] is True
    assert body["image"] is None
    assert body["category"] == {"id": category.pk, "name": "Audio", "slug": "audio"}
    assert body["is_active"] is True
    # A simple product sells through its one default variant; it has no options.
    (variant,) = body["variants"]
    assert variant == {
        "id": product.variants.get().pk,
        "sku": "SX-100",
        "options": {},
        "price": "59.90",
        "stock": 3,
        "in_stock": True,
        "is_active": True,
    }
    assert body["options"] == []


def test_product_without_category_and_stock(api_client):
    product = ProductFactory(category=None, stock=0)
    body = api_client.get(f"{LIST}{product.pk}/").json()
    assert body["category"] is None
    assert body["in_stock"] is False


def test_list_is_paginated_with_absolute_links(api_client):
    ProductFactory.create_batch(5)

    first = api_client.get(LIST, {"page_size": 2})

    assert first.status_code == 200
    body = first.json()
    assert set(body) == {"count", "next", "previous", "results"}
    assert body["count"] == 5
    assert len(body["results"]) == 2
    assert body["previous"] is None
    assert body["next"].startswith("http://testserver/api/products/?")
    assert "page=2" in body["next"]

    second = api_client.get(body["next"])
    assert second.status_code == 200
    assert second.json()["previous"].startswith("http://testserver/api/products/")
    last = api_client.get(LIST, {"page_size": 2, "page": 3}).json()
    assert last["next"] is None
    assert len(last["results"]) == 1
    # Every product exactly once across the pages.
    seen = [
        row["id"]
        for page in (1, 2, 3)
        for row in api_client.get(LIST, {"page_size": 2, "page": page}).json()["results"]
    ]
    assert sorted(seen) == sorted(Product.objects.values_list("id", flat=True))


def test_page_size_is_capped_at_100(api_client):
    ProductFactory.create_batch(3)
    response = api_client.get(LIST, {"page_size": 1000})
    assert response.status_code == 200
    assert len(response.json()["results"]) == 3


def test_page_out_of_range_is_404(api_client):
    ProductFactory()
    response = api_client.get(LIST, {"page": 9})
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


# --- Visibility ------------------------------------------------------------------------------


def test_inactive_products_hidden_from_anonymous_and_customers(api_client, auth_client):
    visible = ProductFactory(name="Visible")
    hidden = ProductFactory(name="Hidden", is_active=False)

    for client in (api_client, auth_client):
        assert names(client.get(LIST)) == ["Visible"]
        assert client.get(f"{LIST}{visible.pk}/").status_code == 200
        response = client.get(f"{LIST}{hidden.pk}/")
        assert response.status_code == 404
        assert response.json() == {"detail": response.json()["detail"], "code": "not_found"}


def test_staff_see_inactive_products(staff_client):
    ProductFactory(name="Visible")
    hidden = ProductFactory(name="Hidden", is_active=False)

    assert sorted(names(staff_client.get(LIST))) == ["Hidden", "Visible"]
    response = staff_client.get(f"{LIST}{hidden.pk}/")
    assert response.status_code == 200
    assert response.json()["is_active"] is False


def test_unknown_and_malformed_ids_are_404(api_client):
    for path in ("999999/", "abc/", "99999999999999999999999999/"):
        response = api_client.get(f"{LIST}{path}")
        assert response.status_code == 404, path
        assert response.json()["code"] == "not_found"


# --- Filters ---------------------------------------------------------------------------------


def test_filter_by_category_slug_and_id_includes_descendants(api_client):
    electronics = CategoryFactory(name="Electronics", slug="electronics")
    audio = CategoryFactory(name="Audio", slug="audio", parent=electronics)
    headphones = CategoryFactory(name="Headphones", slug="headphones", parent=audio)
    kitchen = CategoryFactory(name="Kitchen", slug="kitchen")
    ProductFactory(name="TV", category=electronics)
    ProductFactory(name="Speaker", category=audio)
    ProductFactory(name="Earbuds", category=headphones)
    ProductFactory(name="Kettle", category=kitchen)
    ProductFactory(name="Loose", category=None)

    assert sorted(names(api_client.get(LIST, {"category": "electronics"}))) == ["Earbuds", "Speaker", "TV"]
    assert sorted(names(api_client.get(LIST, {"category": str(electronics.pk)}))) == [
        "Earbuds",
        "Speaker",
        "TV",
    ]
    assert sorted(names(api_client.get(LIST, {"category": "audio"}))) == ["Earbuds", "Speaker"]
    assert names(api_client.get(LIST, {"category": "headphones"})) == ["Earbuds"]
    assert names(api_client.get(LIST, {"category": str(kitchen.pk)})) == ["Kettle"]


def test_filter_by_unknown_category_is_empty_not_an_error(api_client):
    ProductFactory()
    response = api_client.get(LIST, {"category": "no-such-category"})
    assert response.status_code == 200
    assert response.json()["count"] == 0
    assert api_client.get(LIST, {"category": "987654"}).json()["count"] == 0


def test_category_filter_with_numeric_slug(api_client):
    year = CategoryFactory(name="2024 collection", slug="2024")
    ProductFactory(name="Retro", category=year)
    ProductFactory(name="Other")
    assert names(api_client.get(LIST, {"category": "2024"})) == ["Retro"]


def test_category_cycle_does_not_hang(api_client):
    a = CategoryFactory(slug="a")
    b = CategoryFactory(slug="b", parent=a)
    a.parent = b
    a.save()
    ProductFactory(name="In A", category=a)
    ProductFactory(name="In B", category=b)
    assert sorted(names(api_client.get(LIST, {"category": "a"}))) == ["In A", "In B"]


def test_filter_by_brand_repeatable_and_case_insensitive(api_client):
    ProductFactory(name="One", brand="Acme")
    ProductFactory(name="Two", brand="Globex")
    ProductFactory(name="Three", brand="Initech")
    ProductFactory(name="Four", brand="Smith, Sons")

    assert names(api_client.get(LIST, {"brand": "acme"})) == ["One"]
    assert sorted(names(api_client.get(f"{LIST}?brand=ACME&brand=globex"))) == ["One", "Two"]
    # A comma is part of the brand name, not a separator.
    assert names(api_client.get(LIST, {"brand": "smith, sons"})) == ["Four"]
    assert names(api_client.get(LIST, {"brand": "nobody"})) == []


def test_filter_by_price_range(api_client):
    ProductFactory(name="Cheap", price=Decimal("5.00"))
    ProductFactory(name="Mid", price=Decimal("20.00"))
    ProductFactory(name="Dear", price=Decimal("99.99"))

    assert sorted(names(api_client.get(LIST, {"min_price": "20"}))) == ["Dear", "Mid"]
    assert sorted(names(api_client.get(LIST, {"max_price": "20.00"}))) == ["Cheap", "Mid"]
    assert names(api_client.get(LIST, {"min_price": "6", "max_price": "99.98"})) == ["Mid"]
    assert names(api_client.get(LIST, {"min_price": "100"})) == []


def test_filter_in_stock(api_client):
    ProductFactory(name="Available", stock=4)
    ProductFactory(name="Sold out", stock=0)

    assert names(api_client.get(LIST, {"in_stock": "true"})) == ["Available"]
    assert names(api_client.get(LIST, {"in_stock": "false"})) == ["Sold out"]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("name", "Mechanical KEYBOARD"),
        ("brand", "Keychron"),
        ("description", "hot-swappable keys"),
        ("sku", "KB-775"),
    ],
)
def test_search_matches_name_brand_description_sku(api_client, field, value):
    target = ProductFactory(name="Target", brand="Plain", description="Nothing here", sku="TGT-1")
    setattr(target, field, value)
    target.save()
    ProductFactory(name="Other", brand="Plain", description="Nothing here", sku="OTH-1")

    term = {"name": "keyboard", "brand": "KEYCH", "description": "Hot-Swap", "sku": "kb-77"}[field]
    response = api_client.get(LIST, {"search": term})
    assert response.status_code == 200
    assert [row["id"] for row in response.json()["results"]] == [target.pk]


def test_filters_combine(api_client):
    shoes = CategoryFactory(slug="shoes")
    ProductFactory(name="Runner", brand="Stride", price=Decimal("80"), stock=2, category=shoes)
    ProductFactory(name="Runner sold out", brand="Stride", price=Decimal("80"), stock=0, category=shoes)
    ProductFactory(name="Runner cheap", brand="Stride", price=Decimal("10"), stock=2, category=shoes)
    ProductFactory(name="Runner other brand", brand="Pace", price=Decimal("80"), stock=2, category=shoes)
    ProductFactory(name="Runner elsewhere", brand="Stride", price=Decimal("80"), stock=2)

    response = api_client.get(
        LIST,
        {"category": "shoes", "brand": "stride", "min_price": "50", "in_stock": "true", "search": "runner"},
    )
    assert names(response) == ["Runner"]


@pytest.mark.parametrize(
    "params",
    [
        {"min_price": "abc"},
        {"max_price": "1e999999"},
        {"min_price": "-1"},
        {"max_price": "NaN"},
        {"ordering": "bogus"},
        {"ordering": "price,stock"},
        {"sort": "-sku"},
        {"in_stock": "maybe"},
        {"search": "x" * 201},
        {"search": "nul\x00byte"},
        {"brand": "nul\x00byte"},
        {"category": "c" * 141},
    ],
)
def test_invalid_filter_values_are_400(api_client, params):
    ProductFactory()
    response = api_client.get(LIST, params)
    assert response.status_code == 400
    body = response.json()
    assert list(body) == list(params)  # {"param": ["message"]}
    assert isinstance(body[next(iter(params))], list)


# --- Ordering --------------------------------------------------------------------------------


@pytest.fixture
def three_products():
    now = timezone.now()
    b = ProductFactory(name="Banana", price=Decimal("2.00"))
    a = ProductFactory(name="Apple", price=Decimal("3.00"))
    c = ProductFactory(name="Cherry", price=Decimal("1.00"))
    # Distinct creation times: Apple oldest, Cherry newest.
    Product.objects.filter(pk=a.pk).update(created_at=now - timedelta(days=3))
    Product.objects.filter(pk=b.pk).update(created_at=now - timedelta(days=2))
    Product.objects.filter(pk=c.pk).update(created_at=now - timedelta(days=1))
    return a, b, c


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("price", ["Cherry", "Banana", "Apple"]),
        ("-price", ["Apple", "Banana", "Cherry"]),
        ("name", ["Apple", "Banana", "Cherry"]),
        ("-name", ["Cherry", "Banana", "Apple"]),
        ("created_at", ["Apple", "Banana", "Cherry"]),
        ("-created_at", ["Cherry", "Banana", "Apple"]),
    ],
)
@pytest.mark.parametrize("param", ["ordering", "sort"])
def test_ordering_and_sort_alias(api_client, three_products, param, value, expected):
    assert names(api_client.get(LIST, {param: value})) == expected


def test_default_ordering_is_newest_first(api_client, three_products):
    assert names(api_client.get(LIST)) == ["Cherry", "Banana", "Apple"]


def test_ordering_wins_over_sort(api_client, three_products):
    assert names(api_client.get(LIST, {"ordering": "name", "sort": "-name"})) == ["Apple", "Banana", "Cherry"]


def test_equal_keys_paginate_stably(api_client):
    # Same price and same creation time: the id tiebreak keeps pages disjoint and complete.
    products = ProductFactory.create_batch(7, price=Decimal("10.00"))
    Product.objects.update(created_at=timezone.now())
    for ordering in ("price", "-price", "-created_at"):
        seen = []
        for page in (1, 2, 3, 4):
            seen += [
                row["id"]
                for row in api_client.get(LIST, {"ordering": ordering, "page_size": 2, "page": page}).json()[
                    "results"
                ]
            ]
        assert sorted(seen) == sorted(p.pk for p in products), ordering
        assert len(seen) == len(set(seen))


# --- Query budget ----------------------------------------------------------------------------


@pytest.mark.parametrize("page_size", [5, 50])
def test_list_query_budget(django_assert_max_num_queries, staff_client, page_size):
    parent = CategoryFactory(slug="parent")
    child = CategoryFactory(slug="child", parent=parent)
    for index in range(60):
        ProductFactory(category=child if index % 2 else parent, brand=f"Brand{index % 3}")

    with django_assert_max_num_queries(4):
        response = staff_client.get(
            LIST,
            {
                "page_size": page_size,
                "category": "parent",
                "brand": ["Brand0", "Brand1"],
                "search": "product",
            },
        )
    assert response.status_code == 200
    assert len(response.json()["results"]) == min(page_size, 40)

    with django_assert_max_num_queries(4):
        response = staff_client.get(LIST, {"page_size": page_size})
    assert len(response.json()["results"]) == page_size


def test_anonymous_list_query_count(api_client):
    ProductFactory.create_batch(30)
    with CaptureQueriesContext(connection) as ctx:
        assert api_client.get(LIST, {"page_size": 30}).status_code == 200
    # the page (products joined with categories, the COUNT inside it as a scalar subquery), with
    # on PostgreSQL each product's variants inside it too (`variants_inline`), elsewhere in one
    # more query
    postgresql = connection.vendor == "postgresql"
    assert len(ctx.captured_queries) == (1 if postgresql else 2)
    assert "COUNT(*)" in ctx.captured_queries[0]["sql"]
    assert ("JSONB_AGG" in ctx.captured_queries[0]["sql"]) is postgresql
