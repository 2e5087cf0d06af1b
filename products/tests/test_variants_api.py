"""Variants through the API: product output (`variants`, `options`), staff writes on
/api/products/ and /api/products/<id>/variants/, the stored totals, and the services' rules
(unique SKU and options, last active variant, ordered variants deactivated)."""

from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from orders.models import Order, OrderItem
from products import services
from products.models import Product, ProductVariant
from products.tests.factories import ProductFactory, ProductVariantFactory

pytestmark = pytest.mark.django_db

LIST = "/api/products/"


def variants_url(product) -> str:
    return f"{LIST}{product.pk}/variants/"


def variant_url(variant) -> str:
    return f"{LIST}{variant.product_id}/variants/{variant.pk}/"


def sized(sizes=(("S", 0), ("M", 4), ("L", 6)), price=Decimal("20.00"), **kwargs) -> Product:
    """A product sold in sizes (no default variant), totals recomputed as the services do."""
    product = ProductFactory(default_variant=False, price=price, stock=0, **kwargs)
    for size, stock in sizes:
        ProductVariantFactory(
            product=product, sku=f"{product.sku}-{size}", options={"Size": size}, stock=stock, price=price
        )
    services.product_totals_refresh(product_ids=[product.pk])
    product.refresh_from_db()
    return product


def order_line(product: Product, sku: str, user, *, linked: bool = True) -> OrderItem:
    """An order line for the variant `sku` of `product`: linked through the `variant` FK, or (as a
    line written before variants, whose migration could not tell the variant) only by SKU."""
    order = Order.objects.create(
        number=f"NC-V-{sku}", user=user, subtotal=product.price, total=product.price, currency="usd"
    )
    return OrderItem.objects.create(
        order=order,
        product=product,
        variant=product.variants.get(sku=sku) if linked else None,
        product_name=product.name,
        sku=sku,
        unit_price=product.price,
        quantity=1,
        line_total=product.price,
    )


SIZED_BODY = {
    "name": "Trail Tee",
    "sku": "TEE-1",
    "price": "25.00",
    "variants": [
        {"sku": "TEE-1-S", "options": {"Size": "S"}, "stock": 0},
        {"sku": "TEE-1-M", "options": {"Size": "M"}, "stock": 5, "price": "22.50"},
        {"sku": "TEE-1-L", "options": {"Size": "L"}, "stock": 3},
    ],
}


# --- Create with variants ----------------------------------------------------------------------


def test_create_with_variants_and_the_totals(staff_client):
    response = staff_client.post(LIST, SIZED_BODY, format="json")

    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["price"], body["stock"], body["in_stock"]) == ("22.50", 8, True)
    assert [(v["sku"], v["options"], v["price"], v["stock"], v["in_stock"]) for v in body["variants"]] == [
        ("TEE-1-S", {"Size": "S"}, "25.00", 0, False),  # price defaults to the product's
        ("TEE-1-M", {"Size": "M"}, "22.50", 5, True),
        ("TEE-1-L", {"Size": "L"}, "25.00", 3, True),
    ]
    assert body["options"] == [{"name": "Size", "values": ["S", "M", "L"]}]
    product = Product.objects.get(pk=body["id"])
    assert (product.price, product.stock) == (Decimal("22.50"), 8)
    assert product.variants.count() == 3  # no default variant besides them


@pytest.mark.parametrize(
    ("variants", "fragment"),
    [
        (
            [
                {"sku": "A", "options": {"Size": "M"}, "stock": 1},
                {"sku": "B", "options": {"size": " m"}, "stock": 1},
            ],
            "same options",
        ),
        (
            [
                {"sku": "A", "options": {"Size": "M"}, "stock": 1},
                {"sku": "A", "options": {"Size": "L"}, "stock": 1},
            ],
            "same SKU",
        ),
        ([{"sku": "A", "options": {"Size": ""}, "stock": 1}], "non-empty string"),
        ([{"sku": "A", "options": ["Size", "M"], "stock": 1}], "JSON object"),
        ([{"sku": "A", "options": {"Size": 3}, "stock": 1}], "non-empty string"),
        ([{"sku": "A", "options": {"Si|ze": "M"}, "stock": 1}], "may not contain"),
        ([{"sku": "A", "options": {'Si"ze': "M"}, "stock": 1}], "may not contain"),
        ([{"sku": "A", "options": {"Size": "M", "size": "L"}, "stock": 1}], "given twice"),
        ([{"sku": "A", "options": {"Size": "M"}, "stock": 1, "is_active": False}], "must be active"),
    ],
)
def test_create_with_bad_variants_is_400_and_writes_nothing(staff_client, variants, fragment):
    response = staff_client.post(LIST, {**SIZED_BODY, "variants": variants}, format="json")

    assert response.status_code == 400, response.json()
    assert "variants" in response.json()
    assert fragment in str(response.json()["variants"])
    assert not Product.objects.exists()
    assert not ProductVariant.objects.exists()


