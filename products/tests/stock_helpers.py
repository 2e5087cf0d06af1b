"""Test helper: stock lives on variants, and the product's `stock` is their denormalised sum."""

from django.db.models import Sum

from products.models import Product, ProductVariant


def stock_set(target: Product | ProductVariant, stock: int) -> None:
    """Set the stock of a variant, or of a product's only variant (a factory product's default
    one), and recompute the product's denormalised `stock` (summed active variant stock), as a
    staff edit does. `target.stock` is updated in memory too."""
    if isinstance(target, Product):
        [variant] = ProductVariant.objects.filter(product=target)
    else:
        variant = target
    ProductVariant.objects.filter(pk=variant.pk).update(stock=stock)
    total = ProductVariant.objects.filter(product_id=variant.product_id, is_active=True).aggregate(
        total=Sum("stock")
    )["total"]
    Product.objects.filter(pk=variant.product_id).update(stock=total or 0)
    target.stock = stock if isinstance(target, ProductVariant) else total or 0


def stock_consistent(product: Product) -> bool:
    """The product's stored `stock` equals the sum of its active variants' stock."""
    total = ProductVariant.objects.filter(product_id=product.pk, is_active=True).aggregate(total=Sum("stock"))
    return Product.objects.get(pk=product.pk).stock == (total["total"] or 0)


def price_set(product: Product, price) -> None:
    """Set the price of a product's only variant and the product's denormalised price with it."""
    [variant] = ProductVariant.objects.filter(product=product)
    ProductVariant.objects.filter(pk=variant.pk).update(price=price)
    Product.objects.filter(pk=product.pk).update(price=price)
    product.price = price
