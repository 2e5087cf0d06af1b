from django.db import migrations


def backfill(apps, schema_editor):
    """Every existing line gets its product's variant: the default one (options {}) when there is
    one, else the product's first by id. A line whose product has no variant at all cannot be
    bought any more and is dropped (after products/0005 every product has one)."""
    CartItem = apps.get_model("cart", "CartItem")
    ProductVariant = apps.get_model("products", "ProductVariant")
    product_ids = CartItem.objects.filter(variant__isnull=True).values_list("product_id", flat=True).distinct()
    chosen: dict[int, tuple[int, str]] = {}
    for variant in ProductVariant.objects.filter(product_id__in=list(product_ids)).order_by("-id"):
        # Walked newest first, so the first by id wins, and a default variant wins over any.
        if variant.option_key == "" or chosen.get(variant.product_id, (None, "x"))[1] != "":
            chosen[variant.product_id] = (variant.pk, variant.option_key)
    for item in CartItem.objects.filter(variant__isnull=True).only("pk", "product_id"):
        if item.product_id in chosen:
            CartItem.objects.filter(pk=item.pk).update(variant_id=chosen[item.product_id][0])
        else:
            CartItem.objects.filter(pk=item.pk).delete()


class Migration(migrations.Migration):
    """Step 2 of 3: fill `variant` on existing cart lines."""

    dependencies = [("cart", "0004_cartitem_variant")]

    operations = [migrations.RunPython(backfill, migrations.RunPython.noop)]
