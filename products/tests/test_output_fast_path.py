"""The catalog's plain-dict output (`product_output`, `wishlist_item_output`) stays equal to the DRF
serializers it replaces in responses (`ProductOutputSerializer`, `WishlistItemOutputSerializer`):
same keys in the same order, same Decimal strings, DRF's datetime format, absolute image URLs,
variants and options as each caller may see them. The serializers are the schema; these tests
keep the fast path from drifting away from them."""

from datetime import UTC, datetime, timedelta
from datetime import timezone as dt_timezone
from decimal import Decimal

import pytest
from django.db.models import prefetch_related_objects
from django.test import RequestFactory
from django.utils import timezone
from rest_framework.fields import DateTimeField
from rest_framework.renderers import JSONRenderer

from conftest import client_for
from products import selectors
from products.models import Product
from products.serializers import (
    ProductOutputSerializer,
    WishlistItemOutputSerializer,
    current_timezone,
    datetime_output,
    product_output,
    wishlist_item_output,
)
from products.tests.queries import variants_queries

from .factories import CategoryFactory, ProductFactory, ProductVariantFactory, WishlistItemFactory

pytestmark = pytest.mark.django_db


def rendered(data) -> bytes:
    return JSONRenderer().render(data)


@pytest.fixture
def catalog():
    """Products that exercise every branch of the output."""
    parent = CategoryFactory(name="Clothing", slug="clothing")
    shirts = CategoryFactory(name="Shirts", slug="shirts", parent=parent)
    sized = ProductFactory(
        name="Tee",
        price=Decimal("1234567.5"),
        stock=0,
        category=shirts,
        brand="",
        description="Multi\nline ✓ «quoted»",
        default_variant=False,
    )
    ProductVariantFactory(product=sized, sku="TEE-S-RED", options={"Size": "S", "Colour": "Red"}, price="9.9")
    ProductVariantFactory(product=sized, sku="TEE-M-RED", options={"Size": "M", "Colour": "Red"}, stock=0)
    ProductVariantFactory(
        product=sized, sku="TEE-XL-BLUE", options={"Size": "XL", "Colour": "Blue"}, is_active=False
    )
    ProductVariantFactory(product=sized, sku="TEE-L-BLUE", options={"Colour": "Blue", "Size": "L"}, price="0")
    sized.image.name = "products/tee shirt.png"
    sized.save(update_fields=["image"])
    plain = ProductFactory(name="Mug", price=Decimal("0"), stock=3, category=None)
    hidden = ProductFactory(name="Old", is_active=False, category=parent)
    return [sized, plain, hidden]


def assert_same(fast, reference):
    assert fast == reference
    assert list(fast) == list(reference)  # key order
    assert rendered(fast) == rendered(reference)  # the bytes a client gets


@pytest.mark.parametrize("staff", [False, True])
@pytest.mark.parametrize("tz", ["UTC", "America/New_York"])
def test_product_output_equals_the_serializer(catalog, staff_user, staff, tz):
    user = staff_user if staff else None
    request = RequestFactory().get("/api/products/", HTTP_HOST="testserver")
    products = list(
        selectors.product_detail_queryset(user=user).order_by("id")
        if staff
        else Product.objects.order_by("id")
    )
    if not staff:
        prefetch_related_objects(products, selectors.product_variants_prefetch(user=None))
    with timezone.override(tz):
        for product in products:
            reference = ProductOutputSerializer(product, context={"request": request}).data
            fast = product_output(product, request)
            assert_same(fast, reference)
            assert fast["variants"] == reference["variants"]
        many = ProductOutputSerializer(products, many=True, context={"request": request}).data
        assert rendered([product_output(product, request) for product in products]) == rendered(many)
    sized = products[0]
    fast = product_output(sized, request)
    assert fast["image"] == "http://testserver/media/products/tee%20shirt.png"
    assert [variant["sku"] for variant in fast["variants"]] == (
        ["TEE-S-RED", "TEE-M-RED", "TEE-XL-BLUE", "TEE-L-BLUE"]
        if staff
        else ["TEE-S-RED", "TEE-M-RED", "TEE-L-BLUE"]
    )
    assert fast["price"] == "1234567.50"


