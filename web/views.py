"""The storefront profile (`/api/web/`): the NovaCart web storefront's calls, answered by the same
services and selectors as the canonical API. Each view is input serializer -> service/selector
-> output serializer; the only logic here is translating names, shapes and error bodies.

Public views use `LenientJWTAuthentication` (a bad token, e.g. `Bearer null`, is anonymous);
private views use the default `JWTAuthentication` (a bad token is 401, so the storefront
refreshes it).
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import QueryDict
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.exceptions import ValidationError
from rest_framework.generics import GenericAPIView
from rest_framework.pagination import PageNumberPagination
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import as_serializer_error
from rest_framework.views import APIView

from addresses import selectors as address_selectors
from addresses import services as address_services
from addresses.serializers import PincodeQuerySerializer, PincodeResultSerializer
from cart import selectors as cart_selectors
from cart import services as cart_services
from core.catalog_cache import cache_anonymous
from core.exceptions import NotFound
from core.idempotency import idempotent_call
from core.ids import path_id
from orders import selectors as order_selectors
from orders import services as order_services
from orders.models import Order, OrderStatus, PaymentMethod
from orders.serializers import OrderListQuerySerializer
from products import selectors as product_selectors
from products import services as product_services
from users import services as user_services
from users.throttling import AuthThrottleMixin
from users.views import LoginView, PasswordResetRequestView, PublicAPIView, RefreshView, RegisterView

from .authentication import LenientJWTAuthentication
from .serializers import (
    WebAddressInputSerializer,
    WebAddressSerializer,
    WebBookIdInputSerializer,
    WebBrandSerializer,
    WebCancelItemInputSerializer,
    WebCancelItemQuerySerializer,
    WebCancelItemSerializer,
    WebCartAddInputSerializer,
    WebCartIdsInputSerializer,
    WebCartLineSerializer,
    WebCartUpdateInputSerializer,
    WebCategorySerializer,
    WebErrorSerializer,
    WebLatestOrderSerializer,
    WebMessageSerializer,
    WebOrderCreateInputSerializer,
    WebOrderSerializer,
    WebPasswordResetConfirmInputSerializer,
    WebPaymentIntentInputSerializer,
    WebPaymentIntentSerializer,
    WebPincodeQuerySerializer,
    WebPriceRangeSerializer,
    WebProductListQuerySerializer,
    WebProductSerializer,
    WebUserSerializer,
    WebWishlistItemSerializer,
    web_product_rows_output,
)

TAG = "storefront profile (/api/web)"
PASSWORD_RESET_DONE = "Your password has been reset. Please sign in again."

# The product-list parameters the storefront sends; anything else is ignored.
PRODUCT_LIST_PARAMS = ("category", "brand", "min_price", "max_price", "sort")

R400 = OpenApiResponse(description='Validation errors, `{"field": ["message"]}`.')
R401 = OpenApiResponse(description="Missing or invalid token (`Bearer null` included): refresh and retry.")
R404 = OpenApiResponse(description="Not found among the caller's own objects.")
R409 = OpenApiResponse(description="`insufficient_stock`, `product_unavailable`, `invalid_transition`...")
R502 = OpenApiResponse(description="`payment_provider_error`: Stripe failed; nothing changed.")
IDEMPOTENCY_HEADER = OpenApiParameter(
    "Idempotency-Key",
    str,
    OpenApiParameter.HEADER,
    required=False,
    description="Optional: a retry with the same key replays the first answer.",
)


def _valid(serializer_class, data, **kwargs) -> dict:
    serializer = serializer_class(data=data, **kwargs)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


class PublicView(APIView):
    """Public storefront endpoints: anyone may call; a bad token is ignored, not a 401."""

    authentication_classes = [LenientJWTAuthentication]
    permission_classes = [AllowAny]


class PrivateView(APIView):
    """Signed-in storefront endpoints (the default JWT authentication: a bad token is 401)."""

    permission_classes = [IsAuthenticated]


# --- Accounts ------------------------------------------------------------------------------------
# Login, refresh, registration and the reset request already speak the storefront's dialect
# (`username` may hold an email, errors keyed by field): the accounts views themselves.


@extend_schema(tags=[TAG])
class WebLoginView(LoginView):
    pass


@extend_schema(tags=[TAG])
class WebRefreshView(RefreshView):
    pass


@extend_schema(tags=[TAG])
class WebRegisterView(RegisterView):
    pass


@extend_schema(tags=[TAG])
class WebPasswordResetRequestView(PasswordResetRequestView):
    pass


class WebPasswordResetConfirmView(AuthThrottleMixin, PublicAPIView):
    """`{token, password}` (the storefront never sends the uid). The storefront shows `detail` or
    `token` from an error, so a password the validators refuse is also summed up in `detail`."""

    @extend_schema(
        tags=[TAG],
        operation_id="web_password_reset_confirm",
        request=WebPasswordResetConfirmInputSerializer,
        responses={
            200: WebMessageSerializer,
            400: OpenApiResponse(
                description='`{"token": [...]}` for a bad, used or expired link; '
                '`{"detail": "...", "password": [...]}` for a refused password.'
            ),
            429: OpenApiResponse(description="`throttled`: too many attempts from here (Retry-After)."),
        },
    )
    def post(self, request: Request) -> Response:
        data = _valid(WebPasswordResetConfirmInputSerializer, request.data)
        try:
            user_services.password_reset_confirm(token=data["token"], password=data["password"])
        except DjangoValidationError as exc:
            errors = as_serializer_error(exc)
            if "password" in errors:
                errors = {"detail": " ".join(str(m) for m in errors["password"]), **errors}
            raise ValidationError(errors)
        return Response({"detail": PASSWORD_RESET_DONE})


class WebWhoAmIView(PrivateView):
    """The signed-in user (`/whoami/` and `/my/dashboard/`)."""

    @extend_schema(tags=[TAG], responses={200: WebUserSerializer, 401: R401})
    def get(self, request: Request) -> Response:
        return Response(WebUserSerializer(request.user).data)


# --- Catalog -------------------------------------------------------------------------------------


class WebCategoryListView(PublicView):
    @extend_schema(
        tags=[TAG],
        operation_id="web_categories",
        summary="Active categories with their banner images (plain array)",
        responses={200: WebCategorySerializer(many=True)},
    )
    def get(self, request: Request) -> Response:
        categories = product_selectors.category_list(user=None)
        return Response(WebCategorySerializer(categories, many=True, context={"request": request}).data)


CATEGORY_PARAM = OpenApiParameter("category", str, description="Category slug (or id); empty: all.")


class WebBrandListView(PublicView):
    @extend_schema(
        tags=[TAG],
        operation_id="web_brands",
        summary="Brands of active products (plain array of `{title}`)",
        parameters=[CATEGORY_PARAM],
        responses={200: WebBrandSerializer(many=True)},
    )
    def get(self, request: Request) -> Response:
        facets = product_selectors.product_brand_facets(category=request.query_params.get("category"))
        return Response(WebBrandSerializer(facets, many=True).data)


class WebPriceRangeView(PublicView):
    @extend_schema(
        tags=[TAG],
        operation_id="web_price_range",
        summary="Lowest and highest price of active products (numbers; null when there are none)",
        parameters=[CATEGORY_PARAM],
        responses={200: WebPriceRangeSerializer},
    )
    def get(self, request: Request) -> Response:
        price_range = product_selectors.product_price_range(category=request.query_params.get("category"))
        return Response(WebPriceRangeSerializer(price_range).data)


class WebProductListView(PublicView):
    @extend_schema(
        tags=[TAG],
        operation_id="web_products",
        summary="Active products, filtered (plain array, at most WEB_PRODUCT_LIST_MAX)",
        parameters=[WebProductListQuerySerializer],
        responses={200: WebProductSerializer(many=True), 400: R400},
    )
    # The storefront's product shape shows no stock: orders' stock writes leave these entries.
    @cache_anonymous(shows_stock=False)
    def get(self, request: Request) -> Response:
        filters = QueryDict(mutable=True)
        for name in PRODUCT_LIST_PARAMS:
            if name in request.query_params:
                filters.setlist(name, request.query_params.getlist(name))
        # The storefront shows customers' view of the catalog (active products), staff included.
        # Only the columns the storefront's shape shows, as plain rows (up to 500 of them: model
        # instances and per-row serializer fields were most of the request), into the shape of
        # WebProductSerializer by `web_product_rows_output` (a test pins the two equal); the SQL
        # compiled once per filter set.
        rows = product_selectors.product_storefront_rows(
            filters=filters, columns=WebProductSerializer.Meta.columns, limit=settings.WEB_PRODUCT_LIST_MAX
        )
        return Response(web_product_rows_output(rows, request))


class WebProductDetailView(PublicView):
    @extend_schema(
        tags=[TAG],
        operation_id="web_product",
        summary="One active product",
        responses={200: WebProductSerializer, 404: OpenApiResponse(description="No such active product.")},
    )
    # The storefront's product shape shows no stock: orders' stock writes leave these entries.
    @cache_anonymous(shows_stock=False)
    def get(self, request: Request, pk: int) -> Response:
        product = (
            product_selectors.product_visible_queryset(user=None).filter(pk=path_id(pk, "Product")).first()
        )
        if product is None:
            raise NotFound("Product not found.")
        return Response(WebProductSerializer(product, context={"request": request}).data)


# --- Wishlist ------------------------------------------------------------------------------------


class WebWishlistView(PrivateView):
    def _list(self, request: Request) -> list:
        items = product_selectors.wishlist_item_list(user=request.user)
        return WebWishlistItemSerializer(items, many=True, context={"request": request}).data

    @extend_schema(
        tags=[TAG],
        operation_id="web_wishlist",
        summary="The caller's wishlist (plain array, newest first)",
        responses={200: WebWishlistItemSerializer(many=True), 401: R401},
    )
    def get(self, request: Request) -> Response:
        return Response(self._list(request))

    @extend_schema(
        tags=[TAG],
        operation_id="web_wishlist_add",
        summary="Add a product (201; 200 with the existing row when it is already there)",
        request=WebBookIdInputSerializer,
        responses={
            201: WebWishlistItemSerializer,
            200: WebWishlistItemSerializer,
            400: R400,
            401: R401,
            404: OpenApiResponse(description="No such active product."),
        },
    )
    def post(self, request: Request) -> Response:
        data = _valid(WebBookIdInputSerializer, request.data)
        item, created = product_services.wishlist_item_add(user=request.user, product_id=data["book_id"])
        body = WebWishlistItemSerializer(item, context={"request": request}).data
        return Response(body, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


class WebWishlistItemView(PrivateView):
    @extend_schema(
        tags=[TAG],
        operation_id="web_wishlist_remove",
        summary="Remove from the wishlist by row id or, failing that, by product id",
        description="`<id>` is one of the caller's wishlist row ids; when none of the caller's rows has "
        "that id it is taken as a product id (the storefront sends both).",
        responses={204: None, 401: R401, 404: R404},
    )
    def delete(self, request: Request, pk: int) -> Response:
        pk = path_id(pk, "Wishlist item")
        rows = product_selectors.wishlist_item_list(user=request.user)
        row_id = rows.filter(pk=pk).values_list("pk", flat=True).first()
        if row_id is None:
            row_id = rows.filter(product_id=pk).values_list("pk", flat=True).first()
        if row_id is None:
            raise NotFound("Wishlist item not found.")
        product_services.wishlist_item_remove(user=request.user, item_id=row_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- Cart ----------------------------------------------------------------------------------------

CART_LINES = {200: WebCartLineSerializer(many=True), 401: R401}


class _CartView(PrivateView):
    def lines_response(self, cart, status_code: int = status.HTTP_200_OK) -> Response:
        body = WebCartLineSerializer(cart.items.all(), many=True, context={"request": self.request}).data
        return Response(body, status=status_code)


class WebCartView(_CartView):
    @extend_schema(
        tags=[TAG],
        operation_id="web_cart",
        summary="The caller's cart lines (plain array)",
        responses=CART_LINES,
    )
    def get(self, request: Request) -> Response:
        return self.lines_response(cart_selectors.cart_detail(user=request.user))


class WebCartAddView(_CartView):
    @extend_schema(
        tags=[TAG],
        operation_id="web_cart_add",
        summary="Add one unit of a product (a line already there grows by one)",
        request=WebCartAddInputSerializer,
        responses={
            201: WebCartLineSerializer(many=True),
            400: R400,
            401: R401,
            404: OpenApiResponse(description="No such product."),
            409: R409,
        },
    )
    def post(self, request: Request) -> Response:
        data = _valid(WebCartAddInputSerializer, request.data)
        cart = cart_services.cart_item_add(
            user=request.user,
            product_id=data["book_id"],
            variant_id=data.get("variant_id"),
            quantity=1,
            first_in_stock=True,
        )
        return self.lines_response(cart, status.HTTP_201_CREATED)


class WebCartUpdateView(_CartView):
    """The storefront shows `error` from a failed update, so every error body here carries it
    (next to the usual `detail`/`code` or field errors): the one exception handler adds it."""

    error_alias = "error"

    @extend_schema(
        tags=[TAG],
        operation_id="web_cart_update",
        summary="Step a line up or down by one unit (decreasing a line of 1 removes it)",
        parameters=[OpenApiParameter("id", int, OpenApiParameter.PATH, description="Cart line id.")],
        request=WebCartUpdateInputSerializer,
        responses={
            200: WebCartLineSerializer(many=True),
            400: WebErrorSerializer,
            401: R401,
            404: WebErrorSerializer,
            409: WebErrorSerializer,
        },
    )
    def patch(self, request: Request, pk: str) -> Response:
        data = _valid(WebCartUpdateInputSerializer, request.data)
        cart = cart_services.cart_item_step(
            user=request.user, item_id=path_id(pk, "Cart item"), action=data["action"]
        )
        return self.lines_response(cart)


class WebCartRemoveView(_CartView):
    @extend_schema(
        tags=[TAG],
        operation_id="web_cart_remove",
        summary="Remove a line",
        responses={**CART_LINES, 404: R404},
    )
    def delete(self, request: Request, pk: int) -> Response:
        cart = cart_services.cart_item_remove(user=request.user, item_id=path_id(pk, "Cart item"))
        return self.lines_response(cart)


class WebCartBulkDeleteView(_CartView):
    @extend_schema(
        tags=[TAG],
        operation_id="web_cart_bulk_delete",
        summary="Remove several lines (ids that are not the caller's lines are ignored)",
        request=WebCartIdsInputSerializer,
        responses={**CART_LINES, 400: R400},
    )
    def post(self, request: Request) -> Response:
        data = _valid(WebCartIdsInputSerializer, request.data)
        cart = cart_services.cart_items_bulk_remove(user=request.user, item_ids=data["cart_ids"])
        return self.lines_response(cart)


class WebCartBulkMoveView(_CartView):
    @extend_schema(
        tags=[TAG],
        operation_id="web_cart_bulk_move_to_wishlist",
        summary="Move several lines to the wishlist (all or nothing)",
        request=WebCartIdsInputSerializer,
        responses={
            **CART_LINES,
            400: R400,
            404: OpenApiResponse(description="An id is not a line of the caller's cart; nothing moved."),
            409: OpenApiResponse(description="`product_unavailable`: nothing moved."),
        },
    )
    def post(self, request: Request) -> Response:
        data = _valid(WebCartIdsInputSerializer, request.data)
        cart = cart_services.cart_items_bulk_move_to_wishlist(user=request.user, item_ids=data["cart_ids"])
        return self.lines_response(cart)


# --- Addresses -----------------------------------------------------------------------------------


class WebAddressListView(PrivateView):
    @extend_schema(
        tags=[TAG],
        operation_id="web_addresses",
        summary="The caller's addresses (plain array, default first)",
        responses={200: WebAddressSerializer(many=True), 401: R401},
    )
    def get(self, request: Request) -> Response:
        return Response(
            WebAddressSerializer(address_selectors.address_list(user=request.user), many=True).data
        )

    @extend_schema(
        tags=[TAG],
        operation_id="web_address_create",
        summary="Add an address (the first one becomes the default)",
        request=WebAddressInputSerializer,
        responses={201: WebAddressSerializer, 400: R400, 401: R401},
    )
    def post(self, request: Request) -> Response:
        data = _valid(WebAddressInputSerializer, request.data)
        address = address_services.address_create(user=request.user, **data)
        return Response(WebAddressSerializer(address).data, status=status.HTTP_201_CREATED)


class WebPincodeView(PublicView):
    @extend_schema(
        tags=[TAG],
        operation_id="web_pincode",
        summary="City and state for a pincode (the same lookup as /api/addresses/pincode/)",
        parameters=[WebPincodeQuerySerializer],
        responses={
            200: PincodeResultSerializer,
            400: R400,
            404: OpenApiResponse(description="Unknown pincode, or the lookup is not configured."),
            503: OpenApiResponse(description="The lookup service is unreachable, slow or broken."),
        },
    )
    def get(self, request: Request) -> Response:
        data = _valid(PincodeQuerySerializer, request.query_params)
        return Response(
            PincodeResultSerializer(address_services.pincode_lookup(pincode=data["pincode"])).data
        )


# --- Orders --------------------------------------------------------------------------------------


class WebOrderPagination(PageNumberPagination):
    page_size = 5


def _orders_context(request: Request) -> dict:
    return {"request": request}


class WebOrderCreateView(PrivateView):
    @extend_schema(
        tags=[TAG],
        operation_id="web_order_create",
        summary="Place a cash-on-delivery order from the caller's cart",
        description="Card orders are made by POST /api/web/payments/payment-intent/ instead. An open "
        "(unpaid) card checkout of the caller is cancelled first and its lines go into this order.",
        parameters=[IDEMPOTENCY_HEADER],
        request=WebOrderCreateInputSerializer,
        responses={
            201: WebOrderSerializer,
            400: OpenApiResponse(description="Validation errors (a method other than COD), `cart_empty`."),
            401: R401,
            404: OpenApiResponse(description="The address is not one of the caller's."),
            409: OpenApiResponse(
                description="`insufficient_stock`, `product_unavailable`, `payment_in_progress` (the card "
                "payment of the open checkout is already going through)."
            ),
        },
    )
    def post(self, request: Request) -> Response:
        data = _valid(WebOrderCreateInputSerializer, request.data)

        def produce() -> tuple[int, dict]:
            # One open card checkout at most: `order_checkout_cash` puts it back into the cart first.
            result = order_services.order_checkout_cash(
                user=request.user, shipping_address_id=data["address_id"]
            )
            order = order_selectors.order_queryset_with_details().get(pk=result.order.pk)
            return status.HTTP_201_CREATED, WebOrderSerializer(order, context=_orders_context(request)).data

        status_code, body = idempotent_call(
            user=request.user,
            scope="web.orders.create",
            key=request.headers.get("Idempotency-Key"),
            payload=dict(data),
            produce=produce,
        )
        return Response(body, status=status_code)


class WebLatestOrderView(PrivateView):
    @extend_schema(
        tags=[TAG],
        operation_id="web_order_latest",
        summary="The caller's newest order (also an unpaid card order still awaiting Stripe)",
        responses={
            200: WebLatestOrderSerializer,
            401: R401,
            404: OpenApiResponse(description="No orders yet."),
        },
    )
    def get(self, request: Request) -> Response:
        order = order_selectors.order_latest_for_user(user=request.user)
        return Response(WebLatestOrderSerializer(order, context=_orders_context(request)).data)


class WebMyOrdersView(GenericAPIView):
    permission_classes = [IsAuthenticated]
    pagination_class = WebOrderPagination
    serializer_class = WebOrderSerializer
    queryset = Order.objects.none()  # per-request: the caller's orders, below

    @extend_schema(
        tags=[TAG],
        operation_id="web_orders_my",
        summary="The caller's orders, newest first, 5 per page",
        description="Unpaid card orders still awaiting Stripe (PENDING) are left out. A paid card "
        "order shows `CONFIRMED`.",
        parameters=[OpenApiParameter("search", str, description="Order number or product name contains.")],
        responses={
            200: WebOrderSerializer(many=True),
            401: R401,
            404: OpenApiResponse(description="No such page."),
        },
    )
    def get(self, request: Request) -> Response:
        query = _valid(OrderListQuerySerializer, request.query_params)
        orders = order_selectors.order_list(user=request.user, search=query.get("search")).exclude(
            status=OrderStatus.PENDING, payment_method=PaymentMethod.CARD
        )
        page = self.paginate_queryset(orders)
        return self.get_paginated_response(
            WebOrderSerializer(page, many=True, context=_orders_context(request)).data
        )


class WebCancelItemView(PrivateView):
    def _item(self, request: Request, *, order_id: int, item_id: int):
        order = order_selectors.order_list(user=request.user).filter(pk=order_id).first()
        item = next((line for line in order.items.all() if line.pk == item_id), None) if order else None
        if item is None:
            raise NotFound("Order item not found.")
        return item

    @extend_schema(
        tags=[TAG],
        operation_id="web_order_item",
        summary="One line of the caller's order, with its order's payment method, dates and address",
        parameters=[WebCancelItemQuerySerializer],
        responses={200: WebCancelItemSerializer, 400: R400, 401: R401, 404: R404},
    )
    def get(self, request: Request) -> Response:
        query = _valid(WebCancelItemQuerySerializer, request.query_params)
        item = self._item(request, order_id=query["orderId"], item_id=query["itemId"])
        return Response(WebCancelItemSerializer(item, context=_orders_context(request)).data)

    @extend_schema(
        tags=[TAG],
        operation_id="web_order_item_cancel",
        summary="Cancel one line (a paid card line is refunded through Stripe)",
        request=WebCancelItemInputSerializer,
        responses={200: WebCancelItemSerializer, 400: R400, 401: R401, 404: R404, 409: R409, 502: R502},
    )
    def post(self, request: Request) -> Response:
        data = _valid(WebCancelItemInputSerializer, request.data)
        order_services.order_item_cancel(
            order_id=data["orderId"], item_id=data["itemId"], user=request.user, reason=data["reason"]
        )
        item = self._item(request, order_id=data["orderId"], item_id=data["itemId"])
        return Response(WebCancelItemSerializer(item, context=_orders_context(request)).data)


# --- Payments ------------------------------------------------------------------------------------


class WebPaymentIntentView(PrivateView):
    @extend_schema(
        tags=[TAG],
        operation_id="web_payment_intent",
        summary="Open the caller's card checkout and return its PaymentIntent",
        description="The same checkout as every order (stock reserved, cart emptied). A customer has at "
        "most one open card checkout: with an empty cart and an open one for the same address, its "
        "PaymentIntent is answered again; otherwise open ones are cancelled back into the cart and one "
        "card order is made from the whole cart. The storefront then confirms the payment with "
        "Stripe.js; Stripe's webhook marks the order paid.",
        parameters=[IDEMPOTENCY_HEADER],
        request=WebPaymentIntentInputSerializer,
        responses={
            200: WebPaymentIntentSerializer,
            400: OpenApiResponse(description="Validation errors, `cart_empty`."),
            401: R401,
            404: OpenApiResponse(description="The address is not one of the caller's."),
            409: OpenApiResponse(
                description="`insufficient_stock`, `product_unavailable`, `invalid_transition`, "
                "`payment_in_progress`."
            ),
            502: R502,
        },
    )
    def post(self, request: Request) -> Response:
        data = _valid(WebPaymentIntentInputSerializer, request.data)

        def produce() -> tuple[int, dict]:
            payment = order_services.order_checkout_card(
                user=request.user, shipping_address_id=data["address_id"]
            )
            return status.HTTP_200_OK, WebPaymentIntentSerializer(payment).data

        status_code, body = idempotent_call(
            user=request.user,
            scope="web.payments.payment_intent",
            key=request.headers.get("Idempotency-Key"),
            payload=dict(data),
            produce=produce,
        )
        return Response(body, status=status_code)
