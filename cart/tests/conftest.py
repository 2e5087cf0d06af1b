import pytest

from products.tests.factories import ProductFactory

from .factories import CartFactory, CartItemFactory


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """Users here never log in with a password (tests use JWTs); skip the slow PBKDF2 rounds."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def product(db):
    return ProductFactory(price="19.99", stock=10)


@pytest.fixture
def line_for():
    """`line_for(user, product=None, quantity=1)`: a line in that user's cart."""

    def make(user, product=None, quantity: int = 1):
        cart = CartFactory(user=user)
        return CartItemFactory(cart=cart, product=product or ProductFactory(), quantity=quantity)

    return make
