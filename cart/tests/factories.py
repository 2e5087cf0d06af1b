import factory

from cart.models import Cart, CartItem


class CartFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Cart
        django_get_or_create = ("user",)

    user = factory.SubFactory("users.tests.factories.UserFactory")


class CartItemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CartItem

    cart = factory.SubFactory(CartFactory)
    product = factory.SubFactory("products.tests.factories.ProductFactory")
    quantity = 1
