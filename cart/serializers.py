from django.conf import settings
from drf_spectacular.utils import extend_schema_field, extend_schema_serializer
from rest_framework import serializers

from core.ids import id_field
from core.serializers import PrebuiltModelSerializer
from products.serializers import ProductOutputSerializer, current_timezone, datetime_output, product_output
from promotions.models import PromotionKind

from .models import Cart, CartItem
from .selectors import cart_line_total, cart_pricing, cart_total_items
from .services import STEP_ACTIONS

MAX_BULK_IDS = 500


money_field = serializers.DecimalField(max_digits=12, decimal_places=2, read_only=True)


# --- Output -------------------------------------------------------------------------------


@extend_schema_serializer(component_name="CartItemVariant")
class CartItemVariantSerializer(serializers.Serializer):
    """The variant a line holds: `{id, sku, options}` (`options` is `{}` for a default variant)."""

    id = serializers.IntegerField(read_only=True)
    sku = serializers.CharField(read_only=True)
    options = serializers.DictField(child=serializers.CharField(), read_only=True)


@extend_schema_serializer(component_name="CartItem")
class CartItemOutputSerializer(PrebuiltModelSerializer):
    product = ProductOutputSerializer(read_only=True)  # the catalog's product object
    variant = CartItemVariantSerializer(read_only=True)
    unit_price = serializers.DecimalField(
        source="variant.price", max_digits=10, decimal_places=2, read_only=True
    )
    line_total = serializers.SerializerMethodField()

    class Meta:
        model = CartItem
        fields = ["id", "product", "variant", "quantity", "unit_price", "line_total"]
        read_only_fields = fields

    @extend_schema_field(money_field)
    def get_line_total(self, obj: CartItem) -> str:
        return str(cart_line_total(item=obj))


@extend_schema_serializer(component_name="CartCoupon")
class CartCouponSerializer(serializers.Serializer):
    """Schema only: the coupon in the cart and whether it applies now (and why not)."""

    code = serializers.CharField()
    kind = serializers.ChoiceField(choices=PromotionKind.choices)
    value = serializers.DecimalField(max_digits=12, decimal_places=2)
    applicable = serializers.BooleanField()
    reason = serializers.CharField(allow_null=True, help_text="Why it does not apply (null when it does).")
    reason_code = serializers.CharField(
        allow_null=True, help_text="`coupon_invalid`, `coupon_exhausted` or `coupon_not_applicable`."
    )


def cart_coupon_output(cart: Cart, evaluation) -> dict | None:
    """The cart's `coupon` object (`CartCouponSerializer`'s shape), or None without a coupon:
    shared by `CartOutputSerializer` and the `cart_output` fast path."""
    if evaluation is None:
        return None
    promotion = cart.promotion
    return {
        "code": promotion.code,
        "kind": promotion.kind,
        "value": str(promotion.value),
        "applicable": evaluation.applicable,
        "reason": evaluation.error.message if evaluation.error else None,
        "reason_code": evaluation.error.code if evaluation.error else None,
    }


@extend_schema_serializer(component_name="Cart")
class CartOutputSerializer(PrebuiltModelSerializer):
    items = CartItemOutputSerializer(many=True, read_only=True)
    total_items = serializers.SerializerMethodField()
    subtotal = serializers.SerializerMethodField()
    coupon = serializers.SerializerMethodField()
    discount_total = serializers.SerializerMethodField()
    total = serializers.SerializerMethodField()
    currency = serializers.SerializerMethodField()

    class Meta:
        model = Cart
        fields = [
            "id",
            "items",
            "total_items",
            "subtotal",
            "coupon",
            "discount_total",
            "total",
            "currency",
            "updated_at",
        ]
        read_only_fields = fields

    def _items(self, obj: Cart) -> list[CartItem]:
        # The selectors prefetch the lines; `.all()` reads that cache, no query.
        return list(obj.items.all())

    def get_total_items(self, obj: Cart) -> int:
        return cart_total_items(items=self._items(obj))

    def _pricing(self, obj: Cart):
        return cart_pricing(cart=obj)

    @extend_schema_field(money_field)
    def get_subtotal(self, obj: Cart) -> str:
        return str(self._pricing(obj).subtotal)

    @extend_schema_field(CartCouponSerializer(allow_null=True))
    def get_coupon(self, obj: Cart) -> dict | None:
        return cart_coupon_output(obj, self._pricing(obj).evaluation)

    @extend_schema_field(money_field)
    def get_discount_total(self, obj: Cart) -> str:
        return str(self._pricing(obj).discount_total)

    @extend_schema_field(money_field)
    def get_total(self, obj: Cart) -> str:
        return str(self._pricing(obj).total)

    def get_currency(self, obj: Cart) -> str:
        return settings.CURRENCY


