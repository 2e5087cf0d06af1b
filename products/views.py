"""Catalog, category and wishlist endpoints: input serializer -> service -> output serializer."""

from django.http import Http404
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.permissions import SAFE_METHODS, BasePermission, IsAuthenticated
from rest_framework.response import Response

from core.catalog_cache import cache_anonymous
from core.exceptions import NotFound
from core.pagination import CachedCountPagination
from core.parsers import JSONParser

from . import selectors, services
from .filters import ProductFilter
from .models import WishlistItem
from .serializers import (
    BrandFacetSerializer,
    CategoryInputSerializer,
    CategoryOutputSerializer,
    OptionFacetSerializer,
    PriceRangeSerializer,
    ProductInputSerializer,
    ProductOutputSerializer,
    VariantInputSerializer,
    VariantOutputSerializer,
    WishlistAddInputSerializer,
    WishlistItemOutputSerializer,
    current_timezone,
    product_output,
    variant_dict,
    wishlist_item_output,
)

CATEGORY_PARAM = OpenApiParameter(
    "category",
    str,
    description="Category slug or id; sub-categories are included. An unknown category gives no results.",
)
R400 = OpenApiResponse(description='Validation errors, `{"field": ["message"]}`.')
R401 = OpenApiResponse(description="`not_authenticated`.")
R403_STAFF = OpenApiResponse(description="`permission_denied`: staff only.")
R404 = OpenApiResponse(description="`not_found`.")
STAFF_WRITE = {400: R400, 401: R401, 403: R403_STAFF}
VARIANT_ID_PARAM = OpenApiParameter(
    "variant_id", int, OpenApiParameter.PATH, description="A variant of this product."
)


class IsStaffOrReadOnly(BasePermission):
    """Anyone may read; only staff may write (anonymous writes are 401, customers 403)."""

    def has_permission(self, request, view) -> bool:
        if request.method in SAFE_METHODS:
            return True
        return bool(request.user and request.user.is_authenticated and request.user.is_staff)


