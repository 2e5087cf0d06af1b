from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status, viewsets
from rest_framework.permissions import IsAdminUser, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from core.exceptions import NotFound
from core.idempotency import idempotent_call
from core.ids import path_id
from payments.services import payment_client_payload

from . import selectors, services
from .models import Order, OrderStatus
from .serializers import (
    OrderCreateInputSerializer,
    OrderCreateOutputSerializer,
    OrderItemCancelInputSerializer,
    OrderListQuerySerializer,
    OrderOutputSerializer,
    OrderRefundInputSerializer,
    OrderShipInputSerializer,
)

IDEMPOTENCY_HEADER = OpenApiParameter(
    "Idempotency-Key",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    required=False,
    description="Any string up to 255 characters. The same key from the same user replays the first "
    "response; the same key with a different body is 409 `idempotency_conflict`.",
)
ORDER_ID = OpenApiParameter("id", OpenApiTypes.INT, OpenApiParameter.PATH, description="Order id.")
ITEM_ID = OpenApiParameter("item_id", OpenApiTypes.INT, OpenApiParameter.PATH, description="Order line id.")
R401 = OpenApiResponse(description="`not_authenticated`.")
R403_STAFF = OpenApiResponse(description="`permission_denied`: staff only.")
R404 = OpenApiResponse(description="`not_found`: no such order among the caller's orders.")
R409_TRANSITION = OpenApiResponse(description="`invalid_transition`: the order's status does not allow it.")
R502 = OpenApiResponse(description="`payment_provider_error`: Stripe failed; nothing changed.")


