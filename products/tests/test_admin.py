"""The Django admin for products: pages render, list_editable writes only what changed,
delete deactivates products that were ordered, the variants inline goes through the variant
services (totals, catalog version), the "any variant out of stock" filter."""

import json
from decimal import Decimal

import pytest
from django.db import transaction
from django.test import Client

from core.catalog_cache import catalog_version
from orders.models import Order, OrderItem
from products import services, stock
from products.models import Product, ProductVariant
from products.tests.factories import (
    CategoryFactory,
    ProductFactory,
    ProductVariantFactory,
    WishlistItemFactory,
)
from users.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client_():
    client = Client()
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


def test_admin_pages_render(admin_client_):
    product = ProductFactory()
    category = CategoryFactory()
    item = WishlistItemFactory(product=product)
    for url in (
        "/admin/products/product/",
        "/admin/products/product/?is_active__exact=1&q=Product",
        f"/admin/products/product/{product.pk}/change/",
        "/admin/products/product/add/",
        "/admin/products/category/",
        f"/admin/products/category/{category.pk}/change/",
        "/admin/products/wishlistitem/",
        f"/admin/products/wishlistitem/{item.pk}/change/",
    ):
        assert admin_client_.get(url).status_code == 200, url


def take(product, quantity: int) -> None:
    with transaction.atomic():
        stock.stock_take(lines=[(product.variants.get().pk, quantity)])


def test_list_editable_does_not_overwrite_concurrent_stock_change(admin_client_):
    product = ProductFactory(price=Decimal("10.00"), stock=10)
    page = admin_client_.get("/admin/products/product/")
    assert page.status_code == 200
    assert b'name="initial-form-0-stock" value="10"' in page.content
    # An order reserves 4 while the staff member edits the price in the list.
    take(product, 4)  # as checkout does: the variant and the product row

    response = admin_client_.post(
        "/admin/products/product/",
        {
            "form-TOTAL_FORMS": "1",
            "form-INITIAL_FORMS": "1",
            "form-MIN_NUM_FORMS": "0",
            "form-MAX_NUM_FORMS": "1000",
            "form-0-id": str(product.pk),
            "form-0-price": "12.00",
            "form-0-stock": "10",  # unchanged by the staff member...
            "initial-form-0-stock": "10",  # ...relative to what the page showed
            "initial-form-0-price": "10.00",
            "initial-form-0-is_active": "True",
            "form-0-is_active": "on",
            "_save": "Save",
        },
    )

    assert response.status_code == 302
    product.refresh_from_db()
    assert product.price == Decimal("12.00")
    assert product.stock == 6


def test_admin_delete_of_ordered_product_deactivates(admin_client_, user):
    product = ProductFactory()
    order = Order.objects.create(
        number="NC-ADM", user=user, subtotal=Decimal("1"), total=Decimal("1"), currency="usd"
    )
    OrderItem.objects.create(
        order=order,
        product=product,
        product_name=product.name,
        sku=product.sku,
        unit_price=Decimal("1"),
        quantity=1,
        line_total=Decimal("1"),
    )
    url = f"/admin/products/product/{product.pk}/delete/"
    response = admin_client_.post(url, {"post": "yes"}, follow=True)
    assert response.status_code == 200
    product.refresh_from_db()
    assert product.is_active is False
    shown = [str(m) for m in response.context["messages"]]
    assert shown == [f"“{product}” appears in orders, so it was deactivated instead of deleted."]


def inline_data(product, rows: list[dict], extra: list[dict] = ()) -> dict:
    """The variants inline's POST data: existing rows (with the initial values the page showed)
    and `extra` new rows."""
    data = {
        "variants-TOTAL_FORMS": str(len(rows) + len(extra)),
        "variants-INITIAL_FORMS": str(len(rows)),
        "variants-MIN_NUM_FORMS": "0",
        "variants-MAX_NUM_FORMS": "1000",
    }
    for index, row in enumerate([*rows, *extra]):
        prefix = f"variants-{index}-"
        for key, value in row.items():
            # Hidden initial inputs are named `initial-<prefix><field>`.
            name = f"initial-{prefix}{key[len('initial-') :]}" if key.startswith("initial-") else prefix + key
            data[name] = value
        data[prefix + "product"] = str(product.pk)
    return data


def variant_row(variant: ProductVariant, **changes) -> dict:
    row = {
        "id": str(variant.pk),
        "sku": variant.sku,
        "options": json.dumps(variant.options),
        "price": str(variant.price),
        "initial-price": str(variant.price),
        "stock": str(variant.stock),
        "initial-stock": str(variant.stock),
        "is_active": "on" if variant.is_active else "",
        "initial-is_active": str(variant.is_active),
    }
    row.update(changes)
    return {key: value for key, value in row.items() if value != ""}