@extend_schema_view(
    list=extend_schema(
        summary="List products (paginated, filterable)",
        responses={200: ProductOutputSerializer(many=True), 400: R400},
    ),
    retrieve=extend_schema(
        summary="One product (inactive ones are 404 unless staff)",
        responses={200: ProductOutputSerializer, 404: R404},
    ),
    create=extend_schema(
        summary="Create a product (staff)",
        request=ProductInputSerializer,
        responses={201: ProductOutputSerializer, **STAFF_WRITE},
    ),
    update=extend_schema(
        summary="Replace a product (staff)",
        request=ProductInputSerializer,
        responses={200: ProductOutputSerializer, **STAFF_WRITE, 404: R404},
    ),
    partial_update=extend_schema(
        summary="Change a product (staff)",
        request=ProductInputSerializer,
        responses={200: ProductOutputSerializer, **STAFF_WRITE, 404: R404},
    ),
    destroy=extend_schema(
        summary="Delete a product (staff)",
        description="Deletes the product, or deactivates it (`is_active=false`) when any order line "
        "refers to it. Both answer 204.",
        responses={204: None, 401: R401, 403: R403_STAFF, 404: R404},
    ),
)
class ProductViewSet(viewsets.ModelViewSet):
    permission_classes = [IsStaffOrReadOnly]
    serializer_class = ProductOutputSerializer
    pagination_class = CachedCountPagination
    parser_classes = [JSONParser, MultiPartParser, FormParser]
    # Declared for the OpenAPI schema; the filtering itself runs in `selectors.product_list`.
    filter_backends = [DjangoFilterBackend]
    filterset_class = ProductFilter

    def get_queryset(self):
        return selectors.product_visible_queryset(user=self.request.user)

    def filter_queryset(self, queryset):
        return queryset

    @cache_anonymous
    def list(self, request, *args, **kwargs):
        # The filtered catalog with its SQL compiled once per filter set, each product with its
        # variants (`ProductListSource`).
        page = self.paginate_queryset(
            selectors.ProductListSource(filters=request.query_params, user=request.user)
        )
        # The plain-dict fast path (equal to ProductOutputSerializer's output, pinned by a test).
        tz = current_timezone()
        return self.get_paginated_response([product_output(product, request, tz) for product in page])

    @cache_anonymous
    def retrieve(self, request, *args, **kwargs):
        # `get_object`'s lookup and the variants in one query, its SQL compiled once
        # (`selectors.product_read`).
        product = selectors.product_read(product_id=kwargs[self.lookup_field], user=request.user)
        if product is None:
            raise Http404
        self.check_object_permissions(request, product)
        return Response(product_output(product, request))

    def _output(self, product, status_code=status.HTTP_200_OK) -> Response:
        # Read the variants after the write.
        selectors.product_variants_attach([product], user=self.request.user)
        return Response(product_output(product, self.request), status=status_code)

    def create(self, request, *args, **kwargs):
        serializer = ProductInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        product = services.product_create(**serializer.to_service_kwargs())
        return self._output(product, status.HTTP_201_CREATED)

    def update(self, request, *args, **kwargs):
        partial = kwargs.pop("partial", False)
        product = self.get_object()
        serializer = ProductInputSerializer(data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        data = serializer.to_service_kwargs()
        if "variants" in data:
            raise ValidationError(
                {"variants": ["Variants are changed through /api/products/<id>/variants/, not here."]}
            )
        product = services.product_update(product=product, data=data)
        return self._output(product)

    def _variant(self, variant_id: str):
        product = self.get_object()
        try:
            pk = int(variant_id)
        except (TypeError, ValueError):
            pk = 0
        variant = product.variants.filter(pk=pk).first()
        if variant is None:
            raise NotFound("Variant not found.")
        variant.product = product
        return variant

    @extend_schema(
        summary="Add a variant to a product (staff)",
        request=VariantInputSerializer,
        responses={201: VariantOutputSerializer, **STAFF_WRITE, 404: R404},
    )
    @action(detail=True, methods=["post"], url_path="variants", pagination_class=None, filter_backends=[])
    def variants(self, request, pk=None):
        product = self.get_object()
        serializer = VariantInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        variant = services.variant_create(product=product, **serializer.validated_data)
        return Response(variant_dict(variant), status=status.HTTP_201_CREATED)

    @extend_schema(
        methods=["PATCH"],
        summary="Change a variant (staff)",
        parameters=[VARIANT_ID_PARAM],
        request=VariantInputSerializer(partial=True),
        responses={200: VariantOutputSerializer, **STAFF_WRITE, 404: R404},
    )
    @extend_schema(
        methods=["DELETE"],
        summary="Delete a variant (staff)",
        parameters=[VARIANT_ID_PARAM],
        description="Deletes the variant, or deactivates it when an order line refers to it; both 204. "
        "The product's last active variant cannot be removed: 409 `last_active_variant`.",
        responses={
            204: None,
            401: R401,
            403: R403_STAFF,
            404: R404,
            409: OpenApiResponse(description="`last_active_variant`."),
        },
    )
    @action(
        detail=True,
        methods=["patch", "delete"],
        url_path=r"variants/(?P<variant_id>[^/.]+)",
        pagination_class=None,
        filter_backends=[],
    )
    def variant_detail(self, request, pk=None, variant_id=None):
        variant = self._variant(variant_id)
        if request.method == "DELETE":
            services.variant_delete(variant=variant)
            return Response(status=status.HTTP_204_NO_CONTENT)
        serializer = VariantInputSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        variant = services.variant_update(variant=variant, data=dict(serializer.validated_data))
        return Response(variant_dict(variant))

    def destroy(self, request, *args, **kwargs):
        services.product_delete(product=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        summary="Brands of active products with counts",
        parameters=[CATEGORY_PARAM],
        responses=BrandFacetSerializer(many=True),
    )
    @action(detail=False, methods=["get"], url_path="brands", pagination_class=None, filter_backends=[])
    def brands(self, request):
        facets = selectors.product_brand_facets(category=request.query_params.get("category"))
        return Response(BrandFacetSerializer(facets, many=True).data)

    @extend_schema(
        summary="Lowest and highest price of active products",
        parameters=[CATEGORY_PARAM],
        responses=PriceRangeSerializer,
    )
    @action(detail=False, methods=["get"], url_path="price-range", pagination_class=None, filter_backends=[])
    def price_range(self, request):
        price_range = selectors.product_price_range(category=request.query_params.get("category"))
        return Response(PriceRangeSerializer(price_range).data)

    @extend_schema(
        summary="Option values of active products with counts (the size/colour facet)",
        description="Plain array `[{name, values: [{value, count}]}]`: `count` is the number of active "
        "products with an active variant of that value.",
        parameters=[CATEGORY_PARAM],
        responses=OptionFacetSerializer(many=True),
    )
    @cache_anonymous(shows_stock=False)
    @action(detail=False, methods=["get"], url_path="options", pagination_class=None, filter_backends=[])
    def option_facets(self, request):
        return Response(selectors.product_option_facets(category=request.query_params.get("category")))


@extend_schema_view(
    list=extend_schema(summary="All categories (plain array; non-staff see active ones only)"),
    retrieve=extend_schema(summary="One category", responses={200: CategoryOutputSerializer, 404: R404}),
    create=extend_schema(
        summary="Create a category (staff)",
        request=CategoryInputSerializer,
        responses={201: CategoryOutputSerializer, **STAFF_WRITE},
    ),
    update=extend_schema(
        summary="Replace a category (staff)",
        request=CategoryInputSerializer,
        responses={200: CategoryOutputSerializer, **STAFF_WRITE, 404: R404},
    ),
    partial_update=extend_schema(
        summary="Change a category (staff)",
        request=CategoryInputSerializer,
        responses={200: CategoryOutputSerializer, **STAFF_WRITE, 404: R404},
    ),
    destroy=extend_schema(
        summary="Delete a category (staff)",
        description="Sub-categories move up to its parent; its products become uncategorised.",
        responses={204: None, 401: R401, 403: R403_STAFF, 404: R404},
    ),
)
class CategoryViewSet(viewsets.ModelViewSet):
    permission_classes = [IsStaffOrReadOnly]
    serializer_class = CategoryOutputSerializer
    parser_classes = [JSONParser, MultiPartParser, FormParser]
    pagination_class = None
    filter_backends: list = []

    def get_queryset(self):
        return selectors.category_list(user=self.request.user)

    def _output(self, category, status_code=status.HTTP_200_OK) -> Response:
        return Response(self.get_serializer(category).data, status=status_code)

    def create(self, request, *args, **kwargs):
        serializer = CategoryInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        category = services.category_create(**serializer.validated_data)
        return self._output(category, status.HTTP_201_CREATED)

    def update(self, request, *args, **kwargs):
        partial = kwargs.pop("partial", False)
        category = self.get_object()
        serializer = CategoryInputSerializer(data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        category = services.category_update(category=category, data=dict(serializer.validated_data))
        return self._output(category)

    def destroy(self, request, *args, **kwargs):
        services.category_delete(category=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema_view(
    list=extend_schema(
        summary="The caller's wishlist (plain array, newest first)",
        responses={200: WishlistItemOutputSerializer(many=True), 401: R401},
    ),
    create=extend_schema(
        summary="Add a product to the wishlist",
        description="201 with the new row, or 200 with the existing row when the product is already there.",
        request=WishlistAddInputSerializer,
        responses={
            201: WishlistItemOutputSerializer,
            200: WishlistItemOutputSerializer,
            400: R400,
            401: R401,
            404: OpenApiResponse(description="`not_found`: no such active product."),
        },
    ),
    destroy=extend_schema(
        summary="Remove a wishlist row (by row id)",
        responses={
            204: OpenApiResponse(),
            401: R401,
            404: OpenApiResponse(description="Not a row of the caller's wishlist."),
        },
    ),
)
class WishlistViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    permission_classes = [IsAuthenticated]
    serializer_class = WishlistItemOutputSerializer
    pagination_class = None
    filter_backends: list = []

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation has no user
            return WishlistItem.objects.none()
        return selectors.wishlist_item_list(user=self.request.user)

    def list(self, request, *args, **kwargs):
        # Customers' variants (the active ones) whoever reads, inside the rows' query on PostgreSQL.
        items = list(selectors.variants_inline(self.get_queryset(), staff=False, product_ref="product_id"))
        selectors.variants_take(items, user=None, product=lambda item: item.product)
        tz = current_timezone()
        return Response([wishlist_item_output(item, request, tz) for item in items])

    def create(self, request, *args, **kwargs):
        serializer = WishlistAddInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        item, created = services.wishlist_item_add(
            user=request.user, product_id=serializer.validated_data["product_id"]
        )
        selectors.product_variants_attach([item.product], user=None)
        return Response(
            wishlist_item_output(item, request),
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )

    def destroy(self, request, *args, **kwargs):
        # The lookup is scoped to request.user in the service: another user's row is a 404.
        try:
            item_id = int(kwargs["pk"])
        except (TypeError, ValueError):
            item_id = 0
        services.wishlist_item_remove(user=request.user, item_id=item_id)
        return Response(status=status.HTTP_204_NO_CONTENT)
