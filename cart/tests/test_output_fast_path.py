"""The cart's plain-dict output (`cart_output`) and its one-query read (`cart_read`) stay equal to
`CartOutputSerializer` over `cart_detail`, the serializer and selector they replace in responses:
the same bytes for lines with sized variants, inactive variants (staff see them in the line's
product), images, categories, coupons that apply and that do not, and an empty cart."""

from decimal import Decimal

import pytest
from django.utils import timezone
from rest_framework.renderers import JSONRenderer

from cart.models import Cart
from cart.selectors import cart_detail, cart_products_variants, cart_read
from cart.serializers import CartOutputSerializer
from conftest import client_for
from products.tests.factories import CategoryFactory, ProductFactory, ProductVariantFactory
from products.tests.queries import variants_queries
from promotions.tests.factories import PromotionFactory
from users.tests.factories import UserFactory

from .factories import CartFactory, CartItemFactory

pytestmark = pytest.mark.django_db


def reference_bytes(user, request) -> bytes:
    """What the cart endpoints answered before the fast path: the serializer over `cart_detail`."""
    cart = cart_products_variants(cart=cart_detail(user=user), user=user)
    return JSONRenderer().render(CartOutputSerializer(cart, context={"request": request}).data)


@pytest.fixture
def filled_cart():
    def fill(user):
        shirts = CategoryFactory(name="Shirts", slug="shirts")
        sized = ProductFactory(name="Tee", category=shirts, default_variant=False, price=Decimal("25"))
        small = ProductVariantFactory(
            product=sized, sku="T-S", options={"Size": "S", "Colour": "Red"}, price="19.5"
        )
        ProductVariantFactory(
            product=sized, sku="T-M", options={"Size": "M", "Colour": "Red"}, is_active=False
        )
        large = ProductVariantFactory(
            product=sized, sku="T-L", options={"Size": "L", "Colour": "Blue"}, price="0"
        )
        sized.image.name = "products/tee.png"
        sized.save(update_fields=["image"])
        mug = ProductFactory(name="Mug", category=None, price=Decimal("1234.5"), stock=0)
        cart = CartFactory(user=user)
        CartItemFactory(cart=cart, product=sized, variant=small, quantity=3)
        CartItemFactory(cart=cart, product=mug, quantity=2)
        CartItemFactory(cart=cart, product=sized, variant=large, quantity=1)
        return cart

    return fill


@pytest.mark.parametrize("who", ["customer", "staff"])
@pytest.mark.parametrize("coupon", [None, "applies", "does_not_apply"])
def test_cart_read_bytes_equal_the_serializer(filled_cart, user, staff_user, who, coupon):
    owner = staff_user if who == "staff" else user
    cart = filled_cart(owner)
    if coupon == "applies":
        cart.promotion = PromotionFactory(code="TENOFF", kind="fixed", value=Decimal("10.00"))
    elif coupon == "does_not_apply":
        cart.promotion = PromotionFactory(code="BIG", min_subtotal=Decimal("100000.00"))
    cart.save()
    response = client_for(owner).get("/api/cart/")
    assert response.status_code == 200
    assert response.content == reference_bytes(owner, response.wsgi_request)
    body = response.json()
    assert [line["variant"]["sku"] for line in body["items"]] == [
        "T-S",
        owner.cart.items.all()[1].variant.sku,
        "T-L",
    ]
    # The staff's line product lists the inactive variant; a customer's does not.
    assert ("T-M" in [v["sku"] for v in body["items"][0]["product"]["variants"]]) == (who == "staff")
    assert body["items"][0]["product"]["image"] == "http://testserver/media/products/tee.png"
    assert (body["coupon"] is None) == (coupon is None)


def test_empty_and_missing_carts(user):
    client = client_for(user)
    response = client.get("/api/cart/")  # no cart yet: created on first use
    assert response.status_code == 200
    assert Cart.objects.filter(user=user).count() == 1
    assert response.content == reference_bytes(user, response.wsgi_request)
    response = client.get("/api/cart/")  # the empty cart again
    assert response.content == reference_bytes(user, response.wsgi_request)
    assert response.json()["items"] == []


def test_an_empty_cart_with_a_coupon(user):
    CartFactory(user=user, promotion=PromotionFactory(code="EMPTY"))
    response = client_for(user).get("/api/cart/")
    assert response.content == reference_bytes(user, response.wsgi_request)
    assert response.json()["coupon"]["code"] == "EMPTY"


def test_write_responses_equal_the_serializer(filled_cart, user):
    filled_cart(user)
    client = client_for(user)
    extra = ProductFactory(name="Cap")
    response = client.post("/api/cart/add/", {"product_id": extra.pk}, format="json")
    assert response.status_code == 201
    assert response.content == reference_bytes(user, response.wsgi_request)


def test_cart_read_is_the_same_cart_as_cart_detail_in_another_time_zone(filled_cart, user):
    filled_cart(user)
    stranger_cart = CartFactory(user=UserFactory())  # another user's lines stay out
    CartItemFactory(cart=stranger_cart, product=ProductFactory(name="Not mine"))
    read = cart_read(user=user)
    detail = cart_detail(user=user)
    assert read.pk == detail.pk
    assert [item.pk for item in read.items.all()] == [item.pk for item in detail.items.all()]
    assert all(item.cart is read for item in read.items.all())
    with timezone.override("Asia/Kolkata"):
        response = client_for(user).get("/api/cart/")
        assert response.content == reference_bytes(user, response.wsgi_request)
        assert "+05:30" in response.json()["updated_at"]


@pytest.mark.parametrize("coupon", [False, True])
def test_cart_read_with_lines_reads_cart_and_lines_in_one_query(
    filled_cart, user, coupon, django_assert_num_queries
):
    """The user (JWT), the cart with its lines and coupon (one join), the line products' variants
    (inside the lines' query on PostgreSQL); a coupon adds only what its evaluation reads (the
    customer's redemptions)."""
    cart = filled_cart(user)
    if coupon:
        cart.promotion = PromotionFactory(code="TENOFF", kind="fixed", value=Decimal("10.00"))
        cart.save()
    client = client_for(user)
    with django_assert_num_queries(2 + variants_queries() + (1 if coupon else 0)) as captured:
        assert client.get("/api/cart/").status_code == 200
    assert sum("cart_cartitem" in query["sql"] for query in captured.captured_queries) == 1