def test_product_output_without_the_variants_prefetch_leaves_them_out(catalog):
    request = RequestFactory().get("/")
    product = Product.objects.select_related("category").get(pk=catalog[0].pk)
    reference = ProductOutputSerializer(product, context={"request": request}).data
    assert "variants" not in reference
    assert_same(product_output(product, request), reference)


def test_product_output_without_a_request_gives_relative_image_urls(catalog):
    product = Product.objects.get(pk=catalog[0].pk)
    assert_same(product_output(product, None), ProductOutputSerializer(product).data)


def test_wishlist_item_output_equals_the_serializer(catalog, user):
    WishlistItemFactory(user=user, product=catalog[0])
    WishlistItemFactory(user=user, product=catalog[1])
    request = RequestFactory().get("/api/wishlist/")
    items = list(
        selectors.wishlist_item_list(user=user).prefetch_related(
            selectors.product_variants_prefetch(user=None, lookup="product__variants")
        )
    )
    assert len(items) == 2
    for item in items:
        assert_same(
            wishlist_item_output(item, request),
            WishlistItemOutputSerializer(item, context={"request": request}).data,
        )


@pytest.mark.parametrize("who", ["customer", "staff"])
def test_http_wishlist_bytes_equal_the_serializer(catalog, user, staff_user, who):
    """`GET /api/products/wishlist/` (its variants inside the rows' query on PostgreSQL) answers
    the bytes the serializer gives over the prefetch: customers' variants for staff too."""
    owner = staff_user if who == "staff" else user
    for product in catalog[:2]:
        WishlistItemFactory(user=owner, product=product)
    response = client_for(owner).get("/api/products/wishlist/")
    assert response.status_code == 200
    items = list(
        selectors.wishlist_item_list(user=owner).prefetch_related(
            selectors.product_variants_prefetch(user=None, lookup="product__variants")
        )
    )
    reference = WishlistItemOutputSerializer(items, many=True, context={"request": response.wsgi_request})
    assert response.content == rendered(reference.data)
    assert [len(row["product"]["variants"]) for row in response.json()] == [1, 3]  # newest first


def _reference_detail(response, user):
    product = selectors.product_detail_queryset(user=user).get(pk=response.json()["id"])
    return rendered(ProductOutputSerializer(product, context={"request": response.wsgi_request}).data)


@pytest.mark.parametrize("who", ["anonymous", "staff"])
def test_http_detail_and_list_bytes_equal_the_serializer(catalog, api_client, staff_client, staff_user, who):
    client, user = (staff_client, staff_user) if who == "staff" else (api_client, None)
    for product in catalog[:2] + (catalog[2:] if who == "staff" else []):
        response = client.get(f"/api/products/{product.pk}/")
        assert response.status_code == 200
        assert response.content == _reference_detail(response, user)

    response = client.get("/api/products/?ordering=price")
    assert response.status_code == 200
    body = response.json()
    queryset = selectors.product_list(filters={"ordering": "price"}, user=user).prefetch_related(
        selectors.product_variants_prefetch(user=user)
    )
    reference = ProductOutputSerializer(
        list(queryset[:20]), many=True, context={"request": response.wsgi_request}
    )
    assert rendered(body["results"]) == rendered(reference.data)
    assert len(body["results"]) == (3 if who == "staff" else 2)


@pytest.mark.parametrize("staff", [False, True])
def test_variants_attach_equals_the_prefetch(catalog, staff_user, staff, django_assert_num_queries):
    """`product_variants_attach` (the responses' one query) gives what the prefetch gives: the same
    variants in the same order, the product cached on each, `[]` for a product with none visible,
    and every copy of a product that comes twice."""
    user = staff_user if staff else None
    ProductVariantFactory(product=catalog[1], sku="MUG-OFF", options={"Size": "XXL"}, is_active=False)
    ProductVariantFactory(product=catalog[2], sku="OLD-2", options={"Size": "M"})
    catalog[2].variants.update(is_active=False)
    ids = [product.pk for product in catalog]
    prefetched = list(selectors.product_detail_queryset(user=staff_user).filter(pk__in=ids).order_by("id"))
    if not staff:
        for product in prefetched:
            del product.listed_variants
        prefetch_related_objects(prefetched, selectors.product_variants_prefetch(user=None))
    attached = list(selectors.product_visible_queryset(user=staff_user).filter(pk__in=ids).order_by("id"))
    twice = Product.objects.get(pk=catalog[0].pk)
    selectors.product_variants_attach([*attached, twice], user=user)
    with django_assert_num_queries(0):
        for left, right in zip(prefetched, attached, strict=True):
            assert [v.pk for v in left.listed_variants] == [v.pk for v in right.listed_variants]
            assert all(v.product.pk == right.pk for v in right.listed_variants)  # cached
            assert product_output(left, None) == product_output(right, None)
    assert [v.pk for v in twice.listed_variants] == [v.pk for v in attached[0].listed_variants]
    assert (attached[2].listed_variants == []) == (not staff)
    selectors.product_variants_attach([], user=user)  # nothing to read: no query, no error


