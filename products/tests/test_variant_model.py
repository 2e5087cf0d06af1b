"""ProductVariant: the database refuses negative stock and a repeated option combination."""

from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import IntegrityError, transaction

from products import services, stock
from products.models import Product, ProductVariant, option_key
from products.tests.factories import ProductFactory


def test_option_key_is_normalised():
    assert option_key({"Size": "M", "Colour": "Red"}) == option_key({"colour": " red", "SIZE": "m "})
    assert option_key({}) == ""


@pytest.mark.django_db
def test_same_options_twice_on_one_product_is_refused_by_the_database():
    product = ProductFactory()
    ProductVariant.objects.create(product=product, sku="T-M", options={"Size": "M"}, price=Decimal("9"))
    with pytest.raises(IntegrityError), transaction.atomic():
        ProductVariant.objects.create(product=product, sku="T-M2", options={"size": "m"}, price=Decimal("9"))
    # the same combination on another product is fine
    other = ProductFactory()
    ProductVariant.objects.create(product=other, sku="U-M", options={"Size": "M"}, price=Decimal("9"))


@pytest.mark.django_db
def test_variant_stock_cannot_go_negative_and_sku_is_unique():
    product = ProductFactory()
    variant = ProductVariant.objects.create(
        product=product, sku="V-1", options={"Size": "S"}, price=Decimal("1")
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        ProductVariant.objects.filter(pk=variant.pk).update(stock=-1)
    with pytest.raises(IntegrityError), transaction.atomic():
        ProductVariant.objects.create(product=product, sku="V-1", options={"Size": "L"}, price=Decimal("1"))


@pytest.mark.django_db
def test_product_create_gives_a_default_variant():
    product = services.product_create(name="Mug", sku="MUG-1", price=Decimal("7.50"), stock=4)
    (variant,) = product.variants.all()
    assert (variant.sku, variant.options, variant.price, variant.stock, variant.is_active) == (
        "MUG-1",
        {},
        Decimal("7.50"),
        4,
        True,
    )


@pytest.mark.django_db
def test_default_variant_follows_product_updates_and_stock_moves():
    product = services.product_create(name="Cap", sku="CAP-1", price=Decimal("12.00"), stock=5)
    services.product_update(product=product, data={"price": Decimal("10.00"), "stock": 6, "sku": "CAP-2"})
    variant = product.variants.get()
    assert (variant.sku, variant.price, variant.stock) == ("CAP-2", Decimal("10.00"), 6)

    # Stock moves act on the variant (lines are `(variant_id, quantity)`); the product follows.
    with transaction.atomic():
        stock.stock_take(lines=[(variant.pk, 4)])
    variant.refresh_from_db()
    assert variant.stock == 2
    with transaction.atomic():
        stock.stock_release(lines=[(variant.pk, 3)])
    variant.refresh_from_db()
    assert variant.stock == 5
    product.refresh_from_db()
    assert product.stock == variant.stock


@pytest.mark.django_db
def test_seed_demo_gives_every_bulk_created_product_its_default_variant():
    call_command("seed_demo", "--no-accounts", "--products", "30", stdout=StringIO())
    assert Product.objects.count() > 30
    assert not Product.objects.filter(variants__isnull=True).exists()
    product = Product.objects.order_by("pk").last()
    (variant,) = product.variants.all()
    assert (variant.sku, variant.price, variant.stock, variant.options, variant.is_active) == (
        product.sku,
        product.price,
        product.stock,
        {},
        product.is_active,
    )
    # idempotent: a second run adds nothing
    assert services.default_variants_create_missing() == 0
