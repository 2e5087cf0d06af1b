from decimal import Decimal

import factory

from products.models import Category, Product, ProductVariant, WishlistItem


class CategoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Category

    name = factory.Sequence(lambda n: f"Category {n}")
    slug = factory.Sequence(lambda n: f"category-{n}")


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Product {n}")
    slug = factory.Sequence(lambda n: f"product-{n}")
    sku = factory.Sequence(lambda n: f"SKU-{n:06d}")
    brand = "Acme"
    description = "A fine product."
    price = Decimal("19.99")
    stock = 10
    category = factory.SubFactory(CategoryFactory)
    is_active = True

    @factory.post_generation
    def default_variant(obj, create, extracted, **kwargs):
        """Every product has at least one variant: like `product_create`, give the product its
        default one (options {}, the product's SKU, price, stock and is_active). Pass
        `default_variant=False` for a product that gets its variants another way."""
        if create and extracted is not False:
            ProductVariant.objects.create(
                product=obj,
                sku=obj.sku,
                options={},
                price=obj.price,
                stock=obj.stock,
                is_active=obj.is_active,
            )


class ProductVariantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ProductVariant

    product = factory.SubFactory(ProductFactory, default_variant=False)
    sku = factory.Sequence(lambda n: f"VAR-{n:06d}")
    options = factory.Sequence(lambda n: {"Size": f"S{n}"})
    price = Decimal("19.99")
    stock = 10
    is_active = True


class WishlistItemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = WishlistItem

    user = factory.SubFactory("users.tests.factories.UserFactory")
    product = factory.SubFactory(ProductFactory)
