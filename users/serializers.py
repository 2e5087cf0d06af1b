"""Input and output shapes of the account endpoints. No business rules here: see services.py."""

import hashlib
import hmac
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions, serializers
from rest_framework_simplejwt.exceptions import TokenBackendError, TokenError
from rest_framework_simplejwt.serializers import (
    PasswordField,
    TokenBlacklistSerializer,
    TokenObtainPairSerializer,
    TokenRefreshSerializer,
    TokenVerifySerializer,
)
from rest_framework_simplejwt.settings import api_settings as jwt_settings
from rest_framework_simplejwt.state import token_backend
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


def _locked_refresh_token(raw: str) -> RefreshToken:
    """The refresh token (simplejwt's checks: signature, expiry, type, blacklist), with its
    outstanding-token row locked and its blacklist checked again under the lock: a refresh or
    logout that held the lock before us has blacklisted it (TokenError)."""
    refresh = RefreshToken(raw)
    _outstanding_token_lock(refresh)
    refresh.check_blacklist()
    return refresh


def _rotated_jti(jti: str) -> str:
    """The jti a rotation gives the new refresh token: derived from the old one's, so a repeat of
    the rotation can find the token it made."""
    digest = hmac.new(settings.SECRET_KEY.encode(), f"rotation:{jti}".encode(), hashlib.sha256)
    return digest.hexdigest()[:32]


class RefreshSerializer(TokenRefreshSerializer):
    # simplejwt's rotation, made safe against two concurrent uses of one refresh token (the
    # outstanding-token row is locked, so the second use sees the first one's blacklist entry),
    # against a deleted user (401 instead of simplejwt's unhandled DoesNotExist) and against a
    # token issued before the user's password changed (simplejwt checks that claim when a token
    # authenticates, not when it is refreshed: the refresh answered 200 with dead access tokens).
    #
    # A rotated token sent again within REFRESH_TOKEN_REUSE_SECONDS, while the token its rotation
    # made is still unused, gets that same token back with a fresh access token: two tabs (or two
    # calls of the storefront) refreshing at once, or a retry of a refresh whose answer was lost,
    # no longer sign the user out. Anything else about a blacklisted token is simplejwt's 401.

    def validate(self, attrs):
        raw = attrs["refresh"]
        with transaction.atomic():
            try:
                refresh = _locked_refresh_token(raw)
            except TokenError as refused:
                return self._repeat_of_rotation(raw, refused)
            self._active_user(refresh)
            # simplejwt's rotation (TokenRefreshSerializer.validate), with the derived jti.
            data = {"access": str(refresh.access_token)}
            refresh.blacklist()
            refresh[jwt_settings.JTI_CLAIM] = _rotated_jti(refresh[jwt_settings.JTI_CLAIM])
            refresh.set_exp()
            refresh.set_iat()
            refresh.outstand()
            data["refresh"] = str(refresh)
        return data

    def _active_user(self, token: RefreshToken):
        """The token's user; 401 for a deleted or inactive one, or a password changed since."""
        user = (
            get_user_model()
            .objects.filter(**{jwt_settings.USER_ID_FIELD: token.get(jwt_settings.USER_ID_CLAIM)})
            .first()
        )
        if user is None or not jwt_settings.USER_AUTHENTICATION_RULE(user):
            raise exceptions.AuthenticationFailed(
                self.error_messages["no_active_account"], "no_active_account"
            )
        if password_changed_since(token, password_hash=user.password):
            raise TokenError(_("The user's password has been changed."))
        return user

    def _repeat_of_rotation(self, raw: str, refused: TokenError) -> dict:
        """The answer of the rotation `raw` already went through, if it may be given again;
        otherwise `refused`, the error simplejwt gave the token (blacklisted, expired, invalid)."""
        successor = _unused_successor(raw)
        if successor is None:
            raise refused
        refresh = RefreshToken(successor.token)
        self._active_user(refresh)
        return {"access": str(refresh.access_token), "refresh": successor.token}


def _unused_successor(raw: str) -> OutstandingToken | None:
    """The still unused refresh token that the rotation of `raw` made, when `raw` (correctly
    signed, not expired) was rotated within REFRESH_TOKEN_REUSE_SECONDS; otherwise None."""
    try:
        payload = token_backend.decode(raw, verify=True)  # signature, expiry
    except TokenBackendError:
        return None
    if payload.get(jwt_settings.TOKEN_TYPE_CLAIM) != RefreshToken.token_type:
        return None
    jti = payload.get(jwt_settings.JTI_CLAIM)
    now = timezone.now()
    rotated_at = (
        BlacklistedToken.objects.filter(token__jti=jti).values_list("blacklisted_at", flat=True).first()
    )
    window = timedelta(seconds=settings.REFRESH_TOKEN_REUSE_SECONDS)
    if rotated_at is None or rotated_at < now - window:
        return None
    # Made by this token's rotation (a logout makes none) and still unused.
    return OutstandingToken.objects.filter(
        jti=_rotated_jti(jti), expires_at__gt=now, blacklistedtoken__isnull=True
    ).first()


class LogoutSerializer(TokenBlacklistSerializer):
    # simplejwt's logout, taking the outstanding-token row's lock first, as a refresh does.
    # A token rotated within REFRESH_TOKEN_REUSE_SECONDS (another tab refreshed just before this
    # one logged out) blacklists the unused token its rotation made: that token would otherwise
    # stay valid after a logout that answered "signed out".

    def validate(self, attrs):
        raw = attrs["refresh"]
        with transaction.atomic():
            try:
                refresh = _locked_refresh_token(raw)
            except TokenError:
                # Rotated before this logout came, or while it waited for the lock.
                successor = _unused_successor(raw)
                if successor is None:
                    raise
                refresh = _locked_refresh_token(successor.token)
            refresh.blacklist()
        return {}


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
