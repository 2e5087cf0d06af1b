"""Fixtures and helpers for the storefront profile's HTTP tests."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.files.base import ContentFile
from rest_framework.test import APIClient

from addresses.tests.factories import AddressFactory
from cart.models import Cart, CartItem
from cart.tests.factories import CartFactory, CartItemFactory
from products.models import Product
from products.tests.factories import CategoryFactory, ProductFactory

BASE = "/api/web"

# What the storefront sends when nobody is signed in: its token slot in localStorage is empty.
BEARER_NULL = "Bearer null"


def url(path: str) -> str:
    return f"{BASE}{path}"


def is_number(value) -> bool:
    """A JSON number (int or float), never a string or a bool."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def fill_cart(user, lines) -> None:
    """Put `(product, quantity)` lines in the user's cart (made if it has none), bypassing the
    API's checks (so a test can build carts that ask for more than there is)."""
    cart = Cart.objects.filter(user=user).first() or CartFactory(user=user)
    for product, quantity in lines:
        CartItemFactory(cart=cart, product=product, quantity=quantity)


def cart_of(user) -> list[tuple[int, int]]:
    """The user's cart as sorted `(product_id, quantity)` pairs, read from the database."""
    return sorted(CartItem.objects.filter(cart__user=user).values_list("product_id", "quantity"))


def stock(product) -> int:
    """The product's stock as stored now."""
    return Product.objects.get(pk=product.pk).stock


def null_token_client() -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=BEARER_NULL)
    return client


@pytest.fixture(autouse=True)
def _shop_settings(settings):
    """The shop rules these tests assume, explicit so an environment override cannot skew them."""
    settings.CURRENCY = "usd"
    settings.SHIPPING_FLAT_RATE = Decimal("5.00")
    settings.FREE_SHIPPING_THRESHOLD = Decimal("50.00")
    settings.ORDER_PENDING_TTL_MINUTES = 30
    settings.DELIVERY_ESTIMATE_DAYS = 5
    settings.FRONTEND_URL = "https://shop.example"
    settings.PINCODE_LOOKUP_URL = ""


@pytest.fixture
def anon_null() -> APIClient:
    return null_token_client()


@pytest.fixture
def category(db):
    return CategoryFactory(name="Books", slug="books")


def image_file(name: str = "cover.png") -> ContentFile:
    return ContentFile(b"\x89PNG\r\n\x1a\n not really an image", name=name)


@pytest.fixture
def book(category):
    """An active product with an image, brand and name distinct (title and subtitle)."""
    product = ProductFactory(
        name="Dune", brand="Penguin", price=Decimal("19.99"), stock=10, category=category
    )
    product.image.save("dune.png", image_file(), save=True)
    return product


@pytest.fixture
def address(user):
    return AddressFactory(
        user=user,
        full_name="Ada Lovelace",
        phone="9876543210",
        line1="221B",
        line2="Baker Street",
        city="Marylebone",
        district="London",
        state="Greater London",
        postal_code="560001",
        landmark="Near the museum",
        is_default=True,
    )


@pytest.fixture
def other_address(other_user):
    return AddressFactory(user=other_user, is_default=True)
