"""Account endpoints: thin views, input serializer -> service -> output serializer."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import permissions, status
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.views import (
    TokenBlacklistView,
    TokenObtainPairView,
    TokenRefreshView,
    TokenVerifyView,
)

from . import services
from .serializers import (
    AccountErrorSerializer,
    AccountMessageSerializer,
    LoginSerializer,
    LogoutSerializer,
    MeSerializer,
    PasswordChangeInputSerializer,
    PasswordResetConfirmInputSerializer,
    PasswordResetRequestInputSerializer,
    ProfileUpdateInputSerializer,
    RefreshSerializer,
    RegisterInputSerializer,
    TokenPairSerializer,
    UserSerializer,
    VerifySerializer,
)
from .throttling import AuthThrottleMixin
from .tokens import AccessToken, access_token_deny

PASSWORD_RESET_SENT = "If an active account uses that email address, we have sent it a password reset link."
PASSWORD_RESET_DONE = "Your password has been reset. Please sign in again."

_BAD_REQUEST = OpenApiResponse(description="Validation error: {field: [messages]}")
_UNAUTHORIZED = OpenApiResponse(AccountErrorSerializer, description="Invalid credentials or token.")
_THROTTLED = OpenApiResponse(
    AccountErrorSerializer, description="Too many attempts from this address (Retry-After)."
)


class PublicAPIView(APIView):
    """Endpoints for signed-out clients: a stale Authorization header must not turn them into a 401."""

    authentication_classes = ()
    permission_classes = (permissions.AllowAny,)


@extend_schema(
    tags=["accounts"],
    request=RegisterInputSerializer,
    responses={201: UserSerializer, 400: _BAD_REQUEST, 429: _THROTTLED},
)
class RegisterView(AuthThrottleMixin, PublicAPIView):
    def post(self, request):
        serializer = RegisterInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        user = services.user_create(
            email=data["email"],
            password=data["password"],
            username=data.get("username") or None,
            first_name=data["first_name"],
            last_name=data["last_name"],
        )
        return Response(UserSerializer(user).data, status=status.HTTP_201_CREATED)


@extend_schema(
    tags=["accounts"],
    responses={200: TokenPairSerializer, 400: _BAD_REQUEST, 401: _UNAUTHORIZED, 429: _THROTTLED},
)
class LoginView(AuthThrottleMixin, TokenObtainPairView):
    """Sign in with an email or a username and the password; returns an access and a refresh token."""

    serializer_class = LoginSerializer


@extend_schema(tags=["accounts"], responses={200: TokenPairSerializer, 401: _UNAUTHORIZED})
class RefreshView(TokenRefreshView):
    """Trade a refresh token for a new pair; the old refresh token is blacklisted (rotation)."""

    serializer_class = RefreshSerializer


@extend_schema(tags=["accounts"], responses={200: OpenApiTypes.OBJECT, 401: _UNAUTHORIZED})
class VerifyView(TokenVerifyView):
    """200 `{}` when the token is valid (signature, expiry, not blacklisted), else 401."""

    serializer_class = VerifySerializer


@extend_schema(tags=["accounts"], responses={200: OpenApiTypes.OBJECT, 401: _UNAUTHORIZED})
class LogoutView(TokenBlacklistView):
    """Log out: blacklist the refresh token. An access token sent in `Authorization` is refused from
    now on too (denylisted in the shared cache until it expires), even if the refresh token was
    already blacklisted: the client asked to be signed out."""

    serializer_class = LogoutSerializer

    def post(self, request, *args, **kwargs):
        access = _presented_access_token(request)
        if access is not None:
            access_token_deny(token=access)
        return super().post(request, *args, **kwargs)


def _presented_access_token(request) -> AccessToken | None:
    """The valid access token in the request's `Authorization` header, if there is one."""
    authentication = JWTAuthentication()
    header = authentication.get_header(request)
    raw = authentication.get_raw_token(header) if header is not None else None
    if raw is None:
        return None
    try:
        return AccessToken(raw)
    except TokenError:  # expired, malformed, a refresh token, already denied: nothing to revoke
        return None


@extend_schema(tags=["accounts"])
class MeView(GenericAPIView):
    """The signed-in user. PATCH changes the names only; other fields are read-only."""

    permission_classes = (permissions.IsAuthenticated,)
    serializer_class = MeSerializer

    def get_object(self):
        return self.request.user

    @extend_schema(responses={200: MeSerializer, 401: _UNAUTHORIZED})
    def get(self, request):
        return Response(MeSerializer(self.get_object()).data)

    @extend_schema(
        request=ProfileUpdateInputSerializer,
        responses={200: MeSerializer, 400: _BAD_REQUEST, 401: _UNAUTHORIZED},
    )
    def patch(self, request):
        serializer = ProfileUpdateInputSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        user = services.user_update_profile(user=self.get_object(), **serializer.validated_data)
        return Response(MeSerializer(user).data)


@extend_schema(
    tags=["accounts"],
    request=PasswordChangeInputSerializer,
    responses={204: None, 400: _BAD_REQUEST, 401: _UNAUTHORIZED},
)
class PasswordChangeView(APIView):
    """Change the password; every refresh token of the user is blacklisted (sign in again)."""

    permission_classes = (permissions.IsAuthenticated,)

    def post(self, request):
        serializer = PasswordChangeInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.user_change_password(user=request.user, **serializer.validated_data)
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema(
    tags=["accounts"],
    request=PasswordResetRequestInputSerializer,
    responses={200: AccountMessageSerializer, 400: _BAD_REQUEST, 429: _THROTTLED},
)
class PasswordResetRequestView(AuthThrottleMixin, PublicAPIView):
    """Always 200 with the same body, whether or not an account uses the email."""

    def post(self, request):
        serializer = PasswordResetRequestInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.password_reset_request(email=serializer.validated_data["email"])
        return Response({"detail": PASSWORD_RESET_SENT})


@extend_schema(
    tags=["accounts"],
    request=PasswordResetConfirmInputSerializer,
    responses={200: AccountMessageSerializer, 400: _BAD_REQUEST, 429: _THROTTLED},
)
class PasswordResetConfirmView(AuthThrottleMixin, PublicAPIView):
    def post(self, request):
        serializer = PasswordResetConfirmInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        services.password_reset_confirm(
            token=data["token"], password=data["password"], uid=data.get("uid") or None
        )
        return Response({"detail": PASSWORD_RESET_DONE})