# --- Output fast path ----------------------------------------------------------------------
# The cart responses are built by `cart_output`: the dicts `CartOutputSerializer` gives, without
# DRF's field objects per request and per line. The serializers above stay the schema and the
# reference; `cart/tests/test_output_fast_path.py` pins the two equal.

_UNIT_PRICE = serializers.DecimalField(max_digits=10, decimal_places=2, read_only=True)


def cart_item_output(item: CartItem, request, tz) -> dict:
    """`CartItemOutputSerializer`'s line."""
    variant = item.variant
    return {
        "id": item.pk,
        "product": product_output(item.product, request, tz),
        "variant": {
            "id": variant.pk,
            "sku": variant.sku,
            # DictField(child=CharField()): string keys, string values, None kept.
            "options": {
                str(name): None if value is None else str(value)
                for name, value in (variant.options or {}).items()
            },
        },
        "quantity": item.quantity,
        "unit_price": None if variant.price is None else _UNIT_PRICE.to_representation(variant.price),
        "line_total": str(cart_line_total(item=item)),
    }


def cart_output(cart: Cart, request) -> dict:
    """`CartOutputSerializer(cart, context={"request": request}).data`, from the same selectors."""
    items = list(cart.items.all())
    tz = current_timezone()
    pricing = cart_pricing(cart=cart)
    return {
        "id": cart.pk,
        "items": [cart_item_output(item, request, tz) for item in items],
        "total_items": cart_total_items(items=items),
        "subtotal": str(pricing.subtotal),
        "coupon": cart_coupon_output(cart, pricing.evaluation),
        "discount_total": str(pricing.discount_total),
        "total": str(pricing.total),
        "currency": settings.CURRENCY,
        "updated_at": datetime_output(cart.updated_at, tz),
    }


# --- Input --------------------------------------------------------------------------------


class CartAddInputSerializer(serializers.Serializer):
    product_id = id_field()
    variant_id = id_field(
        required=False,
        allow_null=True,
        help_text="The variant to add; may be left out when the product has exactly one active variant.",
    )
    quantity = serializers.IntegerField(min_value=1, max_value=settings.CART_MAX_LINE_QUANTITY, default=1)


class CartUpdateInputSerializer(serializers.Serializer):
    """Exactly one of `quantity` (0 removes the line) or `action`."""

    quantity = serializers.IntegerField(
        min_value=0, max_value=settings.CART_MAX_LINE_QUANTITY, required=False
    )
    action = serializers.ChoiceField(choices=STEP_ACTIONS, required=False)

    def validate(self, attrs: dict) -> dict:
        given = [name for name in ("quantity", "action") if name in attrs]
        if len(given) != 1:
            raise serializers.ValidationError("Send exactly one of 'quantity' or 'action'.")
        return attrs


class CartCouponInputSerializer(serializers.Serializer):
    code = serializers.CharField(max_length=40, trim_whitespace=True)


class CartItemIdsInputSerializer(serializers.Serializer):
    item_ids = serializers.ListField(
        child=id_field(),
        allow_empty=False,
        max_length=MAX_BULK_IDS,
    )


@extend_schema_serializer(component_name="CartError")
class CartErrorSerializer(serializers.Serializer):
    """Schema only: the contract's error body, with the extras cart conflicts carry."""

    detail = serializers.CharField()
    code = serializers.CharField()
    product_id = serializers.IntegerField(required=False, help_text="The product concerned (409s).")
    available = serializers.IntegerField(
        required=False,
        help_text="`insufficient_stock`: the variant's current stock, the most a line may hold.",
    )
    variant_id = serializers.IntegerField(required=False, help_text="The variant concerned (409s).")
    max_quantity = serializers.IntegerField(
        required=False, help_text="`quantity_limit_exceeded`: the per-line cap (99)."
    )