def test_create_with_a_variant_sku_taken_elsewhere_is_400(staff_client):
    ProductVariantFactory(sku="TEE-1-M")
    response = staff_client.post(LIST, SIZED_BODY, format="json")
    assert response.status_code == 400
    assert response.json() == {"variants": ["Variant 2: sku: a variant with this SKU already exists."]}
    assert Product.objects.filter(sku="TEE-1").count() == 0


def test_create_without_variants_keeps_the_default_one(staff_client):
    response = staff_client.post(
        LIST, {"name": "Mug", "sku": "MUG-1", "price": "8.00", "stock": 4}, format="json"
    )
    assert response.status_code == 201
    (variant,) = response.json()["variants"]
    assert (variant["sku"], variant["options"], variant["price"], variant["stock"]) == (
        "MUG-1",
        {},
        "8.00",
        4,
    )
    assert response.json()["options"] == []


def test_variants_cannot_be_sent_to_an_update(staff_client):
    product = sized()
    response = staff_client.patch(f"{LIST}{product.pk}/", {"variants": SIZED_BODY["variants"]}, format="json")
    assert response.status_code == 400
    assert "variants" in response.json()


# --- Variant endpoints -------------------------------------------------------------------------


def test_add_a_variant(staff_client):
    product = sized()
    response = staff_client.post(
        variants_url(product),
        {"sku": "XL-1", "options": {"Size": "XL"}, "stock": 2, "price": "19.00"},
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert set(body) == {"id", "sku", "options", "price", "stock", "in_stock", "is_active"}
    assert (body["sku"], body["options"], body["price"], body["stock"]) == (
        "XL-1",
        {"Size": "XL"},
        "19.00",
        2,
    )
    product.refresh_from_db()
    assert (product.price, product.stock) == (Decimal("19.00"), 12)


def test_added_variant_price_defaults_to_the_products(staff_client):
    product = sized(price=Decimal("31.00"))
    response = staff_client.post(
        variants_url(product), {"sku": "XL-1", "options": {"Size": "XL"}, "stock": 0}, format="json"
    )
    assert response.json()["price"] == "31.00"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"sku": "OTHER", "options": {"size": "m "}, "stock": 1}, "options"),  # same combination
        ({"sku": "TAKEN", "options": {"Size": "XL"}, "stock": 1}, "sku"),
        ({"sku": "X", "options": {}, "stock": -1}, "stock"),
        ({"sku": "X", "options": "Size=M", "stock": 1}, "options"),
        ({"sku": "X", "options": {"Size": "XL"}}, "stock"),
        ({"sku": "", "options": {"Size": "XL"}, "stock": 1}, "sku"),
        ({"sku": "X", "options": {"Size": "XL"}, "stock": 1, "price": "-1"}, "price"),
        ({"sku": "X", "options": {"n" * 51: "v"}, "stock": 1}, "options"),
    ],
)
def test_add_a_bad_variant_is_400_with_the_field(staff_client, body, field):
    product = sized()
    ProductVariantFactory(sku="TAKEN")
    before = ProductVariant.objects.count()
    response = staff_client.post(variants_url(product), body, format="json")
    assert response.status_code == 400, response.json()
    assert field in response.json()
    assert ProductVariant.objects.count() == before


def test_patch_a_variant_recomputes_the_totals(staff_client):
    product = sized()
    small = product.variants.get(options={"Size": "S"})
    response = staff_client.patch(variant_url(small), {"stock": 7, "price": "12.00"}, format="json")
    assert response.status_code == 200, response.json()
    assert (response.json()["stock"], response.json()["price"]) == (7, "12.00")
    product.refresh_from_db()
    assert (product.price, product.stock) == (Decimal("12.00"), 17)

    # An inactive variant counts for neither total.
    response = staff_client.patch(variant_url(small), {"is_active": False}, format="json")
    assert response.status_code == 200
    product.refresh_from_db()
    assert (product.price, product.stock) == (Decimal("20.00"), 10)


def test_patch_to_options_or_sku_taken_is_400(staff_client):
    product = sized()
    ProductVariantFactory(sku="TAKEN")
    small = product.variants.get(options={"Size": "S"})
    response = staff_client.patch(variant_url(small), {"options": {"Size": "M"}}, format="json")
    assert response.status_code == 400
    assert "options" in response.json()
    response = staff_client.patch(variant_url(small), {"sku": "TAKEN"}, format="json")
    assert response.status_code == 400
    assert "sku" in response.json()
    small.refresh_from_db()
    assert (small.sku, small.options) == (f"{product.sku}-S", {"Size": "S"})


