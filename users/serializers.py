"""Input and output shapes of the account endpoints. No business rules here: see services.py."""

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions, serializers
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.serializers import (
    PasswordField,
    TokenBlacklistSerializer,
    TokenObtainPairSerializer,
    TokenRefreshSerializer,
    TokenVerifySerializer,
)
from rest_framework_simplejwt.settings import api_settings as jwt_settings
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.tokens import RefreshToken, UntypedToken

from .models import User
from .selectors import user_get_by_login_identifier
from .tokens import access_token_is_denied, password_changed_since


def _password(**kwargs) -> serializers.CharField:
    # Passwords are taken verbatim: DRF would otherwise strip leading/trailing spaces.
    return serializers.CharField(
        write_only=True, trim_whitespace=False, style={"input_type": "password"}, **kwargs
    )


# --- Output -------------------------------------------------------------------------------
class UserSerializer(serializers.ModelSerializer):
    class Meta:
        model = User
        fields = ["id", "email", "username", "first_name", "last_name"]
        read_only_fields = fields


class MeSerializer(serializers.ModelSerializer):
    class Meta:
        model = User
        fields = ["id", "email", "username", "first_name", "last_name", "is_staff", "date_joined"]
        read_only_fields = fields


class AccountMessageSerializer(serializers.Serializer):
    detail = serializers.CharField()


class AccountErrorSerializer(serializers.Serializer):
    detail = serializers.CharField()
    code = serializers.CharField()


class TokenPairSerializer(serializers.Serializer):
    access = serializers.CharField()
    refresh = serializers.CharField()


# --- Input --------------------------------------------------------------------------------
class RegisterInputSerializer(serializers.Serializer):
    email = serializers.EmailField(max_length=254)
    password = _password()
    username = serializers.CharField(max_length=150, required=False, allow_blank=True)
    first_name = serializers.CharField(max_length=150, required=False, allow_blank=True, default="")
    last_name = serializers.CharField(max_length=150, required=False, allow_blank=True, default="")


class ProfileUpdateInputSerializer(serializers.Serializer):
    first_name = serializers.CharField(max_length=150, required=False, allow_blank=True)
    last_name = serializers.CharField(max_length=150, required=False, allow_blank=True)


class PasswordChangeInputSerializer(serializers.Serializer):
    old_password = _password()
    new_password = _password()


class PasswordResetRequestInputSerializer(serializers.Serializer):
    email = serializers.EmailField(max_length=254)


class PasswordResetConfirmInputSerializer(serializers.Serializer):
    token = serializers.CharField(max_length=255)
    password = _password()
    uid = serializers.CharField(max_length=64, required=False, allow_blank=True)


# --- Tokens (simplejwt subclasses) ---------------------------------------------------------
class LoginSerializer(TokenObtainPairSerializer):
    # {email, password} or {username, password}; either field may hold an email or a username.

    default_error_messages = {"missing_identifier": _("Provide an email or a username.")}

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["email"] = serializers.CharField(write_only=True, required=False, max_length=254)
        self.fields[self.username_field] = serializers.CharField(
            write_only=True, required=False, max_length=254
        )
        self.fields["password"] = PasswordField(trim_whitespace=False)

    def validate(self, attrs):
        identifier = (attrs.get("email") or attrs.get(self.username_field) or "").strip()
        if not identifier:
            raise serializers.ValidationError({"email": [self.error_messages["missing_identifier"]]})
        user = user_get_by_login_identifier(identifier=identifier)
        # Unknown identifiers still go through authenticate(), which runs the password hasher
        # once, so a miss takes as long as a wrong password.
        username = user.get_username() if user is not None else identifier
        return super().validate({self.username_field: username, "password": attrs["password"]})


def _outstanding_token_lock(token: RefreshToken) -> None:
    """Lock the refresh token's outstanding-token row (inside a transaction) before its blacklist
    entry is written, so a refresh and a logout of one token take their turns: without it each
    inserted the same blacklist row while waiting on the other's lock (a deadlock, 503)."""
    jti = token.get(jwt_settings.JTI_CLAIM)
    list(OutstandingToken.objects.select_for_update().filter(jti=jti).values_list("id", flat=True))


class RefreshSerializer(TokenRefreshSerializer):
    # simplejwt's rotation, made safe against two concurrent uses of one refresh token (the
    # outstanding-token row is locked, so the second use sees the first one's blacklist entry),
    # against a deleted user (401 instead of simplejwt's unhandled DoesNotExist) and against a
    # token issued before the user's password changed (simplejwt checks that claim when a token
    # authenticates, not when it is refreshed: the refresh answered 200 with dead access tokens).

    def validate(self, attrs):
        refresh = RefreshToken(attrs["refresh"])
        with transaction.atomic():
            _outstanding_token_lock(refresh)
            user = (
                get_user_model()
                .objects.filter(**{jwt_settings.USER_ID_FIELD: refresh.get(jwt_settings.USER_ID_CLAIM)})
                .only("password")
                .first()
            )
            if user is not None and password_changed_since(refresh, password_hash=user.password):
                raise TokenError(_("The user's password has been changed."))
            try:
                return super().validate(attrs)
            except get_user_model().DoesNotExist:
                raise exceptions.AuthenticationFailed(
                    self.error_messages["no_active_account"], "no_active_account"
                )


class LogoutSerializer(TokenBlacklistSerializer):
    # simplejwt's logout, taking the outstanding-token row's lock first, as a refresh does.

    def validate(self, attrs):
        refresh = self.token_class(attrs["refresh"])
        with transaction.atomic():
            _outstanding_token_lock(refresh)
            return super().validate(attrs)


class VerifySerializer(TokenVerifySerializer):
    # A blacklisted token is invalid: 401 like any other invalid token (simplejwt answers 400).
    # So is an access token denied at logout or issued before the last password change, which
    # authentication would refuse (users/tokens.py).

    def validate(self, attrs):
        token = UntypedToken(attrs["token"])
        jti = token.get(jwt_settings.JTI_CLAIM)
        if access_token_is_denied(jti=jti) or BlacklistedToken.objects.filter(token__jti=jti).exists():
            raise TokenError(_("Token is blacklisted"))
        # Authentication refuses a deleted or deactivated user's token (401 `user_inactive`), so
        # verify does too.
        user = (
            get_user_model()
            .objects.filter(**{jwt_settings.USER_ID_FIELD: token.get(jwt_settings.USER_ID_CLAIM)})
            .values("password", "is_active")
            .first()
        )
        if user is None or not user["is_active"]:
            raise TokenError(_("User not found or inactive."))
        if password_changed_since(token, password_hash=user["password"]):
            raise TokenError(_("The user's password has been changed."))
        return {}
