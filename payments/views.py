from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.parsers import BaseParser
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.idempotency import idempotent_call

from .serializers import (
    PaymentClientPayloadSerializer,
    PaymentErrorSerializer,
    PaymentIntentInputSerializer,
    WebhookAckSerializer,
)
from .services import payment_client_payload, payment_intent_get_or_create_for_order
from .webhooks import webhook_event_process, webhook_event_verify

# A 400 is either the serializer's `{"field": ["message"]}` or an error with a code (`amount_mismatch`).
BAD_REQUEST_SCHEMA = {
    "oneOf": [
        {
            "type": "object",
            "properties": {
                "detail": {"type": "string"},
                "code": {"type": "string"},
                "expected_amount": {"type": "integer"},
            },
            "required": ["detail", "code"],
        },
        {"type": "object", "additionalProperties": {"type": "array", "items": {"type": "string"}}},
    ]
}


class PaymentIntentView(APIView):
    """The PaymentIntent of the caller's pending card order (reused; recreated when cancelled on Stripe)."""

    permission_classes = [IsAuthenticated]

    @extend_schema(
        tags=["payments"],
        operation_id="payments_payment_intent",
        request=PaymentIntentInputSerializer,
        parameters=[
            OpenApiParameter(
                "Idempotency-Key",
                OpenApiTypes.STR,
                OpenApiParameter.HEADER,
                required=False,
                description="Up to 255 characters: a retry with the same key replays the first answer.",
            )
        ],
        responses={
            200: PaymentClientPayloadSerializer,
            400: OpenApiResponse(
                BAD_REQUEST_SCHEMA,
                description="Validation errors, or `amount_mismatch` (with `expected_amount`) when `amount` "
                "is not the order total in minor units.",
            ),
            401: OpenApiResponse(PaymentErrorSerializer, description="Not authenticated."),
            404: OpenApiResponse(PaymentErrorSerializer, description="No such order of the caller."),
            409: OpenApiResponse(
                PaymentErrorSerializer,
                description="`invalid_transition` (the order is not PENDING, has expired, or is cash on "
                "delivery), `payment_in_progress` (a payment already went through and is being settled or "
                "reviewed) or `idempotency_conflict`.",
            ),
            502: OpenApiResponse(
                PaymentErrorSerializer, description="`payment_provider_error`: Stripe failed."
            ),
        },
        examples=[
            OpenApiExample("Request", value={"order_id": 42, "amount": 5999}, request_only=True),
            OpenApiExample(
                "Response",
                value={
                    "client_secret": "pi_3Nx..._secret_...",
                    "payment_intent_id": "pi_3Nx...",
                    "amount": 5999,
                    "currency": "usd",
                    "publishable_key": "pk_live_...",
                },
                response_only=True,
            ),
        ],
    )
    def post(self, request: Request) -> Response:
        serializer = PaymentIntentInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data

        def produce() -> tuple[int, dict]:
            payment = payment_intent_get_or_create_for_order(
                order_id=data["order_id"], user=request.user, amount=data.get("amount")
            )
            return 200, payment_client_payload(payment=payment)

        status_code, body = idempotent_call(
            user=request.user,
            scope="payments.payment_intent",
            key=request.headers.get("Idempotency-Key"),
            payload={"order_id": data["order_id"], "amount": data.get("amount")},
            produce=produce,
        )
        return Response(body, status=status_code)


class _RawBodyParser(BaseParser):
    """Leaves the body alone: the signature is checked on the exact bytes Stripe sent."""

    media_type = "*/*"

    def parse(self, stream, media_type=None, parser_context=None):
        return {}


class StripeWebhookView(APIView):
    """Stripe's event deliveries. No auth, CSRF or throttling: the signature is the authentication."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes: list = []
    parser_classes = [_RawBodyParser]

    @extend_schema(
        tags=["payments"],
        operation_id="payments_webhook",
        request={"application/json": OpenApiTypes.OBJECT},
        parameters=[
            OpenApiParameter(
                "Stripe-Signature",
                OpenApiTypes.STR,
                OpenApiParameter.HEADER,
                required=True,
                description="`t=<unix time>,v1=<HMAC-SHA256>` as Stripe sends it.",
            )
        ],
        responses={
            200: OpenApiResponse(
                WebhookAckSerializer,
                description="Processed, ignored (unhandled type) or a replay (`duplicate`: nothing changed).",
            ),
            400: OpenApiResponse(
                PaymentErrorSerializer,
                description="`invalid_signature` (missing, wrong, or older than the tolerance) or "
                "`invalid_payload`. Nothing is recorded.",
            ),
            502: OpenApiResponse(
                PaymentErrorSerializer,
                description="Stripe failed or was unreachable during processing (reading the PaymentIntent "
                "back, an automatic refund): nothing was recorded, Stripe delivers the event again later.",
            ),
            503: OpenApiResponse(
                PaymentErrorSerializer,
                description="`payment_not_settled`: a `charge.refunded` arrived before the payment's "
                "`payment_intent.succeeded`; nothing was recorded, Stripe delivers it again later.",
            ),
        },
    )
    def post(self, request: Request) -> Response:
        event = webhook_event_verify(payload=request.body, signature=request.headers.get("Stripe-Signature"))
        record = webhook_event_process(event=event)
        return Response({"received": True, "duplicate": record is None})
