"""cart/0004-0006 and orders/0004-0005, run forward on a database holding carts and orders made
before variants reached them: every cart line and order line gets its product's variant."""

from decimal import Decimal

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("cart", "0003_cart_promotion"), ("orders", "0003_order_discounts")]


def _migrate(targets=None):
    """Migrate the apps in `targets` to those nodes and every other app to its latest migration
    (no targets: everything to the latest). Returns the historical apps at that state."""
    executor = MigrationExecutor(connection)
    pinned = {app for app, _name in targets or []}
    nodes = [node for node in executor.loader.graph.leaf_nodes() if node[0] not in pinned] + list(
        targets or []
    )
    executor.migrate(nodes)
    executor.loader.build_graph()
    return executor.loader.project_state(nodes).apps


@pytest.mark.django_db(transaction=True)
def test_cart_and_order_lines_get_their_products_variant():
    old = _migrate(BEFORE)
    try:
        Product = old.get_model("products", "Product")
        ProductVariant = old.get_model("products", "ProductVariant")
        User = old.get_model("users", "User")
        Cart = old.get_model("cart", "Cart")
        CartItem = old.get_model("cart", "CartItem")
        Order = old.get_model("orders", "Order")
        OrderItem = old.get_model("orders", "OrderItem")

        def product(slug, *variants):
            p = Product.objects.create(name=slug, slug=slug, sku=slug.upper(), price=Decimal("5.00"), stock=9)
            made = [
                ProductVariant.objects.create(
                    product=p,
                    sku=f"{slug}-{key or 'default'}",
                    options=options,
                    option_key=key,
                    price=Decimal("5.00"),
                    stock=3,
                )
                for key, options in variants
            ]
            return p, made

        simple, [simple_default] = product("simple", ("", {}))
        sized, [sized_s, _sized_m] = product("sized", ("size=s", {"Size": "S"}), ("size=m", {"Size": "M"}))
        mixed, [_mixed_red, mixed_default] = product("mixed", ("colour=red", {"Colour": "Red"}), ("", {}))
        single, [single_only] = product("single", ("size=l", {"Size": "L"}))
        bare, [] = product("bare")

        user = User.objects.create(email="buyer@example.com", username="buyer")
        cart = Cart.objects.create(user=user)
        cart_items = {
            p.slug: CartItem.objects.create(cart=cart, product=p, quantity=2)
            for p in (simple, sized, mixed, single, bare)
        }
        order = Order.objects.create(
            number="NC-MIG-2", user=user, subtotal=Decimal("25.00"), total=Decimal("25.00"), currency="usd"
        )

        def line(p, sku):
            return OrderItem.objects.create(
                order=order,
                product=p,
                product_name=p.name if p else "Gone",
                sku=sku,
                unit_price=Decimal("5.00"),
                quantity=1,
                line_total=Decimal("5.00"),
            )

        order_items = {
            "simple": line(simple, "SIMPLE"),
            "sized": line(sized, "SIZED"),
            "mixed": line(mixed, "MIXED"),
            "single": line(single, "SINGLE"),
            "deleted": line(None, "GONE-1"),
        }

        new = _migrate()
        NewCartItem = new.get_model("cart", "CartItem")
        carted = {item.pk: item for item in NewCartItem.objects.all()}
        assert carted[cart_items["simple"].pk].variant_id == simple_default.pk
        assert carted[cart_items["sized"].pk].variant_id == sized_s.pk  # no default: the first by id
        assert carted[cart_items["mixed"].pk].variant_id == mixed_default.pk  # the default wins
        assert carted[cart_items["single"].pk].variant_id == single_only.pk
        assert cart_items["bare"].pk not in carted  # nothing left to buy: the line is dropped
        assert {item.quantity for item in carted.values()} == {2}

        NewOrderItem = new.get_model("orders", "OrderItem")
        ordered = {item.pk: item for item in NewOrderItem.objects.all()}
        assert ordered[order_items["simple"].pk].variant_id == simple_default.pk
        assert ordered[order_items["sized"].pk].variant_id is None  # which size was bought is unknown
        assert ordered[order_items["mixed"].pk].variant_id == mixed_default.pk
        assert ordered[order_items["single"].pk].variant_id == single_only.pk
        assert ordered[order_items["deleted"].pk].variant_id is None
        assert {item.options == {} for item in ordered.values()} == {True}
        # nothing else changed on the snapshots
        assert ordered[order_items["simple"].pk].sku == "SIMPLE"
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())
