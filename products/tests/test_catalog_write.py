"""Staff writes on /api/products/: create (JSON and multipart), update, delete/deactivate,
permissions and validation."""

import io
import json
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from PIL import Image

from orders.models import Order, OrderItem
from products import stock
from products.models import Product
from products.tests.factories import CategoryFactory, ProductFactory

pytestmark = pytest.mark.django_db

LIST = "/api/products/"


def png_file(name: str = "tiny.png", size: tuple[int, int] = (2, 2)) -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(buffer, format="PNG")
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/png")


def order_with(product: Product, user) -> OrderItem:
    order = Order.objects.create(
        number=f"NC-TEST-{product.pk}",
        user=user,
        subtotal=product.price,
        total=product.price,
        currency="usd",
    )
    return OrderItem.objects.create(
        order=order,
        product=product,
        product_name=product.name,
        sku=product.sku,
        unit_price=product.price,
        quantity=1,
        line_total=product.price,
    )


# --- Create ----------------------------------------------------------------------------------


def test_staff_creates_product_with_json(staff_client):
    category = CategoryFactory(name="Audio", slug="audio")

    response = staff_client.post(
        LIST,
        {
            "name": "Noise Cancelling Headphones",
            "brand": "Sonix",
            "sku": "SX-NC-1",
            "description": "Over-ear.",
            "price": "129.5",
            "stock": 7,
            "category_id": category.pk,
        },
        format="json",
    )

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["slug"] == "noise-cancelling-headphones"
    assert body["price"] == "129.50"
    assert body["category"] == {"id": category.pk, "name": "Audio", "slug": "audio"}
    assert body["image"] is None
    product = Product.objects.get(pk=body["id"])
    assert product.sku == "SX-NC-1"
    assert product.price == Decimal("129.50")
    assert product.stock == 7
    assert product.category == category
    assert product.is_active is True


def test_generated_slug_is_made_unique(staff_client):
    ProductFactory(slug="desk-lamp")
    ProductFactory(slug="desk-lamp-2")

    response = staff_client.post(LIST, {"name": "Desk Lamp", "sku": "DL-3", "price": "10"}, format="json")

    assert response.status_code == 201
    assert response.json()["slug"] == "desk-lamp-3"


def test_slug_for_name_without_ascii_letters(staff_client):
    response = staff_client.post(LIST, {"name": "日本茶", "sku": "TEA-1", "price": "10"}, format="json")
    assert response.status_code == 201
    assert response.json()["slug"] == "product"


def test_explicit_slug_is_kept_and_duplicates_are_400(staff_client):
    ProductFactory(slug="taken")
    ok = staff_client.post(LIST, {"name": "X", "slug": "my-slug", "sku": "A-1", "price": "1"}, format="json")
    assert ok.status_code == 201
    assert ok.json()["slug"] == "my-slug"

    dup = staff_client.post(LIST, {"name": "Y", "slug": "taken", "sku": "A-2", "price": "1"}, format="json")
    assert dup.status_code == 400
    assert list(dup.json()) == ["slug"]
    assert not Product.objects.filter(sku="A-2").exists()