@extend_schema(tags=["orders"])
class OrderViewSet(viewsets.GenericViewSet):
    """Orders: checkout, the caller's history, cancellation, and the staff operations."""

    permission_classes = [IsAuthenticated]
    serializer_class = OrderOutputSerializer
    queryset = Order.objects.none()  # per-request querysets below

    def get_permissions(self):
        if self.action in {"ship", "deliver", "refund"}:
            return [IsAuthenticated(), IsAdminUser()]
        return super().get_permissions()

    def _visible_orders(self):
        """Customers see their own orders; staff see every order (read and staff operations)."""
        qs = selectors.order_queryset_with_details()
        return qs if self.request.user.is_staff else qs.filter(user=self.request.user)

    def _any_order_id(self, pk) -> int:
        order_id = path_id(pk, "Order")
        if not Order.objects.filter(pk=order_id).exists():
            raise NotFound("Order not found.")
        return order_id

    def _order_response(self, order_id: int, status_code: int = status.HTTP_200_OK) -> Response:
        order = selectors.order_queryset_with_details().get(pk=order_id)
        return Response(OrderOutputSerializer(order).data, status=status_code)

    @extend_schema(
        operation_id="orders_create",
        summary="Place an order from the caller's cart",
        parameters=[IDEMPOTENCY_HEADER],
        request=OrderCreateInputSerializer,
        responses={
            201: OrderCreateOutputSerializer,
            400: OpenApiResponse(description="Validation errors, `cart_empty`, `invalid_idempotency_key`."),
            401: R401,
            404: OpenApiResponse(description="`not_found`: the address is not one of the caller's."),
            409: OpenApiResponse(
                description="`insufficient_stock` (with `product_id`, `product_name`, `variant_id`, "
                "`available`, `short_lines`), "
                "`product_unavailable`, `amount_too_large` (with `max_amount`), `idempotency_conflict`."
            ),
            502: OpenApiResponse(description="`payment_provider_error`: Stripe failed; no order was made."),
        },
    )
    def create_order(self, request: Request) -> Response:
        serializer = OrderCreateInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data

        def produce() -> tuple[int, dict]:
            result = services.order_create_from_cart(
                user=request.user,
                shipping_address_id=data["shipping_address_id"],
                payment_method=data["payment_method"],
            )
            order = selectors.order_queryset_with_details().get(pk=result.order.pk)
            payment = payment_client_payload(payment=result.payment) if result.payment else None
            return status.HTTP_201_CREATED, {"order": OrderOutputSerializer(order).data, "payment": payment}

        status_code, body = idempotent_call(
            user=request.user,
            scope="orders.create",
            key=request.headers.get("Idempotency-Key"),
            payload=dict(data),
            produce=produce,
        )
        return Response(body, status=status_code)

    @extend_schema(
        operation_id="orders_my",
        summary="The caller's orders, newest first",
        parameters=[
            OpenApiParameter(
                "status", OpenApiTypes.STR, enum=OrderStatus.values, description="Only this status."
            ),
            OpenApiParameter(
                "search", OpenApiTypes.STR, description="Order number or product name contains."
            ),
        ],
        responses={
            200: OrderOutputSerializer(many=True),
            400: OpenApiResponse(description="Unknown status."),
            401: R401,
        },
    )
    def my(self, request: Request) -> Response:
        query = OrderListQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        orders = selectors.order_list(
            user=request.user,
            status=query.validated_data.get("status"),
            search=query.validated_data.get("search"),
        )
        page = self.paginate_queryset(orders)
        return self.get_paginated_response(OrderOutputSerializer(page, many=True).data)

    @extend_schema(
        operation_id="orders_latest",
        summary="The caller's newest order",
        responses={200: OrderOutputSerializer, 401: R401, 404: OpenApiResponse(description="No orders yet.")},
    )
    def latest(self, request: Request) -> Response:
        return Response(OrderOutputSerializer(selectors.order_latest_for_user(user=request.user)).data)

    @extend_schema(
        operation_id="orders_retrieve",
        summary="One order with its lines and events (own orders; staff: any)",
        parameters=[ORDER_ID],
        responses={200: OrderOutputSerializer, 401: R401, 404: R404},
    )
    def retrieve(self, request: Request, pk: int) -> Response:
        order = self._visible_orders().filter(pk=path_id(pk, "Order")).first()
        if order is None:
            raise NotFound("Order not found.")
        return Response(OrderOutputSerializer(order).data)

    @extend_schema(
        operation_id="orders_cancel",
        summary="Cancel an unpaid card order (PENDING) or a cash-on-delivery order not yet shipped",
        description="Releases the stock, puts the lines back into the cart, cancels the PaymentIntent "
        "and sends a cancellation email.",
        parameters=[ORDER_ID],
        request=None,
        responses={200: OrderOutputSerializer, 401: R401, 404: R404, 409: R409_TRANSITION},
    )
    def cancel(self, request: Request, pk: int) -> Response:
        order = services.order_cancel_by_customer(order_id=path_id(pk, "Order"), user=request.user)
        return self._order_response(order.pk)

    @extend_schema(
        operation_id="orders_item_cancel",
        summary="Cancel one line of a PENDING, CONFIRMED or PAID order",
        description="Releases the line's stock. A paid card line is refunded through Stripe "
        "(`REFUND_REQUESTED`, or `REFUNDED` when Stripe confirms at once); the last active line also "
        "refunds the shipping fee. "
        "When no line is left active the order becomes CANCELLED (REFUNDED if money went back).",
        parameters=[ORDER_ID, ITEM_ID],
        request=OrderItemCancelInputSerializer,
        responses={
            200: OrderOutputSerializer,
            400: OpenApiResponse(description="Validation errors."),
            401: R401,
            404: OpenApiResponse(description="`not_found`: not the caller's order, or not a line of it."),
            409: OpenApiResponse(
                description="`invalid_transition`: shipped/closed order, or line not active."
            ),
            502: R502,
        },
    )
    def cancel_item(self, request: Request, pk: int, item_id: int) -> Response:
        serializer = OrderItemCancelInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        order = services.order_item_cancel(
            order_id=path_id(pk, "Order"),
            item_id=path_id(item_id, "Order item"),
            user=request.user,
            reason=serializer.validated_data["reason"],
        )
        return self._order_response(order.pk)

    @extend_schema(
        operation_id="orders_ship",
        summary="Staff: mark a PAID or CONFIRMED order shipped (sends the shipping email)",
        parameters=[ORDER_ID],
        request=OrderShipInputSerializer,
        responses={
            200: OrderOutputSerializer,
            400: OpenApiResponse(description="`tracking_number` and `carrier` are required."),
            401: R401,
            403: R403_STAFF,
            404: R404,
            409: R409_TRANSITION,
        },
    )
    def ship(self, request: Request, pk: int) -> Response:
        serializer = OrderShipInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        order_id = self._any_order_id(pk)
        services.order_ship(order_id=order_id, actor=request.user, **serializer.validated_data)
        return self._order_response(order_id)

    @extend_schema(
        operation_id="orders_deliver",
        summary="Staff: mark a SHIPPED order delivered (cash on delivery: cash recorded as collected)",
        parameters=[ORDER_ID],
        request=None,
        responses={200: OrderOutputSerializer, 401: R401, 403: R403_STAFF, 404: R404, 409: R409_TRANSITION},
    )
    def deliver(self, request: Request, pk: int) -> Response:
        order_id = self._any_order_id(pk)
        services.order_deliver(order_id=order_id, actor=request.user)
        return self._order_response(order_id)

    @extend_schema(
        operation_id="orders_refund",
        summary="Staff: refund a PAID order in full (whatever is still refundable) and release its stock",
        parameters=[ORDER_ID],
        request=OrderRefundInputSerializer,
        responses={
            200: OrderOutputSerializer,
            401: R401,
            403: R403_STAFF,
            404: R404,
            409: R409_TRANSITION,
            502: R502,
        },
    )
    def refund(self, request: Request, pk: int) -> Response:
        serializer = OrderRefundInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        order_id = self._any_order_id(pk)
        services.order_refund(
            order_id=order_id, actor=request.user, reason=serializer.validated_data["reason"]
        )
        return self._order_response(order_id)