@pytest.mark.postgres
@pytest.mark.parametrize("staff", [False, True])
def test_variants_inline_equals_the_attach(catalog, staff_user, staff, django_assert_num_queries):
    """On PostgreSQL the list page and the cart read take their products' variants from a JSON
    column of their own query (`variants_inline`, `variants_take`): the same variants in the same
    order, field for field (prices exact, options as stored), the product cached on each, `[]` for
    a product with none visible, and the same output as `product_variants_attach` gives."""
    user = staff_user if staff else None
    ProductVariantFactory(product=catalog[1], sku="MUG-OFF", options={"Size": "XXL"}, is_active=False)
    ProductVariantFactory(
        product=catalog[1], sku="MUG-Ü", options={"Größe": "ß", "a": ["x", 1.5]}, price=Decimal("12345678.90")
    )
    catalog[2].variants.update(is_active=False)
    queryset = selectors.product_visible_queryset(user=staff_user).filter(pk__in=[p.pk for p in catalog])
    attached = list(queryset.order_by("id"))
    selectors.product_variants_attach(attached, user=user)
    with django_assert_num_queries(1):
        inline = list(selectors.variants_inline(queryset, staff=staff).order_by("id"))
        selectors.variants_take(inline, user=user)
    shown = selectors.VARIANT_SHOWN_COLUMNS
    with django_assert_num_queries(0):
        for left, right in zip(attached, inline, strict=True):
            assert [[getattr(v, name) for name in shown] for v in left.listed_variants] == [
                [getattr(v, name) for name in shown] for v in right.listed_variants
            ]
            prices = [str(v.price) for v in right.listed_variants]
            assert [str(v.price) for v in left.listed_variants] == prices
            assert all(v.product is right for v in right.listed_variants)  # cached
            assert product_output(left, None) == product_output(right, None)
            assert "_shown_variants_json" not in right.__dict__
    assert (inline[2].listed_variants == []) == (not staff)
    assert len(inline[1].listed_variants) == (3 if staff else 2)


@pytest.mark.parametrize("who", ["anonymous", "staff"])
def test_reads_load_nothing_lazily(catalog, api_client, staff_client, who, django_assert_num_queries):
    """The reads load only the shown columns (`product_read_queryset`): a field the output reads
    but the query deferred would cost a query per product. Detail: one query, the product with its
    category and variants (staff: + the user). List: the page with its total, the variants (inside
    the page on PostgreSQL)."""
    client = staff_client if who == "staff" else api_client
    extra = 1 if who == "staff" else 0
    with django_assert_num_queries(1 + extra):
        assert client.get(f"/api/products/{catalog[0].pk}/").status_code == 200
    with django_assert_num_queries(1 + variants_queries() + extra):
        assert len(client.get("/api/products/").json()["results"]) == 2 + extra


@pytest.mark.parametrize("zone", ["UTC", "Europe/Paris", "Asia/Kolkata", "America/St_Johns"])
@pytest.mark.parametrize(
    "value",
    [
        datetime(2026, 3, 29, 0, 59, 59, 999999, tzinfo=UTC),  # Paris DST starts at 01:00 UTC
        datetime(2026, 3, 29, 1, 0, 0, tzinfo=UTC),
        datetime(2026, 12, 6, 5, 0, 0, 123, tzinfo=dt_timezone(timedelta(hours=-3))),
        datetime(2026, 12, 6, 5, 0, 0),  # naive: DRF makes it aware in the current zone
    ],
)
def test_datetime_output_equals_drf(zone, value):
    with timezone.override(zone):
        drf = DateTimeField().to_representation(value)
        assert datetime_output(value) == drf
        assert datetime_output(value, current_timezone()) == drf
