"""The variants migration, run forward on a database that already holds products and orders."""

from decimal import Decimal

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

# cart and orders stay before their own variant migrations (which need products/0005).
PINNED = [("cart", "0003_cart_promotion"), ("orders", "0003_order_discounts")]
BEFORE = [("products", "0003_product_search_trigram_indexes"), *PINNED]
AFTER = [("products", "0005_default_variants"), *PINNED]


def _migrate(targets):
    """Migrate the apps in `targets` to the given nodes, every other app to its latest migration."""
    executor = MigrationExecutor(connection)
    apps_pinned = {app for app, _name in targets}
    leaves = [node for node in executor.loader.graph.leaf_nodes() if node[0] not in apps_pinned]
    executor.migrate(targets)
    executor.loader.build_graph()
    return executor.loader.project_state(leaves + targets).apps


@pytest.mark.django_db(transaction=True)
def test_every_existing_product_gets_one_default_variant_and_orders_survive():
    old = _migrate(BEFORE)
    try:
        Product = old.get_model("products", "Product")
        User = old.get_model("users", "User")
        Order = old.get_model("orders", "Order")
        OrderItem = old.get_model("orders", "OrderItem")
        shirt = Product.objects.create(
            name="Shirt", slug="shirt", sku="SHIRT-1", price=Decimal("19.90"), stock=7
        )
        retired = Product.objects.create(
            name="Retired", slug="retired", sku="OLD-1", price=Decimal("5.00"), stock=0, is_active=False
        )
        user = User.objects.create(email="buyer@example.com", username="buyer")
        order = Order.objects.create(
            number="NC-MIG-1", user=user, subtotal=Decimal("39.80"), total=Decimal("39.80"), currency="usd"
        )
        OrderItem.objects.create(
            order=order,
            product=shirt,
            product_name="Shirt",
            sku="SHIRT-1",
            unit_price=Decimal("19.90"),
            quantity=2,
            line_total=Decimal("39.80"),
        )

        new = _migrate(AFTER)
        ProductVariant = new.get_model("products", "ProductVariant")
        variants = {v.product_id: v for v in ProductVariant.objects.all()}
        assert set(variants) == {shirt.pk, retired.pk}  # exactly one per product
        assert ProductVariant.objects.count() == 2
        v = variants[shirt.pk]
        assert (v.sku, v.price, v.stock, v.options, v.option_key, v.is_active) == (
            "SHIRT-1",
            Decimal("19.90"),
            7,
            {},
            "",
            True,
        )
        assert variants[retired.pk].is_active is False
        assert variants[retired.pk].stock == 0
        # nothing lost: the product rows and the order still hold their values
        assert new.get_model("products", "Product").objects.get(pk=shirt.pk).stock == 7
        item = new.get_model("orders", "OrderItem").objects.get(order__number="NC-MIG-1")
        assert (item.product_id, item.quantity, item.unit_price) == (shirt.pk, 2, Decimal("19.90"))
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())