def product_form(product, **changes) -> dict:
    data = {
        "name": product.name,
        "slug": product.slug,
        "brand": product.brand,
        "sku": product.sku,
        "category": product.category_id,
        "description": product.description,
        "is_active": "on",
        "initial-is_active": "True",
        "_save": "Save",
    }
    data.update(changes)
    return data


def test_change_form_writes_only_changed_columns(admin_client_):
    product = ProductFactory(name="Old name", stock=10, price=Decimal("5.00"))
    variant = product.variants.get()
    page = admin_client_.get(f"/admin/products/product/{product.pk}/change/")
    assert b'name="initial-variants-0-stock" value="10"' in page.content
    shown = variant_row(variant)  # what the page showed
    take(product, 7)  # an order reserved 7 meanwhile

    response = admin_client_.post(
        f"/admin/products/product/{product.pk}/change/",
        {**product_form(product, name="New name"), **inline_data(product, [shown])},
    )

    assert response.status_code == 302, response.content[:2000]
    product.refresh_from_db()
    assert (product.name, product.stock) == ("New name", 3)
    variant.refresh_from_db()
    assert variant.stock == 3


def sized_product(**kwargs):
    product = ProductFactory(default_variant=False, price=Decimal("20.00"), stock=0, **kwargs)
    for size, units in (("S", 0), ("M", 4), ("L", 6)):
        ProductVariantFactory(
            product=product,
            sku=f"{product.sku}-{size}",
            options={"Size": size},
            stock=units,
            price=Decimal("20.00"),
        )
    services.product_totals_refresh(product_ids=[product.pk])
    product.refresh_from_db()
    return product


def test_inline_stock_edit_recomputes_totals_and_bumps_the_catalog(
    admin_client_, settings, django_capture_on_commit_callbacks
):
    settings.CATALOG_CACHE_SECONDS = 60
    product = sized_product()
    assert product.stock == 10
    version = catalog_version()
    small, medium, large = product.variants.order_by("pk")
    rows = [variant_row(small, stock="5"), variant_row(medium, price="15.00"), variant_row(large)]

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client_.post(
            f"/admin/products/product/{product.pk}/change/",
            {**product_form(product), **inline_data(product, rows)},
        )

    assert response.status_code == 302, response.content[:3000]
    product.refresh_from_db()
    assert (product.stock, product.price) == (15, Decimal("15.00"))
    small.refresh_from_db()
    assert small.stock == 5
    assert catalog_version() != version


def test_inline_refuses_duplicate_options_and_no_active_variant(admin_client_):
    product = sized_product()
    small, medium, large = product.variants.order_by("pk")
    rows = [variant_row(small), variant_row(medium, options=json.dumps({"size": "s"})), variant_row(large)]
    response = admin_client_.post(
        f"/admin/products/product/{product.pk}/change/",
        {**product_form(product), **inline_data(product, rows)},
    )
    assert response.status_code == 200  # the form again, with the error
    assert b"same options" in response.content

    rows = [variant_row(v, is_active="") for v in (small, medium, large)]
    response = admin_client_.post(
        f"/admin/products/product/{product.pk}/change/",
        {**product_form(product), **inline_data(product, rows)},
    )
    assert response.status_code == 200
    assert b"at least one active variant" in response.content
    assert product.variants.filter(is_active=True).count() == 3


def test_inline_adds_a_variant_with_bad_options_refused(admin_client_):
    product = sized_product()
    rows = [variant_row(v) for v in product.variants.order_by("pk")]
    new = {"sku": "NEW-XL", "options": json.dumps({"Size": ""}), "stock": "2", "is_active": "on"}
    response = admin_client_.post(
        f"/admin/products/product/{product.pk}/change/",
        {**product_form(product), **inline_data(product, rows, [new])},
    )
    assert response.status_code == 200
    assert not ProductVariant.objects.filter(sku="NEW-XL").exists()

    new["options"] = json.dumps({"Size": "XL"})
    response = admin_client_.post(
        f"/admin/products/product/{product.pk}/change/",
        {**product_form(product), **inline_data(product, rows, [new])},
    )
    assert response.status_code == 302, response.content[:3000]
    product.refresh_from_db()
    assert product.stock == 12
    assert product.variants.get(sku="NEW-XL").price == product.price


def add_form(**changes) -> dict:
    """The add page's POST data for a product without variants."""
    return {
        "name": "Lamp",
        "slug": "lamp",
        "brand": "",
        "sku": "LAMP-1",
        "description": "",
        "price": "9.50",
        "stock": "4",
        "is_active": "on",
        "variants-TOTAL_FORMS": "0",
        "variants-INITIAL_FORMS": "0",
        "variants-MIN_NUM_FORMS": "0",
        "variants-MAX_NUM_FORMS": "1000",
        "_save": "Save",
        **changes,
    }


def test_admin_add_without_variants_gets_the_default_one(admin_client_):
    category = CategoryFactory()
    response = admin_client_.post("/admin/products/product/add/", add_form(category=category.pk))
    assert response.status_code == 302, response.content[:3000]
    product = Product.objects.get(sku="LAMP-1")
    variant = product.variants.get()
    assert (variant.sku, variant.options, variant.price, variant.stock) == ("LAMP-1", {}, Decimal("9.50"), 4)


