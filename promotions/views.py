"""Staff API for promotions: `/api/promotions/` (paginated list, create) and `/api/promotions/<id>/`."""

from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import status, viewsets
from rest_framework.permissions import IsAdminUser
from rest_framework.response import Response

from core.pagination import StandardPagination

from . import selectors, services
from .serializers import PromotionInputSerializer, PromotionOutputSerializer

R400 = OpenApiResponse(description='Validation errors, `{"field": ["message"]}`.')
R403 = OpenApiResponse(description="`permission_denied`: staff only.")
R404 = OpenApiResponse(description="`not_found`.")


R401 = OpenApiResponse(description="`not_authenticated`.")
DENIED = {401: R401, 403: R403}


@extend_schema_view(
    list=extend_schema(
        summary="List promotions (staff)", responses={200: PromotionOutputSerializer(many=True), **DENIED}
    ),
    retrieve=extend_schema(
        summary="One promotion (staff)", responses={200: PromotionOutputSerializer, **DENIED, 404: R404}
    ),
    create=extend_schema(
        summary="Create a promotion (staff)",
        request=PromotionInputSerializer,
        responses={201: PromotionOutputSerializer, 400: R400, **DENIED},
    ),
    partial_update=extend_schema(
        summary="Change a promotion (staff)",
        request=PromotionInputSerializer,
        responses={200: PromotionOutputSerializer, 400: R400, **DENIED, 404: R404},
    ),
    destroy=extend_schema(
        summary="Delete a promotion (staff)",
        description="Deletes it, or deactivates it when orders used it. Both answer 204.",
        responses={204: None, **DENIED, 404: R404},
    ),
)
class PromotionViewSet(viewsets.ModelViewSet):
    permission_classes = [IsAdminUser]
    serializer_class = PromotionOutputSerializer
    pagination_class = StandardPagination
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_queryset(self):
        return selectors.promotion_list()

    def create(self, request, *args, **kwargs):
        serializer = PromotionInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        promotion = services.promotion_create(data=dict(serializer.validated_data))
        return Response(PromotionOutputSerializer(promotion).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request, *args, **kwargs):
        promotion = self.get_object()
        serializer = PromotionInputSerializer(
            data=request.data, partial=True, context={"instance": promotion}
        )
        serializer.is_valid(raise_exception=True)
        promotion = services.promotion_update(promotion=promotion, data=dict(serializer.validated_data))
        return Response(PromotionOutputSerializer(promotion).data)

    def destroy(self, request, *args, **kwargs):
        services.promotion_delete(promotion=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)
