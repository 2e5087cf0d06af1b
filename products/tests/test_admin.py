"""The Django admin for products: pages render, list_editable writes only what changed,
delete deactivates products that were ordered."""

from decimal import Decimal

import pytest
from django.db import transaction
from django.test import Client

from orders.models import Order, OrderItem
from products import stock
from products.tests.factories import CategoryFactory, ProductFactory, WishlistItemFactory
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
        stock.stock_take(lines=[(product.pk, quantity)])


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
    response = admin_client_.post(f"/admin/products/product/{product.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    product.refresh_from_db()
    assert product.is_active is False


def test_change_form_writes_only_changed_columns(admin_client_):
    product = ProductFactory(name="Old name", stock=10, price=Decimal("5.00"))
    page = admin_client_.get(f"/admin/products/product/{product.pk}/change/")
    assert b'name="initial-stock" value="10"' in page.content
    take(product, 7)  # an order reserved 7 meanwhile

    response = admin_client_.post(
        f"/admin/products/product/{product.pk}/change/",
        {
            "name": "New name",
            "slug": product.slug,
            "brand": product.brand,
            "sku": product.sku,
            "category": product.category_id,
            "description": product.description,
            "price": "5.00",
            "initial-price": "5.00",
            "stock": "10",
            "initial-stock": "10",
            "is_active": "on",
            "initial-is_active": "True",
            "_save": "Save",
        },
    )

    assert response.status_code == 302, response.content[:2000]
    product.refresh_from_db()
    assert (product.name, product.stock) == ("New name", 3)
