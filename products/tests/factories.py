from decimal import Decimal

import factory

from products.models import Category, Product, WishlistItem


class CategoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Category

    name = factory.Sequence(lambda n: f"Category {n}")
    slug = factory.Sequence(lambda n: f"category-{n}")


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product

    name = factory.Sequence(lambda n: f"Product {n}")
    slug = factory.Sequence(lambda n: f"product-{n}")
    sku = factory.Sequence(lambda n: f"SKU-{n:06d}")
    brand = "Acme"
    description = "A fine product."
    price = Decimal("19.99")
    stock = 10
    category = factory.SubFactory(CategoryFactory)
    is_active = True


class WishlistItemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = WishlistItem

    user = factory.SubFactory("users.tests.factories.UserFactory")
    product = factory.SubFactory(ProductFactory)
