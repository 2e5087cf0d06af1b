from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from . import selectors, services
from .models import Address
from .serializers import (
    AddressInputSerializer,
    AddressOutputSerializer,
    PincodeQuerySerializer,
    PincodeResultSerializer,
)

_NOT_FOUND = OpenApiResponse(description="No such address among the caller's addresses.")
_INVALID = OpenApiResponse(description='Validation errors, `{"field": ["message"]}`.')
_UNAUTHENTICATED = OpenApiResponse(description="Not authenticated.")
_ID = OpenApiParameter("id", int, OpenApiParameter.PATH, description="Address id.")


@extend_schema_view(
    list=extend_schema(
        summary="The caller's addresses (plain array, default first, then newest)",
        responses={200: AddressOutputSerializer(many=True), 401: _UNAUTHENTICATED},
    ),
    create=extend_schema(
        summary="Add an address (the first one becomes the default)",
        request=AddressInputSerializer,
        responses={201: AddressOutputSerializer, 400: _INVALID, 401: _UNAUTHENTICATED},
    ),
    retrieve=extend_schema(
        parameters=[_ID], responses={200: AddressOutputSerializer, 401: _UNAUTHENTICATED, 404: _NOT_FOUND}
    ),
    update=extend_schema(
        parameters=[_ID],
        request=AddressInputSerializer,
        responses={200: AddressOutputSerializer, 400: _INVALID, 401: _UNAUTHENTICATED, 404: _NOT_FOUND},
    ),
    partial_update=extend_schema(
        description="`is_default: true` makes the address the default; `false` on the default is a 400.",
        parameters=[_ID],
        request=AddressInputSerializer,
        responses={200: AddressOutputSerializer, 400: _INVALID, 401: _UNAUTHENTICATED, 404: _NOT_FOUND},
    ),
    destroy=extend_schema(
        description="Deleting the default makes the newest remaining address the default.",
        parameters=[_ID],
        responses={204: None, 401: _UNAUTHENTICATED, 404: _NOT_FOUND},
    ),
)
class AddressViewSet(
    mixins.ListModelMixin,
    mixins.CreateModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = AddressOutputSerializer
    permission_classes = [IsAuthenticated]
    pagination_class = None
    lookup_value_regex = r"[0-9]+"

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation has no user
            return Address.objects.none()
        return selectors.address_list(user=self.request.user)

    def create(self, request: Request, *args, **kwargs) -> Response:
        serializer = AddressInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        address = services.address_create(user=request.user, **serializer.validated_data)
        return Response(AddressOutputSerializer(address).data, status=status.HTTP_201_CREATED)

    def update(self, request: Request, *args, **kwargs) -> Response:
        address = self.get_object()
        serializer = AddressInputSerializer(data=request.data, partial=kwargs.get("partial", False))
        serializer.is_valid(raise_exception=True)
        address = services.address_update(address=address, **serializer.validated_data)
        return Response(AddressOutputSerializer(address).data)

    def destroy(self, request: Request, *args, **kwargs) -> Response:
        services.address_delete(address=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        summary="Make this address the default",
        parameters=[_ID],
        request=None,
        responses={200: AddressOutputSerializer, 401: _UNAUTHENTICATED, 404: _NOT_FOUND},
    )
    @action(detail=True, methods=["post"], url_path="set-default")
    def set_default(self, request: Request, pk: str) -> Response:
        address = services.address_set_default(user=request.user, address_id=int(pk))
        return Response(AddressOutputSerializer(address).data)


class PincodeLookupView(APIView):
    """City and state for a postal code, from the lookup service at `PINCODE_LOOKUP_URL` (cached)."""

    permission_classes = [AllowAny]

    @extend_schema(
        summary="City and state for a pincode",
        parameters=[
            OpenApiParameter(
                "pincode", str, OpenApiParameter.QUERY, required=True, description="3-10 letters/digits"
            )
        ],
        responses={
            200: PincodeResultSerializer,
            400: _INVALID,
            404: OpenApiResponse(description="Unknown pincode, or the lookup is not configured."),
            503: OpenApiResponse(description="The lookup service is unreachable, slow or broken."),
        },
    )
    def get(self, request: Request) -> Response:
        query = PincodeQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        result = services.pincode_lookup(pincode=query.validated_data["pincode"])
        return Response(PincodeResultSerializer(result).data)