def test_the_last_active_variant_cannot_be_deactivated_or_deleted(staff_client):
    product = sized(sizes=(("S", 1), ("M", 2)))
    small, medium = product.variants.order_by("pk")
    assert staff_client.patch(variant_url(small), {"is_active": False}, format="json").status_code == 200

    response = staff_client.patch(variant_url(medium), {"is_active": False}, format="json")
    assert response.status_code == 400
    assert "is_active" in response.json()
    response = staff_client.delete(variant_url(medium))
    assert response.status_code == 409
    assert response.json()["code"] == "last_active_variant"
    assert ProductVariant.objects.get(pk=medium.pk).is_active

    # An inactive variant may always go.
    assert staff_client.delete(variant_url(small)).status_code == 204
    assert not ProductVariant.objects.filter(pk=small.pk).exists()


def test_delete_a_variant_and_the_totals(staff_client):
    product = sized()
    large = product.variants.get(options={"Size": "L"})
    assert staff_client.delete(variant_url(large)).status_code == 204
    assert not ProductVariant.objects.filter(pk=large.pk).exists()
    product.refresh_from_db()
    assert product.stock == 4


def test_delete_of_an_ordered_variant_deactivates_it(staff_client, user):
    product = sized()
    medium = product.variants.get(options={"Size": "M"})
    order_line(product, medium.sku, user)

    assert staff_client.delete(variant_url(medium)).status_code == 204

    medium.refresh_from_db()
    assert medium.is_active is False
    product.refresh_from_db()
    assert product.stock == 6
    # Customers no longer see it; staff do.
    assert [v["sku"] for v in staff_client.get(f"{LIST}{product.pk}/").json()["variants"]] == [
        f"{product.sku}-S",
        f"{product.sku}-M",
        f"{product.sku}-L",
    ]


@pytest.mark.parametrize("linked", [True, False], ids=["variant-fk", "legacy-line-by-sku"])
def test_only_the_ordered_variant_is_kept(staff_client, user, linked):
    product = sized()
    medium = product.variants.get(options={"Size": "M"})
    large = product.variants.get(options={"Size": "L"})
    order_line(product, medium.sku, user, linked=linked)

    assert staff_client.delete(variant_url(medium)).status_code == 204
    assert staff_client.delete(variant_url(large)).status_code == 204

    medium.refresh_from_db()
    assert medium.is_active is False
    assert not ProductVariant.objects.filter(pk=large.pk).exists()


def test_variant_of_another_product_or_unknown_is_404(staff_client):
    product, other = sized(), sized()
    foreign = other.variants.first()
    assert (
        staff_client.patch(
            f"{LIST}{product.pk}/variants/{foreign.pk}/", {"stock": 1}, format="json"
        ).status_code
        == 404
    )
    assert staff_client.delete(f"{LIST}{product.pk}/variants/{foreign.pk}/").status_code == 404
    assert staff_client.delete(f"{LIST}{product.pk}/variants/abc/").status_code == 404
    assert staff_client.post(f"{LIST}999999/variants/", {}, format="json").status_code == 404
    foreign.refresh_from_db()
    assert foreign.stock != 1


def test_variant_writes_are_staff_only(api_client, auth_client):
    product = sized()
    small = product.variants.first()
    body = {"sku": "NEW", "options": {"Size": "XL"}, "stock": 1}
    assert api_client.post(variants_url(product), body, format="json").status_code == 401
    assert auth_client.post(variants_url(product), body, format="json").status_code == 403
    assert auth_client.patch(variant_url(small), {"stock": 0}, format="json").status_code == 403
    assert auth_client.delete(variant_url(small)).status_code == 403
    assert api_client.delete(variant_url(small)).status_code == 401
    assert ProductVariant.objects.filter(product=product).count() == 3


# --- Product price/stock through the variants --------------------------------------------------


def test_product_patch_of_price_and_stock_with_one_variant_changes_it(staff_client):
    product = ProductFactory(price=Decimal("10.00"), stock=5)
    response = staff_client.patch(f"{LIST}{product.pk}/", {"price": "12.00", "stock": 9}, format="json")
    assert response.status_code == 200
    assert (response.json()["price"], response.json()["stock"]) == ("12.00", 9)
    variant = product.variants.get()
    assert (variant.price, variant.stock) == (Decimal("12.00"), 9)


