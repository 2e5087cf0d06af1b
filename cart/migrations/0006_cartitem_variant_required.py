import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    """Step 3 of 3: every line has a variant; a cart holds one line per variant (another variant
    of the same product is another line)."""

    dependencies = [("cart", "0005_cartitem_variant_backfill")]

    operations = [
        migrations.AlterField(
            model_name="cartitem",
            name="variant",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE,
                related_name="cart_items",
                to="products.productvariant",
            ),
        ),
        migrations.RemoveConstraint(model_name="cartitem", name="cart_item_unique_product"),
        migrations.AddConstraint(
            model_name="cartitem",
            constraint=models.UniqueConstraint(fields=("cart", "variant"), name="cart_item_unique_variant"),
        ),
    ]