def test_duplicate_sku_is_400(staff_client):
    ProductFactory(sku="DUP-1")
    response = staff_client.post(LIST, {"name": "Clone", "sku": "DUP-1", "price": "5"}, format="json")
    assert response.status_code == 400
    assert response.json() == {"sku": ["A product with this SKU already exists."]}
    assert Product.objects.filter(sku="DUP-1").count() == 1


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"price": "-0.01"}, "price"),
        ({"price": "abc"}, "price"),
        ({"price": "1.999"}, "price"),
        ({"price": "100000000.00"}, "price"),
        ({"stock": -1}, "stock"),
        ({"stock": 2**31}, "stock"),
        ({"category_id": 999999}, "category_id"),
        ({"category_id": "x"}, "category_id"),
        ({"name": ""}, "name"),
        ({"sku": ""}, "sku"),
        ({"slug": "not a slug"}, "slug"),
    ],
)
def test_create_validation_errors(staff_client, payload, field):
    data = {"name": "Valid", "sku": "VAL-1", "price": "1.00", **payload}
    response = staff_client.post(LIST, data, format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert not Product.objects.exists()


def test_missing_required_fields(staff_client):
    response = staff_client.post(LIST, {}, format="json")
    assert response.status_code == 400
    assert set(response.json()) == {"name", "sku", "price"}


def test_multipart_create_with_image_returns_absolute_url(staff_client, settings):
    response = staff_client.post(
        LIST,
        {"name": "Poster", "sku": "IMG-1", "price": "12.00", "stock": "3", "image": png_file()},
        format="multipart",
    )

    assert response.status_code == 201, response.json()
    url = response.json()["image"]
    assert url.startswith("http://testserver/media/products/")
    assert url.endswith(".png")
    product = Product.objects.get(sku="IMG-1")
    assert product.is_active is True  # a form without the field does not mean "false"
    assert product.image.name.startswith("products/")
    assert (settings.MEDIA_ROOT / product.image.name).exists()
    # The list and detail answers carry the same absolute URL.
    assert staff_client.get(f"{LIST}{product.pk}/").json()["image"] == url


def test_multipart_create_with_image_and_variants(staff_client):
    """A product created with its image can carry its variants: one form field holding the JSON
    array, as in a JSON body (DRF alone dropped it and made the default variant)."""
    variants = [
        {"sku": "MP-S", "options": {"Size": "S"}, "stock": 1},
        {"sku": "MP-M", "options": {"Size": "M"}, "price": "14.00", "stock": 2},
    ]
    response = staff_client.post(
        LIST,
        {
            "name": "Tee",
            "sku": "MP-1",
            "price": "12.50",
            "image": png_file(),
            "variants": json.dumps(variants),
        },
        format="multipart",
    )

    assert response.status_code == 201, response.json()
    body = response.json()
    assert [(v["sku"], v["options"], v["price"], v["stock"]) for v in body["variants"]] == [
        ("MP-S", {"Size": "S"}, "12.50", 1),
        ("MP-M", {"Size": "M"}, "14.00", 2),
    ]
    assert body["stock"] == 3 and body["image"].endswith(".png")
    assert not Product.objects.get(pk=body["id"]).variants.filter(sku="MP-1").exists()


@pytest.mark.parametrize("variants", ["not json", '{"sku": "X"}', "[1, 2]", '[{"sku": "MP-S"}]'])
def test_multipart_variants_that_are_not_a_list_of_variants_is_400(staff_client, variants):
    response = staff_client.post(
        LIST, {"name": "Tee", "sku": "MP-1", "price": "12.50", "variants": variants}, format="multipart"
    )
    assert response.status_code == 400
    assert "variants" in response.json()
    assert not Product.objects.exists()


def test_multipart_update_with_variants_is_400(staff_client):
    product = ProductFactory()
    response = staff_client.patch(
        f"{LIST}{product.pk}/",
        {"variants": json.dumps([{"sku": "MP-S", "options": {"Size": "S"}, "stock": 1}])},
        format="multipart",
    )
    assert response.status_code == 400
    assert "variants" in response.json()
    assert product.variants.count() == 1


def test_upload_that_is_not_an_image_is_400(staff_client):
    fake = SimpleUploadedFile("evil.png", b"not an image at all", content_type="image/png")
    response = staff_client.post(
        LIST, {"name": "Bad", "sku": "BAD-1", "price": "1", "image": fake}, format="multipart"
    )
    assert response.status_code == 400
    assert "image" in response.json()
    assert not Product.objects.exists()


def test_too_large_image_is_400(staff_client, monkeypatch):
    monkeypatch.setattr("products.serializers.MAX_IMAGE_BYTES", 10)
    response = staff_client.post(
        LIST, {"name": "Big", "sku": "BIG-1", "price": "1", "image": png_file()}, format="multipart"
    )
    assert response.status_code == 400
    assert "image" in response.json()


# --- Permissions -----------------------------------------------------------------------------


def test_customer_writes_are_403(auth_client):
    product = ProductFactory()
    payload = {"name": "X", "sku": "X-1", "price": "1"}
    for response in (
        auth_client.post(LIST, payload, format="json"),
        auth_client.put(f"{LIST}{product.pk}/", payload, format="json"),
        auth_client.patch(f"{LIST}{product.pk}/", {"price": "0"}, format="json"),
        auth_client.delete(f"{LIST}{product.pk}/"),
    ):
        assert response.status_code == 403
        assert response.json()["code"] == "permission_denied"
    product.refresh_from_db()
    assert product.price == Decimal("19.99")
    assert Product.objects.count() == 1


def test_anonymous_writes_are_401(api_client):
    product = ProductFactory()
    for response in (
        api_client.post(LIST, {"name": "X", "sku": "X-1", "price": "1"}, format="json"),
        api_client.patch(f"{LIST}{product.pk}/", {"price": "0"}, format="json"),
        api_client.delete(f"{LIST}{product.pk}/"),
    ):
        assert response.status_code == 401
        assert response.json()["code"] == "not_authenticated"
    assert Product.objects.filter(pk=product.pk, price=Decimal("19.99")).exists()


# --- Update ----------------------------------------------------------------------------------


def test_patch_changes_only_given_fields(staff_client):
    product = ProductFactory(name="Old", slug="old", price=Decimal("10.00"), stock=5)

    response = staff_client.patch(f"{LIST}{product.pk}/", {"price": "12.50", "name": "New"}, format="json")

    assert response.status_code == 200
    assert response.json()["price"] == "12.50"
    product.refresh_from_db()
    assert (product.name, product.slug, product.price, product.stock) == ("New", "old", Decimal("12.50"), 5)


def test_patch_does_not_overwrite_stock_changed_meanwhile(staff_client):
    """The update writes only the changed columns: a reservation made by an order between the
    staff read and the staff write survives."""
    product = ProductFactory(stock=10)
    from products import services

    stale = Product.objects.get(pk=product.pk)
    with transaction.atomic():
        stock.stock_take(lines=[(product.variants.get().pk, 3)])  # an order took 3 (variant and product row)
    services.product_update(product=stale, data={"price": Decimal("1.00")})

    product.refresh_from_db()
    assert product.stock == 7
    assert product.price == Decimal("1.00")


def test_put_requires_full_payload(staff_client):
    product = ProductFactory()
    response = staff_client.put(f"{LIST}{product.pk}/", {"price": "1.00"}, format="json")
    assert response.status_code == 400
    assert set(response.json()) == {"name", "sku"}


def test_put_replaces_product(staff_client):
    product = ProductFactory(sku="P-1")
    other = CategoryFactory()
    response = staff_client.put(
        f"{LIST}{product.pk}/",
        {"name": "Replaced", "sku": "P-1", "price": "3.00", "stock": 0, "category_id": other.pk},
        format="json",
    )
    assert response.status_code == 200
    product.refresh_from_db()
    assert (product.name, product.price, product.stock, product.category_id) == (
        "Replaced",
        Decimal("3.00"),
        0,
        other.pk,
    )


def test_patch_category_to_null_and_empty_slug_regenerates(staff_client):
    product = ProductFactory(name="Camp Stove", slug="x-1")
    response = staff_client.patch(f"{LIST}{product.pk}/", {"category_id": None, "slug": ""}, format="json")
    assert response.status_code == 200
    assert response.json()["category"] is None
    assert response.json()["slug"] == "camp-stove"


def test_patch_to_duplicate_sku_or_slug_is_400(staff_client):
    ProductFactory(sku="TAKEN", slug="taken")
    product = ProductFactory(sku="MINE", slug="mine")
    assert staff_client.patch(f"{LIST}{product.pk}/", {"sku": "TAKEN"}, format="json").status_code == 400
    assert staff_client.patch(f"{LIST}{product.pk}/", {"slug": "taken"}, format="json").status_code == 400
    # Keeping its own values is fine.
    assert (
        staff_client.patch(f"{LIST}{product.pk}/", {"sku": "MINE", "slug": "mine"}, format="json").status_code
        == 200
    )
    product.refresh_from_db()
    assert (product.sku, product.slug) == ("MINE", "mine")


@pytest.mark.parametrize(("payload", "field"), [({"price": "-1"}, "price"), ({"stock": -5}, "stock")])
def test_patch_negative_values_are_400(staff_client, payload, field):
    product = ProductFactory(price=Decimal("9.00"), stock=2)
    response = staff_client.patch(f"{LIST}{product.pk}/", payload, format="json")
    assert response.status_code == 400
    assert field in response.json()
    product.refresh_from_db()
    assert (product.price, product.stock) == (Decimal("9.00"), 2)


def test_patch_image_multipart_then_remove_it(staff_client):
    product = ProductFactory()
    response = staff_client.patch(f"{LIST}{product.pk}/", {"image": png_file("new.png")}, format="multipart")
    assert response.status_code == 200
    assert response.json()["image"].startswith("http://testserver/media/products/new")

    response = staff_client.patch(f"{LIST}{product.pk}/", {"image": None}, format="json")
    assert response.status_code == 200
    assert response.json()["image"] is None
    product.refresh_from_db()
    assert not product.image


def test_staff_can_reactivate_an_inactive_product(staff_client, api_client):
    product = ProductFactory(is_active=False)
    response = staff_client.patch(f"{LIST}{product.pk}/", {"is_active": True}, format="json")
    assert response.status_code == 200
    assert api_client.get(f"{LIST}{product.pk}/").status_code == 200


def test_update_unknown_product_is_404(staff_client):
    response = staff_client.patch(f"{LIST}424242/", {"price": "1"}, format="json")
    assert response.status_code == 404


# --- Delete ----------------------------------------------------------------------------------


def test_delete_product_without_orders_deletes_it(staff_client):
    product = ProductFactory()
    response = staff_client.delete(f"{LIST}{product.pk}/")
    assert response.status_code == 204
    assert not Product.objects.filter(pk=product.pk).exists()


def test_delete_product_in_an_order_deactivates_it(staff_client, api_client, user):
    product = ProductFactory()
    line = order_with(product, user)

    response = staff_client.delete(f"{LIST}{product.pk}/")

    assert response.status_code == 204
    product.refresh_from_db()
    assert product.is_active is False
    line.refresh_from_db()
    assert line.product_id == product.pk
    assert api_client.get(f"{LIST}{product.pk}/").status_code == 404
    # Deleting again is still a 204 and keeps it.
    assert staff_client.delete(f"{LIST}{product.pk}/").status_code == 204
    assert Product.objects.filter(pk=product.pk, is_active=False).exists()


def test_delete_unknown_product_is_404(staff_client):
    assert staff_client.delete(f"{LIST}424242/").status_code == 404


def test_multipart_put_without_is_active_keeps_it(staff_client):
    product = ProductFactory(sku="KEEP-1", is_active=True)
    response = staff_client.put(
        f"{LIST}{product.pk}/", {"name": "Kept", "sku": "KEEP-1", "price": "2.00"}, format="multipart"
    )
    assert response.status_code == 200
    product.refresh_from_db()
    assert (product.name, product.is_active) == ("Kept", True)
    response = staff_client.patch(f"{LIST}{product.pk}/", {"is_active": "false"}, format="multipart")
    assert response.json()["is_active"] is False