def test_list_editable_price_of_a_multi_variant_product_is_a_form_error(admin_client_):
    product = sized_product()
    response = admin_client_.post(
        "/admin/products/product/",
        {
            "form-TOTAL_FORMS": "1",
            "form-INITIAL_FORMS": "1",
            "form-MIN_NUM_FORMS": "0",
            "form-MAX_NUM_FORMS": "1000",
            "form-0-id": str(product.pk),
            "form-0-price": "1.00",
            "initial-form-0-price": str(product.price),
            "form-0-stock": str(product.stock),
            "initial-form-0-stock": str(product.stock),
            "form-0-is_active": "on",
            "initial-form-0-is_active": "True",
            "_save": "Save",
        },
    )
    assert response.status_code == 200
    assert b"several variants" in response.content
    product.refresh_from_db()
    assert product.price == Decimal("20.00")


def test_out_of_stock_variant_filter(admin_client_):
    sized = sized_product(name="Sized tee")  # size S has none
    full = ProductFactory(name="Full lamp", stock=3)
    page = admin_client_.get("/admin/products/product/", {"variant_out_of_stock": "yes"})
    assert page.status_code == 200
    assert sized.name.encode() in page.content
    assert full.name.encode() not in page.content
    page = admin_client_.get("/admin/products/product/", {"variant_out_of_stock": "no"})
    assert sized.name.encode() not in page.content
    assert full.name.encode() in page.content


def test_a_product_sku_taken_by_another_products_variant_is_a_form_error(admin_client_):
    """A product's SKU becomes its default variant's, and variant SKUs are unique: a clash is a form
    error, where the database's IntegrityError was a 500."""
    other = ProductFactory(default_variant=False)
    ProductVariantFactory(product=other, sku="TAKEN-M", options={"Size": "M"})
    response = admin_client_.post("/admin/products/product/add/", add_form(sku="TAKEN-M"))
    assert response.status_code == 200
    assert "A variant of another product already has this SKU." in response.content.decode()
    assert not Product.objects.filter(name="Lamp").exists()

    response = admin_client_.post("/admin/products/product/add/", add_form())
    assert response.status_code == 302
    assert Product.objects.get(sku="LAMP-1").variants.get().sku == "LAMP-1"


def test_a_category_cannot_be_placed_under_itself_or_below_itself(admin_client_):
    parent = CategoryFactory(name="Electronics", slug="electronics")
    child = CategoryFactory(name="Audio", slug="audio", parent=parent)
    for new_parent in (parent, child):
        response = admin_client_.post(
            f"/admin/products/category/{parent.pk}/change/",
            {"name": "Electronics", "slug": "electronics", "parent": new_parent.pk, "is_active": "on"},
        )
        assert response.status_code == 200
        assert "cannot be placed under itself" in response.content.decode()
    parent.refresh_from_db()
    assert parent.parent_id is None
    response = admin_client_.post(
        f"/admin/products/category/{child.pk}/change/",
        {"name": "Audio", "slug": "audio", "parent": "", "is_active": "on"},
    )
    assert response.status_code == 302  # moving a category up is fine


def test_replacing_every_variant_in_one_save(admin_client_):
    """Deactivate every existing variant and add a new active one, with a rename, in one save: the
    formset is valid as a whole, so it is saved as a whole (new variants are created before the
    old ones go; before, the old ones met "the last active variant cannot go" half way, and the
    rename was saved while the variant changes were dropped)."""
    product = sized_product()
    rows = [variant_row(v, is_active="") for v in product.variants.order_by("pk")]
    new = {"sku": "ONE-SIZE", "options": json.dumps({"Size": "One"}), "stock": "5", "is_active": "on"}
    response = admin_client_.post(
        f"/admin/products/product/{product.pk}/change/",
        {**product_form(product, name="Renamed"), **inline_data(product, rows, [new])},
        follow=True,
    )
    assert response.status_code == 200
    assert not [m for m in response.context["messages"] if m.level_tag == "error"]
    product.refresh_from_db()
    assert product.name == "Renamed"
    assert list(product.variants.filter(is_active=True).values_list("sku", flat=True)) == ["ONE-SIZE"]
    assert (product.stock, product.variants.count()) == (5, 4)


def test_deleting_every_variant_of_a_product_is_a_form_error(admin_client_):
    product = ProductFactory(description="old")
    (variant,) = product.variants.all()
    response = admin_client_.post(
        f"/admin/products/product/{product.pk}/change/",
        {
            **product_form(product, description="new"),
            **inline_data(product, [variant_row(variant, DELETE="on")]),
        },
    )
    assert response.status_code == 200  # the form again, with the error
    assert b"at least one active variant" in response.content
    product.refresh_from_db()
    assert product.description == "old" and product.variants.count() == 1
