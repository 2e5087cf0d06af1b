import factory

from cart.models import Cart, CartItem


class CartFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Cart
        django_get_or_create = ("user",)

    user = factory.SubFactory("users.tests.factories.UserFactory")


class CartItemFactory(factory.django.DjangoModelFactory):
    """A line of the product's first variant by id (its default one for a factory product); pass
    `variant=` (and its `product=`) for another."""

    class Meta:
        model = CartItem

    cart = factory.SubFactory(CartFactory)
    product = factory.SubFactory("products.tests.factories.ProductFactory")
    variant = factory.LazyAttribute(lambda item: item.product.variants.order_by("id").first())
    quantity = 1
