"""Data migration: every existing product gets exactly one default variant.

The default variant carries the product's SKU, price and stock and `options == {}` (option key
""), so nothing is lost and simple products keep selling as before. Products that already have
a variant are left alone, so re-running (or a partially seeded database) is safe. Reverse
deletes only default variants; the product rows still hold their own price and stock.
"""

from django.db import migrations

BATCH_SIZE = 2000


def create_default_variants(apps, schema_editor):
    Product = apps.get_model("products", "Product")
    ProductVariant = apps.get_model("products", "ProductVariant")
    products = (
        Product.objects.filter(variants__isnull=True)
        .order_by("pk")
        .values_list("pk", "sku", "price", "stock", "is_active")
    )
    batch = []
    for pk, sku, price, stock, is_active in products.iterator(chunk_size=BATCH_SIZE):
        batch.append(
            ProductVariant(
                product_id=pk, sku=sku, options={}, option_key="", price=price, stock=stock,
                is_active=is_active,
            )
        )
        if len(batch) >= BATCH_SIZE:
            ProductVariant.objects.bulk_create(batch)
            batch = []
    if batch:
        ProductVariant.objects.bulk_create(batch)


def delete_default_variants(apps, schema_editor):
    ProductVariant = apps.get_model("products", "ProductVariant")
    ProductVariant.objects.filter(option_key="").delete()


class Migration(migrations.Migration):
    dependencies = [
        ("products", "0004_product_variant"),
    ]

    operations = [
        migrations.RunPython(create_default_variants, delete_default_variants),
    ]
