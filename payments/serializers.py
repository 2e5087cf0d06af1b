from rest_framework import serializers

from core.ids import id_field

# Stripe's own ceiling for an amount in minor units (8 digits); anything above cannot be a total.
MAX_AMOUNT = 99_999_999


class PaymentIntentInputSerializer(serializers.Serializer):
    order_id = id_field()
    amount = serializers.IntegerField(
        min_value=0,
        max_value=MAX_AMOUNT,
        required=False,
        allow_null=True,
        help_text="Optional: the total the client shows, in minor units (5999 = 59.99). Must match.",
    )


class PaymentClientPayloadSerializer(serializers.Serializer):
    """What Stripe.js needs to confirm the payment (`payment_client_payload`)."""

    client_secret = serializers.CharField()
    payment_intent_id = serializers.CharField()
    amount = serializers.IntegerField(help_text="Order total in minor units (5999 = 59.99).")
    currency = serializers.CharField()
    publishable_key = serializers.CharField()


class PaymentErrorSerializer(serializers.Serializer):
    detail = serializers.CharField()
    code = serializers.CharField()


class WebhookAckSerializer(serializers.Serializer):
    received = serializers.BooleanField()
    duplicate = serializers.BooleanField()
