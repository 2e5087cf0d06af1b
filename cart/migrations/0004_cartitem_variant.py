import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    """Step 1 of 3: the nullable variant column (0005 fills it, 0006 makes it required)."""

    dependencies = [
        ("cart", "0003_cart_promotion"),
        ("products", "0005_default_variants"),
    ]

    operations = [
        migrations.AddField(
            model_name="cartitem",
            name="variant",
            field=models.ForeignKey(
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="cart_items",
                to="products.productvariant",
            ),
        ),
    ]
