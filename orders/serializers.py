from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from .models import Order, OrderEvent, OrderItem, OrderStatus, PaymentMethod

# --- Input ----------------------------------------------------------------------------------------


class OrderCreateInputSerializer(serializers.Serializer):
    shipping_address_id = serializers.IntegerField(min_value=1, max_value=2**63 - 1)
    payment_method = serializers.ChoiceField(choices=PaymentMethod.values)


class OrderItemCancelInputSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class OrderShipInputSerializer(serializers.Serializer):
    tracking_number = serializers.CharField(max_length=100)
    carrier = serializers.CharField(max_length=100)


class OrderRefundInputSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class OrderListQuerySerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=OrderStatus.values, required=False, allow_blank=True)
    search = serializers.CharField(max_length=200, required=False, allow_blank=True)


# --- Output (the contract's Order shape) ----------------------------------------------------------


class OrderItemOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = OrderItem
        fields = [
            "id",
            "product_id",
            "variant_id",
            "options",
            "product_name",
            "sku",
            "unit_price",
            "quantity",
            "line_total",
            "discount",
            "status",
            "cancelled_at",
        ]
        read_only_fields = fields


class OrderEventOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = OrderEvent
        fields = ["status", "note", "created_at"]
        read_only_fields = fields


class OrderShippingAddressSerializer(serializers.Serializer):
    """The address as it was when the order was placed."""

    full_name = serializers.CharField()
    phone = serializers.CharField()
    line1 = serializers.CharField()
    line2 = serializers.CharField(allow_blank=True)
    city = serializers.CharField()
    state = serializers.CharField(allow_blank=True)
    postal_code = serializers.CharField()
    country = serializers.CharField()
    address_type = serializers.CharField()
    district = serializers.CharField(required=False, allow_blank=True)
    landmark = serializers.CharField(required=False, allow_blank=True)


class OrderOutputSerializer(serializers.ModelSerializer):
    items = OrderItemOutputSerializer(many=True, read_only=True)
    events = OrderEventOutputSerializer(many=True, read_only=True)
    shipping_address = serializers.SerializerMethodField()

    class Meta:
        model = Order
        fields = [
            "id",
            "number",
            "status",
            "payment_method",
            "items",
            "subtotal",
            "discount_total",
            "coupon_code",
            "shipping_total",
            "total",
            "currency",
            "shipping_address",
            "tracking_number",
            "carrier",
            "estimated_delivery",
            "created_at",
            "paid_at",
            "shipped_at",
            "delivered_at",
            "cancelled_at",
            "expires_at",
            "events",
        ]
        read_only_fields = fields

    @extend_schema_field(OrderShippingAddressSerializer)
    def get_shipping_address(self, order: Order) -> dict:
        return dict(order.shipping_address or {})


class PaymentClientOutputSerializer(serializers.Serializer):
    client_secret = serializers.CharField()
    payment_intent_id = serializers.CharField()
    amount = serializers.IntegerField(help_text="Minor units, as Stripe counts (5999 = 59.99).")
    currency = serializers.CharField()
    publishable_key = serializers.CharField()


class OrderCreateOutputSerializer(serializers.Serializer):
    order = OrderOutputSerializer()
    payment = PaymentClientOutputSerializer(allow_null=True)
