from django.db import migrations


def backfill(apps, schema_editor):
    """Existing order lines get their product's variant where one stands for what was bought: the
    product's default variant (options {}), or its only variant. `options` stays {} (nothing was
    chosen before variants); lines of deleted products keep `variant` null."""
    OrderItem = apps.get_model("orders", "OrderItem")
    ProductVariant = apps.get_model("products", "ProductVariant")
    product_ids = list(
        OrderItem.objects.filter(variant__isnull=True, product__isnull=False)
        .values_list("product_id", flat=True)
        .distinct()
    )
    by_product: dict[int, list] = {}
    for variant in ProductVariant.objects.filter(product_id__in=product_ids).order_by("id"):
        by_product.setdefault(variant.product_id, []).append(variant)
    for product_id, variants in by_product.items():
        default = next((v for v in variants if v.option_key == ""), None)
        chosen = default or (variants[0] if len(variants) == 1 else None)
        if chosen is not None:
            OrderItem.objects.filter(product_id=product_id, variant__isnull=True).update(variant_id=chosen.pk)


class Migration(migrations.Migration):
    dependencies = [("orders", "0004_orderitem_variant")]

    operations = [migrations.RunPython(backfill, migrations.RunPython.noop)]
