"""core.serializers.PrebuiltFieldsMixin: fields built once per class and the direct-attribute
`to_representation` give exactly what DRF's own code gives, and no field (nor its request
context) is shared between serializer instances."""

from decimal import Decimal

import pytest
from django.core.files.base import ContentFile
from django.test import RequestFactory
from rest_framework import serializers

from cart.serializers import CartOutputSerializer
from cart.tests.factories import CartFactory, CartItemFactory
from core.serializers import PrebuiltFieldsMixin
from products.serializers import (
    CategoryOutputSerializer,
    ProductOutputSerializer,
    WishlistItemOutputSerializer,
)
from products.tests.factories import CategoryFactory, ProductFactory, WishlistItemFactory
from web.serializers import WebCartLineSerializer, WebCategorySerializer, WebProductSerializer

pytestmark = pytest.mark.django_db


def _request(host: str = "shop.test"):
    return RequestFactory().get("/", HTTP_HOST=host)


@pytest.fixture
def products(settings):
    settings.ALLOWED_HOSTS = ["shop.test", "other.test"]
    category = CategoryFactory(name="Audio")
    with_image = ProductFactory(price=Decimal("10.50"), stock=0, category=category)
    with_image.image.save("lamp.png", ContentFile(b"not really a png"), save=True)
    return [
        with_image,
        ProductFactory(price=Decimal("0"), category=None, brand="", description=""),
        ProductFactory(price=Decimal("99999.99"), is_active=False, stock=7),
    ]


def _as_drf(monkeypatch):
    """DRF's own get_fields and to_representation, for the comparison."""
    monkeypatch.setattr(PrebuiltFieldsMixin, "get_fields", serializers.ModelSerializer.get_fields)
    monkeypatch.setattr(PrebuiltFieldsMixin, "to_representation", serializers.Serializer.to_representation)


def _render(products, cart, wish):
    request = _request()
    context = {"request": request}
    return {
        "product": ProductOutputSerializer(products, many=True, context=context).data,
        "product_no_request": ProductOutputSerializer(products[0]).data,
        "category": CategoryOutputSerializer(products[0].category, context=context).data,
        "web_product": WebProductSerializer(products, many=True, context=context).data,
        "web_category": WebCategorySerializer(products[0].category, context=context).data,
        "cart": CartOutputSerializer(cart, context=context).data,
        "web_cart_lines": WebCartLineSerializer(cart.items.all(), many=True, context=context).data,
        "wishlist": WishlistItemOutputSerializer(wish, context=context).data,
    }


def test_output_is_exactly_drfs(products, user, monkeypatch):
    cart = CartFactory(user=user)
    for product in products:
        CartItemFactory(cart=cart, product=product, quantity=2)
    wish = WishlistItemFactory(user=user, product=products[0])
    fast = _render(products, cart, wish)
    with monkeypatch.context() as patch:
        _as_drf(patch)
        plain = _render(products, cart, wish)
    assert fast == plain
    assert fast["product"][0]["image"].startswith("http://shop.test/")
    assert fast["product"][0]["price"] == "10.50"
    assert fast["product"][1]["category"] is None
    assert len(fast["cart"]["items"]) == 3


def test_fields_are_never_shared_between_instances(products):
    first = ProductOutputSerializer(products[0], context={"request": _request("shop.test")})
    second = ProductOutputSerializer(products[0], context={"request": _request("other.test")})
    assert first.fields["image"] is not second.fields["image"]
    assert first.fields["category"] is not second.fields["category"]
    assert first.fields["category"].fields["name"] is not second.fields["category"].fields["name"]
    # Interleaved, each answers with its own request's host.
    assert first.data["image"].startswith("http://shop.test/")
    assert second.data["image"].startswith("http://other.test/")
    prototype = ProductOutputSerializer.__dict__["_prebuilt_fields"]
    assert all(field.parent is None for field in prototype.values() if hasattr(field, "parent"))


def test_a_missing_attribute_still_gets_drfs_error():
    class Broken(PrebuiltFieldsMixin, serializers.ModelSerializer):
        nope = serializers.CharField()

        class Meta:
            model = ProductFactory._meta.model
            fields = ["id", "nope"]

    with pytest.raises(
        AttributeError, match="Got AttributeError when attempting to get a value for field `nope`"
    ):
        _ = Broken(ProductFactory()).data


def test_plain_fields_are_clones_and_fields_holding_fields_are_rebuilt(products):
    """The prototype's plain fields are cloned (their attribute dict copied); a relation is rebuilt;
    a field holding another field is deep-copied, so the inner field is not shared either."""
    from core.serializers import _clone, _construct, _copy_maker, _deep_copy

    class Shapes(PrebuiltFieldsMixin, serializers.ModelSerializer):
        tags = serializers.ListField(child=serializers.CharField(), source="brand_list", read_only=True)
        category = serializers.PrimaryKeyRelatedField(read_only=True)
        nested = CategoryOutputSerializer(source="category", read_only=True)

        class Meta:
            model = ProductFactory._meta.model
            fields = ["id", "name", "price", "tags", "category", "nested"]

    products[0].brand_list = ["a", "b"]
    first = Shapes(products[0], context={"request": _request()})
    second = Shapes(products[0], context={"request": _request("other.test")})
    assert first.data["tags"] == ["a", "b"] and first.data["price"] == "10.50"
    assert second.data == first.data

    makers = {name: make for name, _field, make in Shapes.__dict__["_prebuilt_plan"]}
    assert makers["name"] is _clone and makers["price"] is _clone
    assert makers["tags"] is _deep_copy  # holds its child field
    assert makers["category"] is _construct
    assert makers["nested"] is _deep_copy
    assert first.fields["tags"].child is not second.fields["tags"].child
    assert first.fields["name"] is not second.fields["name"]
    # Binding a clone never reaches the prototype.
    prototype = Shapes.__dict__["_prebuilt_fields"]
    assert first.fields["name"].parent is first
    assert prototype["name"].parent is None and prototype["name"].field_name is None
    assert _copy_maker(prototype["price"]) is _clone