def test_product_patch_of_price_or_stock_with_several_variants_is_400(staff_client):
    product = sized()
    response = staff_client.patch(f"{LIST}{product.pk}/", {"price": "1.00", "name": "Renamed"}, format="json")
    assert response.status_code == 400
    assert list(response.json()) == ["price"]
    response = staff_client.patch(f"{LIST}{product.pk}/", {"stock": 100}, format="json")
    assert response.status_code == 400
    assert list(response.json()) == ["stock"]
    product.refresh_from_db()
    assert (product.name, product.price, product.stock) != ("Renamed", Decimal("1.00"), 100)
    assert product.stock == 10

    # A PUT of what a GET returned (price and stock unchanged) is accepted.
    body = staff_client.get(f"{LIST}{product.pk}/").json()
    put = {k: body[k] for k in ("name", "sku", "price", "stock", "brand", "description")}
    response = staff_client.put(f"{LIST}{product.pk}/", {**put, "name": "Renamed"}, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["name"] == "Renamed"


def test_product_sku_change_clashing_with_a_variant_sku_is_400(staff_client):
    product = ProductFactory(sku="MUG-1")
    ProductVariantFactory(sku="TEE-9-M")
    response = staff_client.patch(f"{LIST}{product.pk}/", {"sku": "TEE-9-M"}, format="json")
    assert response.status_code == 400
    assert response.json() == {"sku": ["A variant with this SKU already exists."]}
    assert product.variants.get().sku == "MUG-1"


def test_product_create_whose_sku_a_variant_has_is_400(staff_client):
    ProductVariantFactory(sku="TEE-9-M")
    response = staff_client.post(LIST, {"name": "Mug", "sku": "TEE-9-M", "price": "3.00"}, format="json")
    assert response.status_code == 400
    assert "sku" in response.json()
    assert not Product.objects.filter(sku="TEE-9-M").exists()


# --- Reads ---------------------------------------------------------------------------------------


def test_customers_see_active_variants_and_options_from_them(api_client, staff_client):
    product = sized()
    colour = ProductVariantFactory(
        product=product, sku="RED-M", options={"Size": "M", "Colour": "Red"}, stock=1
    )
    ProductVariantFactory(product=product, sku="OLD-XXL", options={"Size": "XXL"}, stock=5, is_active=False)
    services.product_totals_refresh(product_ids=[product.pk])

    body = api_client.get(f"{LIST}{product.pk}/").json()
    assert [v["sku"] for v in body["variants"]] == [
        f"{product.sku}-S",
        f"{product.sku}-M",
        f"{product.sku}-L",
        "RED-M",
    ]
    assert body["options"] == [
        {"name": "Size", "values": ["S", "M", "L"]},
        {"name": "Colour", "values": ["Red"]},
    ]
    assert body["stock"] == 11  # the inactive XXL does not count
    listed = api_client.get(LIST).json()["results"][0]
    assert listed["variants"] == body["variants"]
    assert listed["options"] == body["options"]

    staff_body = staff_client.get(f"{LIST}{product.pk}/").json()
    assert [v["sku"] for v in staff_body["variants"]][-1] == "OLD-XXL"
    assert staff_body["variants"][-1]["is_active"] is False
    assert staff_body["options"] == body["options"]  # options come from active variants only
    assert colour.pk in [v["id"] for v in body["variants"]]


def test_in_stock_when_any_active_variant_has_stock(api_client):
    product = sized(sizes=(("S", 0), ("M", 0)))
    body = api_client.get(f"{LIST}{product.pk}/").json()
    assert (body["stock"], body["in_stock"]) == (0, False)
    assert [v["in_stock"] for v in body["variants"]] == [False, False]


# --- Services -------------------------------------------------------------------------------------


def test_product_totals_refresh_is_one_update_for_many_products():
    first, second = sized(), sized(sizes=(("S", 1),))
    ProductVariant.objects.filter(product=first).update(stock=2, price=Decimal("3.00"))
    ProductVariant.objects.filter(product=second).update(is_active=False)
    with CaptureQueriesContext(connection) as ctx:
        assert services.product_totals_refresh(product_ids=[second.pk, first.pk]) == 2
    statements = [q["sql"] for q in ctx.captured_queries if "SAVEPOINT" not in q["sql"]]
    assert len(statements) == 2  # lock the product rows, then one UPDATE for both
    assert statements[1].startswith("UPDATE")
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.price, first.stock) == (Decimal("3.00"), 6)
    assert (second.price, second.stock) == (Decimal("20.00"), 0)  # no active variant: price kept


def test_a_unique_constraint_race_is_a_field_error_not_a_500(monkeypatch):
    """The pre-check passes (as when a concurrent writer commits between check and insert); the
    database's unique constraint decides and the service answers with the field."""
    product = sized()
    ProductVariantFactory(sku="RACE")
    real_conflict = services._variant_conflict
    calls = []

    def first_check_misses(**kwargs):
        calls.append(kwargs)
        return None if len(calls) == 1 else real_conflict(**kwargs)

    monkeypatch.setattr(services, "_variant_conflict", first_check_misses)
    with pytest.raises(services.ValidationError) as exc, transaction.atomic():
        services.variant_create(product=product, sku="RACE", options={"Size": "XL"}, stock=1)
    assert exc.value.message_dict == {"sku": ["A variant with this SKU already exists."]}
    assert len(calls) == 2
