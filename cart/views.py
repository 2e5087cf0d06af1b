from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status, viewsets
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from core.ids import path_id

from . import services
from .selectors import cart_products_variants, cart_read
from .serializers import (
    CartAddInputSerializer,
    CartCouponInputSerializer,
    CartErrorSerializer,
    CartItemIdsInputSerializer,
    CartOutputSerializer,
    CartUpdateInputSerializer,
    cart_output,
)

ITEM_ID_PARAMETER = OpenApiParameter(
    "item_id", OpenApiTypes.INT, OpenApiParameter.PATH, description="Id of a line of the caller's cart."
)
ERROR_RESPONSES = {
    401: OpenApiResponse(CartErrorSerializer, description="Not authenticated."),
}
NOT_FOUND = OpenApiResponse(
    CartErrorSerializer, description="Not a line of the caller's cart (another user's line included)."
)


@extend_schema(tags=["cart"])
class CartViewSet(viewsets.GenericViewSet):
    """The caller's cart. Every write answers with the whole cart."""

    permission_classes = [IsAuthenticated]
    serializer_class = CartOutputSerializer
    pagination_class = None

    def _cart_response(self, cart, status_code: int = status.HTTP_200_OK) -> Response:
        cart_products_variants(cart=cart, user=self.request.user)
        # The plain-dict fast path (equal to CartOutputSerializer's output, pinned by a test).
        return Response(cart_output(cart, self.request), status=status_code)

    @extend_schema(
        operation_id="cart_retrieve",
        summary="The caller's cart (created on first use)",
        responses={200: CartOutputSerializer, **ERROR_RESPONSES},
    )
    def retrieve(self, request: Request) -> Response:
        return self._cart_response(cart_read(user=request.user))

    @extend_schema(
        operation_id="cart_add",
        summary="Add a product's variant (adds to its line when that variant is already in the cart)",
        request=CartAddInputSerializer,
        responses={
            201: CartOutputSerializer,
            400: OpenApiResponse(
                description="Invalid product_id or quantity outside 1..99; `variant_id` left out for a "
                "product with several active variants, or not a variant of this product."
            ),
            **ERROR_RESPONSES,
            404: OpenApiResponse(CartErrorSerializer, description="No such product."),
            409: OpenApiResponse(
                CartErrorSerializer,
                description="`insufficient_stock` (with `available`, the variant's stock), "
                "`product_unavailable` (product or variant inactive) or "
                "`quantity_limit_exceeded` (the line would pass 99), `amount_too_large`.",
            ),
        },
        examples=[
            OpenApiExample("Add two", value={"product_id": 12, "quantity": 2}, request_only=True),
            OpenApiExample(
                "Add a size", value={"product_id": 12, "variant_id": 58, "quantity": 1}, request_only=True
            ),
        ],
    )
    def add(self, request: Request) -> Response:
        data = self._valid(CartAddInputSerializer, request)
        cart = services.cart_item_add(user=request.user, **data)
        return self._cart_response(cart, status.HTTP_201_CREATED)

    @extend_schema(
        operation_id="cart_item_update",
        summary="Set a line's quantity (0 removes) or step it by one (decrease at 1 removes)",
        parameters=[ITEM_ID_PARAMETER],
        request=CartUpdateInputSerializer,
        responses={
            200: CartOutputSerializer,
            400: OpenApiResponse(description="Neither or both of quantity/action, or an invalid value."),
            **ERROR_RESPONSES,
            404: NOT_FOUND,
            409: OpenApiResponse(
                CartErrorSerializer,
                description="Raising the line: `insufficient_stock`, `product_unavailable`, "
                "`quantity_limit_exceeded`, `amount_too_large`.",
            ),
        },
        examples=[
            OpenApiExample("Set quantity", value={"quantity": 3}, request_only=True),
            OpenApiExample("Step", value={"action": "increase"}, request_only=True),
        ],
    )
    def update_item(self, request: Request, item_id: str) -> Response:
        pk = path_id(item_id, "Cart item")
        data = self._valid(CartUpdateInputSerializer, request)
        if "quantity" in data:
            cart = services.cart_item_set_quantity(user=request.user, item_id=pk, quantity=data["quantity"])
        else:
            cart = services.cart_item_step(user=request.user, item_id=pk, action=data["action"])
        return self._cart_response(cart)

    @extend_schema(
        operation_id="cart_item_remove",
        summary="Remove one line",
        parameters=[ITEM_ID_PARAMETER],
        request=None,
        responses={200: CartOutputSerializer, **ERROR_RESPONSES, 404: NOT_FOUND},
    )
    def remove_item(self, request: Request, item_id: str) -> Response:
        cart = services.cart_item_remove(user=request.user, item_id=path_id(item_id, "Cart item"))
        return self._cart_response(cart)

    @extend_schema(
        operation_id="cart_clear",
        summary="Remove every line",
        request=None,
        responses={200: CartOutputSerializer, **ERROR_RESPONSES},
    )
    def clear(self, request: Request) -> Response:
        return self._cart_response(services.cart_clear(user=request.user))

    @extend_schema(
        operation_id="cart_bulk_remove",
        summary="Remove several lines (ids not in the caller's cart are ignored)",
        request=CartItemIdsInputSerializer,
        responses={
            200: CartOutputSerializer,
            400: OpenApiResponse(description="item_ids missing, empty or not integers."),
            **ERROR_RESPONSES,
        },
    )
    def bulk_remove(self, request: Request) -> Response:
        data = self._valid(CartItemIdsInputSerializer, request)
        cart = services.cart_items_bulk_remove(user=request.user, item_ids=data["item_ids"])
        return self._cart_response(cart)

    @extend_schema(
        operation_id="cart_bulk_move_to_wishlist",
        summary="Move lines to the wishlist, all or nothing",
        request=CartItemIdsInputSerializer,
        responses={
            200: CartOutputSerializer,
            400: OpenApiResponse(description="item_ids missing, empty or not integers."),
            **ERROR_RESPONSES,
            404: OpenApiResponse(
                CartErrorSerializer, description="An id is not a line of the caller's cart; nothing moved."
            ),
            409: OpenApiResponse(
                CartErrorSerializer,
                description="`product_unavailable`: a line's product was deactivated; nothing moved.",
            ),
        },
    )
    def bulk_move_to_wishlist(self, request: Request) -> Response:
        data = self._valid(CartItemIdsInputSerializer, request)
        cart = services.cart_items_bulk_move_to_wishlist(user=request.user, item_ids=data["item_ids"])
        return self._cart_response(cart)

    @extend_schema(
        operation_id="cart_coupon_apply",
        summary="Apply a coupon code (case-insensitive)",
        request=CartCouponInputSerializer,
        responses={
            200: CartOutputSerializer,
            400: OpenApiResponse(
                description="`{detail, code}` with `coupon_invalid` (unknown, inactive, not started, ended), "
                "`coupon_not_applicable` (below `min_subtotal`, or no eligible line), "
                "`coupon_exhausted` (total or per-customer limit reached); or a validation error "
                '`{"code": ["..."]}` for a missing or blank code.',
            ),
            **ERROR_RESPONSES,
        },
    )
    def coupon_apply(self, request: Request) -> Response:
        data = self._valid(CartCouponInputSerializer, request)
        return self._cart_response(services.cart_coupon_apply(user=request.user, code=data["code"]))

    @extend_schema(
        operation_id="cart_coupon_remove",
        summary="Remove the coupon from the cart",
        request=None,
        responses={200: CartOutputSerializer, **ERROR_RESPONSES},
    )
    def coupon_remove(self, request: Request) -> Response:
        return self._cart_response(services.cart_coupon_remove(user=request.user))

    def _valid(self, serializer_class, request: Request) -> dict:
        serializer = serializer_class(data=request.data)
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data
