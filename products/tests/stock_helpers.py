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
    """An active product's stored `stock` equals the sum of its active variants' stock.

    An inactive product is not checked: deactivating a product deactivates its default variant
    with it (`product_update`, and the factory's `is_active=False`), while the stored stock keeps
    its last value until the catalog side recomputes it."""
    current = Product.objects.get(pk=product.pk)
    if not current.is_active:
        return True
    total = ProductVariant.objects.filter(product_id=product.pk, is_active=True).aggregate(total=Sum("stock"))
    return current.stock == (total["total"] or 0)


def price_set(product: Product, price) -> None:
    """Set the price of a product's only variant and the product's denormalised price with it."""
    [variant] = ProductVariant.objects.filter(product=product)
    ProductVariant.objects.filter(pk=variant.pk).update(price=price)
    Product.objects.filter(pk=product.pk).update(price=price)
    product.price = price


def sized_product(sizes: dict[str, tuple[int, str]] | None = None, **fields) -> Product:
    """A product sold in sizes: `{size: (stock, price)}` (default S: 5 at 20.00, M: 3 at 22.00),
    one variant each (SKU `<product sku>-<size>`, options `{"Size": size}`), created in that
    order, with the product's denormalised price (lowest) and stock (sum) to match."""
    from decimal import Decimal

    from products.tests.factories import ProductFactory, ProductVariantFactory

    sizes = sizes or {"S": (5, "20.00"), "M": (3, "22.00")}
    product = ProductFactory(
        default_variant=False,
        stock=sum(stock for stock, _price in sizes.values()),
        price=min(Decimal(price) for _stock, price in sizes.values()),
        **{"name": "T-shirt", **fields},
    )
    for size, (stock, price) in sizes.items():
        ProductVariantFactory(
            product=product,
            sku=f"{product.sku}-{size}",
            options={"Size": size},
            stock=stock,
            price=Decimal(price),
        )
    return product


def variant_of(product: Product, **options) -> ProductVariant:
    """The product's variant with exactly these options (none: its default variant)."""
    return next(v for v in product.variants.all() if v.options == options)


def totals_refresh(product: Product) -> None:
    """Recompute the product's denormalised stock from its active variants (what the staff
    variant endpoints do after a variant write)."""
    total = ProductVariant.objects.filter(product=product, is_active=True).aggregate(total=Sum("stock"))
    Product.objects.filter(pk=product.pk).update(stock=total["total"] or 0)
