"""The storefront's shapes, translated to and from ours. No business rules here.

Translation rules (documented in docs/web.md):
- a product's `title` is its brand and `subtitle` its name (cart and order lines alike);
- money and stock are JSON numbers, not the contract's decimal strings;
- addresses use the storefront's field names (`ADDRESS_FIELD_MAP`);
- order statuses are ours, except that a paid card order shows `CONFIRMED` (`web_order_status`).

Pass `context={"request": request}` wherever an image appears, so its URL comes out absolute.
"""

from __future__ import annotations

from typing import Any

from django.core.files.storage import default_storage
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from addresses.models import Address
from addresses.serializers import AddressInputSerializer
from cart.models import CartItem
from cart.selectors import cart_line_total
from cart.serializers import MAX_BULK_IDS
from cart.services import STEP_ACTIONS
from core.ids import id_field
from core.serializers import PrebuiltModelSerializer
from orders.models import ItemStatus, Order, OrderItem, OrderStatus, PaymentMethod
from orders.selectors import estimated_delivery_date
from products.models import Category, Product, WishlistItem
from products.serializers import AbsoluteImageField

# `id_field` (an IntegerField) also takes numeric strings ("12"): the storefront sends ids either way.
_id_field = id_field


class MoneyNumberField(serializers.DecimalField):
    """Money as a JSON number (`59.99`), not the contract's decimal string. A float, so the body
    stays a number when it is stored and replayed (Idempotency-Key)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("max_digits", 12)
        kwargs.setdefault("decimal_places", 2)
        kwargs["coerce_to_string"] = False
        kwargs["read_only"] = True
        super().__init__(**kwargs)

    def to_representation(self, value):
        return float(super().to_representation(value))


def _number(**kwargs) -> MoneyNumberField:
    return MoneyNumberField(**kwargs)


def stored_image_url(name: str, request) -> str | None:
    """Absolute URL of a file stored under `name` (order lines keep the image's name), or None."""
    if not name:
        return None
    url = default_storage.url(name)
    return request.build_absolute_uri(url) if request is not None else url


# --- Accounts ------------------------------------------------------------------------------------


class WebUserSerializer(serializers.Serializer):
    username = serializers.CharField(read_only=True)
    email = serializers.EmailField(read_only=True)
    first_name = serializers.CharField(read_only=True)
    last_name = serializers.CharField(read_only=True)


class WebPasswordResetConfirmInputSerializer(serializers.Serializer):
    token = serializers.CharField(max_length=255)
    password = serializers.CharField(write_only=True, trim_whitespace=False, style={"input_type": "password"})


class WebMessageSerializer(serializers.Serializer):
    detail = serializers.CharField()


# --- Catalog -------------------------------------------------------------------------------------


class WebCategorySerializer(PrebuiltModelSerializer):
    image = AbsoluteImageField()
    mobile_image = AbsoluteImageField()
    mobile_secondary_image = AbsoluteImageField()
    desktop_image = AbsoluteImageField()
    desktop_secondary_image = AbsoluteImageField()

    class Meta:
        model = Category
        fields = [
            "id",
            "name",
            "slug",
            "image",
            "mobile_image",
            "mobile_secondary_image",
            "desktop_image",
            "desktop_secondary_image",
        ]
        read_only_fields = fields


class WebBrandSerializer(serializers.Serializer):
    title = serializers.CharField(source="brand", read_only=True)


class WebPriceRangeSerializer(serializers.Serializer):
    min_price = _number(allow_null=True)
    max_price = _number(allow_null=True)


class WebBookSerializer(PrebuiltModelSerializer):
    """A product as the storefront names it (it was a bookshop): brand on top, name below."""

    title = serializers.CharField(source="brand", read_only=True)
    subtitle = serializers.CharField(source="name", read_only=True)
    price = _number()
    image = AbsoluteImageField()

    class Meta:
        model = Product
        fields = ["id", "title", "subtitle", "price", "image"]
        read_only_fields = fields


class WebProductSerializer(WebBookSerializer):
    class Meta(WebBookSerializer.Meta):
        fields = [*WebBookSerializer.Meta.fields, "description"]
        read_only_fields = fields
        # The model columns these fields read: the storefront list loads only these.
        columns = ("id", "brand", "name", "price", "image", "description")


_MONEY = MoneyNumberField()


def web_product_rows_output(rows, request) -> list[dict[str, Any]]:
    """`WebProductSerializer(products, many=True).data` from `values_list(*Meta.columns)` rows:
    no model instances, no field objects per row (the storefront list returns up to
    WEB_PRODUCT_LIST_MAX of them). `web/tests/test_catalog.py` pins the two equal. The image is
    `default_storage.url(name)`, what the model's FieldFile gives (`Product.image` uses it)."""
    money = _MONEY.to_representation
    return [
        {
            "id": pk,
            "title": str(brand),
            "subtitle": str(name),
            "price": money(price),
            "image": stored_image_url(image, request),
            "description": str(description),
        }
        for pk, brand, name, price, image, description in rows
    ]


class WebProductListQuerySerializer(serializers.Serializer):
    """Only for the schema: the product list passes these through to the catalog's own filters."""

    category = serializers.CharField(required=False, help_text="Category slug (or id); sub-categories too.")
    brand = serializers.ListField(child=serializers.CharField(), required=False, help_text="Repeatable.")
    min_price = serializers.DecimalField(max_digits=12, decimal_places=2, required=False)
    max_price = serializers.DecimalField(max_digits=12, decimal_places=2, required=False)
    sort = serializers.ChoiceField(choices=["price", "-price"], required=False)


# --- Wishlist ------------------------------------------------------------------------------------


class WebWishlistItemSerializer(PrebuiltModelSerializer):
    book = WebBookSerializer(source="product", read_only=True)

    class Meta:
        model = WishlistItem
        fields = ["id", "book"]
        read_only_fields = fields


class WebBookIdInputSerializer(serializers.Serializer):
    book_id = _id_field()


class WebCartAddInputSerializer(WebBookIdInputSerializer):
    """`variant_id` is optional: without it the cart takes the product's only variant, else its
    first active variant in stock (by id)."""

    variant_id = _id_field(required=False, allow_null=True)


# --- Cart ----------------------------------------------------------------------------------------


class WebCartLineSerializer(PrebuiltModelSerializer):
    product = serializers.IntegerField(source="product_id", read_only=True)
    product_title = serializers.CharField(source="product.brand", read_only=True)
    product_subtitle = serializers.CharField(source="product.name", read_only=True)
    product_image = AbsoluteImageField(source="product.image")
    product_price = _number(source="variant.price")  # the line's variant (its unit price)
    total_price = serializers.SerializerMethodField()
    stock = serializers.IntegerField(source="variant.stock", read_only=True)
    estimated_delivery = serializers.SerializerMethodField()

    class Meta:
        model = CartItem
        fields = [
            "id",
            "product",
            "product_title",
            "product_subtitle",
            "product_image",
            "product_price",
            "quantity",
            "total_price",
            "stock",
            "estimated_delivery",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.FloatField())
    def get_total_price(self, item: CartItem) -> float:
        return float(cart_line_total(item=item))

    @extend_schema_field(serializers.DateField())
    def get_estimated_delivery(self, item: CartItem) -> str:
        return estimated_delivery_date().isoformat()


class WebCartUpdateInputSerializer(serializers.Serializer):
    action = serializers.ChoiceField(choices=STEP_ACTIONS)


class WebCartIdsInputSerializer(serializers.Serializer):
    cart_ids = serializers.ListField(child=_id_field(), allow_empty=False, max_length=MAX_BULK_IDS)


class WebErrorSerializer(serializers.Serializer):
    """The cart update's errors: `error` is what the storefront shows; `detail`/`code` as everywhere."""

    error = serializers.CharField()
    detail = serializers.CharField()
    code = serializers.CharField()


# --- Addresses -----------------------------------------------------------------------------------

# Storefront field -> our Address field. `district` keeps its name; `country` is not sent by the
# storefront and takes the model's default.
ADDRESS_FIELD_MAP = {
    "name": "full_name",
    "mobile": "phone",
    "pincode": "postal_code",
    "house_number": "line1",
    "address": "line2",
    "town": "city",
    "district": "district",
    "state": "state",
    "location": "landmark",
    "address_type": "address_type",
    "is_default": "is_default",
}
_OUR_TO_WEB = {ours: web for web, ours in ADDRESS_FIELD_MAP.items()}


def web_address_from_snapshot(data: dict[str, Any]) -> dict[str, Any]:
    """An order's address copy (or an Address's fields) under the storefront's names."""
    return {
        web: data.get(ours, "")
        for web, ours in ADDRESS_FIELD_MAP.items()
        if ours not in ("is_default", "address_type")
    }


class WebAddressSerializer(PrebuiltModelSerializer):
    name = serializers.CharField(source="full_name", read_only=True)
    mobile = serializers.CharField(source="phone", read_only=True)
    pincode = serializers.CharField(source="postal_code", read_only=True)
    house_number = serializers.CharField(source="line1", read_only=True)
    address = serializers.CharField(source="line2", read_only=True)
    town = serializers.CharField(source="city", read_only=True)
    location = serializers.CharField(source="landmark", read_only=True)

    class Meta:
        model = Address
        fields = [
            "id",
            "name",
            "mobile",
            "pincode",
            "house_number",
            "address",
            "town",
            "district",
            "state",
            "address_type",
            "is_default",
            "location",
        ]
        read_only_fields = fields


class WebAddressTypeField(serializers.ChoiceField):
    """`HOME` / `OFFICE`, any letter case."""

    def to_internal_value(self, data):
        if isinstance(data, str):
            data = data.strip().upper()
        return super().to_internal_value(data)


class WebAddressInputSerializer(serializers.Serializer):
    """The storefront's address form, validated by the addresses app's own input serializer after
    renaming the fields (so both APIs accept exactly the same addresses); errors come back under
    the storefront's names.

    `town` becomes our `city`. The storefront's form labels `district` "City / District" (it is
    what the pincode lookup fills in) and does not require `town`, so a blank `town` takes the
    district as the city.
    """

    name = serializers.CharField(max_length=120)
    mobile = serializers.CharField(max_length=32)
    pincode = serializers.CharField(max_length=20)
    house_number = serializers.CharField(max_length=200)
    address = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    town = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    district = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    state = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    location = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    address_type = WebAddressTypeField(choices=Address.AddressType.choices, required=False)
    is_default = serializers.BooleanField(required=False, default=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        canonical = {
            "full_name": attrs["name"],
            "phone": attrs["mobile"],
            "postal_code": attrs["pincode"],
            "line1": attrs["house_number"],
            "line2": attrs["address"],
            "city": attrs["town"].strip() or attrs["district"].strip(),
            "state": attrs["state"],
            "is_default": attrs["is_default"],
        }
        if "address_type" in attrs:
            canonical["address_type"] = attrs["address_type"]
        ours = AddressInputSerializer(data=canonical)
        if not ours.is_valid():
            raise serializers.ValidationError(
                {_OUR_TO_WEB.get(field, field): messages for field, messages in ours.errors.items()}
            )
        return {**ours.validated_data, "district": attrs["district"], "landmark": attrs["location"]}


class WebPincodeQuerySerializer(serializers.Serializer):
    """Only for the schema: the lookup validates with the addresses app's own serializer."""

    pincode = serializers.CharField()


# --- Orders --------------------------------------------------------------------------------------

PAYMENT_METHOD_LABELS = {PaymentMethod.COD: "Cash on Delivery", PaymentMethod.CARD: "Online Payment"}


def web_order_status(order: Order) -> str:
    """Our status, except PAID: the storefront calls a paid card order CONFIRMED (it has no PAID)."""
    return OrderStatus.CONFIRMED.value if order.status == OrderStatus.PAID else str(order.status)


def web_item_status(item: OrderItem, order: Order) -> str:
    """A cancelled/refunded line shows its own status; an active line shows its order's, since the
    storefront offers "Cancel" on a line whose status is CONFIRMED and knows no ACTIVE."""
    if item.status == ItemStatus.ACTIVE:
        return web_order_status(order)
    return str(item.status)


class WebOrderCreateInputSerializer(serializers.Serializer):
    address_id = _id_field()
    payment_method = serializers.CharField(max_length=32, help_text='"COD" (cash on delivery) only.')

    def validate_payment_method(self, value: str) -> str:
        if value.strip().upper() != "COD":
            raise serializers.ValidationError(
                'Only "COD" orders are placed here. To pay by card, POST {address_id} to '
                "/api/web/payments/payment-intent/."
            )
        return PaymentMethod.COD.value


class _OrderLineMixin(serializers.Serializer):
    product_image = serializers.SerializerMethodField()
    product_title = serializers.CharField(source="product_brand", read_only=True)

    @extend_schema_field(serializers.URLField(allow_null=True))
    def get_product_image(self, item: OrderItem) -> str | None:
        return stored_image_url(item.product_image, self.context.get("request"))


class WebLatestItemSerializer(_OrderLineMixin, PrebuiltModelSerializer):
    class Meta:
        model = OrderItem
        fields = ["product_image", "product_title", "quantity"]
        read_only_fields = fields


LATEST_ADDRESS_FIELDS = ("name", "mobile", "house_number", "address", "district", "state", "pincode")


class WebLatestAddressSerializer(serializers.Serializer):
    name = serializers.CharField()
    mobile = serializers.CharField()
    house_number = serializers.CharField()
    address = serializers.CharField()
    district = serializers.CharField()
    state = serializers.CharField()
    pincode = serializers.CharField()


class WebOrderAddressSerializer(WebLatestAddressSerializer):
    town = serializers.CharField()
    location = serializers.CharField()


class WebLatestOrderSerializer(PrebuiltModelSerializer):
    items = WebLatestItemSerializer(many=True, read_only=True)
    address = serializers.SerializerMethodField()

    class Meta:
        model = Order
        fields = ["items", "address", "estimated_delivery"]
        read_only_fields = fields

    @extend_schema_field(WebLatestAddressSerializer)
    def get_address(self, order: Order) -> dict[str, Any]:
        full = web_address_from_snapshot(order.shipping_address or {})
        return {key: full[key] for key in LATEST_ADDRESS_FIELDS}


class WebOrderItemSerializer(_OrderLineMixin, PrebuiltModelSerializer):
    status = serializers.SerializerMethodField()
    price_at_purchase = _number(source="unit_price")
    product_subtitle = serializers.CharField(source="product_name", read_only=True)

    class Meta:
        model = OrderItem
        fields = [
            "id",
            "status",
            "cancelled_at",
            "price_at_purchase",
            "quantity",
            "product_image",
            "product_title",
            "product_subtitle",
        ]
        read_only_fields = fields

    def get_status(self, item: OrderItem) -> str:
        return web_item_status(item, self.context["orders"][item.order_id])


class WebOrderSerializer(PrebuiltModelSerializer):
    status = serializers.SerializerMethodField()
    items = serializers.SerializerMethodField()

    class Meta:
        model = Order
        fields = ["id", "status", "estimated_delivery", "items"]
        read_only_fields = fields

    def get_status(self, order: Order) -> str:
        return web_order_status(order)

    @extend_schema_field(WebOrderItemSerializer(many=True))
    def get_items(self, order: Order) -> list[dict[str, Any]]:
        context = {**self.context, "orders": {order.pk: order}}
        return WebOrderItemSerializer(order.items.all(), many=True, context=context).data


class WebCancelItemQuerySerializer(serializers.Serializer):
    orderId = _id_field()  # the storefront's parameter names
    itemId = _id_field()


class WebCancelItemInputSerializer(WebCancelItemQuerySerializer):
    reason = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class WebCancelItemSerializer(_OrderLineMixin, PrebuiltModelSerializer):
    """One order line with what the storefront's cancel and item pages show about its order."""

    status = serializers.SerializerMethodField()
    payment_method = serializers.SerializerMethodField()
    product_subtitle = serializers.CharField(source="product_name", read_only=True)
    price_at_purchase = _number(source="unit_price")
    estimated_delivery = serializers.DateField(source="order.estimated_delivery", read_only=True)
    created_at = serializers.DateTimeField(source="order.created_at", read_only=True)
    email = serializers.EmailField(source="order.email", read_only=True)
    address = serializers.SerializerMethodField()

    class Meta:
        model = OrderItem
        fields = [
            "id",
            "status",
            "payment_method",
            "product_image",
            "product_title",
            "product_subtitle",
            "price_at_purchase",
            "estimated_delivery",
            "created_at",
            "email",
            "address",
        ]
        read_only_fields = fields

    def get_status(self, item: OrderItem) -> str:
        return web_item_status(item, item.order)

    @extend_schema_field(serializers.ChoiceField(choices=list(PAYMENT_METHOD_LABELS.values())))
    def get_payment_method(self, item: OrderItem) -> str:
        return PAYMENT_METHOD_LABELS[item.order.payment_method]

    @extend_schema_field(WebOrderAddressSerializer)
    def get_address(self, item: OrderItem) -> dict[str, Any]:
        return web_address_from_snapshot(item.order.shipping_address or {})


# --- Payments ------------------------------------------------------------------------------------


class WebPaymentIntentInputSerializer(serializers.Serializer):
    address_id = _id_field()


class WebPaymentIntentSerializer(serializers.Serializer):
    client_secret = serializers.CharField()
    amount = _number(help_text="The order total in major units (59.99), as a number.")
