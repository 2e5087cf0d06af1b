"""The API's JWT authentication: simplejwt's, with the user read by a query compiled once.

Every authenticated request reads its user's row: that read is what makes a deleted or
deactivated user's still-valid token a 401, and what lets `CHECK_REVOKE_TOKEN` compare the
token with the current password hash. Compiling that one `SELECT` was most of the
authentication's CPU (issue 12), so `get_user` runs it as a `core.prepared.PreparedQuery`. The
checks and their messages are simplejwt's (`JWTAuthentication.get_user`, 5.5), in its order.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.utils.translation import gettext_lazy as _
from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme
from rest_framework_simplejwt import authentication
from rest_framework_simplejwt.exceptions import AuthenticationFailed, InvalidToken
from rest_framework_simplejwt.settings import api_settings

from core.ids import as_id
from core.prepared import PreparedQuery

from .tokens import password_changed_since

_USER_BY_ID = PreparedQuery(lambda user_id: get_user_model().objects.filter(pk=user_id))


class JWTAuthentication(authentication.JWTAuthentication):
    def get_user(self, validated_token):
        try:
            user_id = validated_token[api_settings.USER_ID_CLAIM]
        except KeyError as e:
            raise InvalidToken(_("Token contained no recognizable user identification")) from e

        # USER_ID_FIELD is the primary key (simplejwt's default, checked by a test). An id that is
        # not one finds nobody, as a missing user.
        user_pk = as_id(user_id)
        found = _USER_BY_ID(user_pk) if user_pk is not None else []
        if not found:
            raise AuthenticationFailed(_("User not found"), code="user_not_found")
        user = found[0]

        if api_settings.CHECK_USER_IS_ACTIVE and not user.is_active:
            raise AuthenticationFailed(_("User is inactive"), code="user_inactive")

        if password_changed_since(validated_token, password_hash=user.password):
            raise AuthenticationFailed(_("The user's password has been changed."), code="password_changed")

        return user


class JWTScheme(SimpleJWTScheme):
    """Schema: the same `jwtAuth` bearer scheme simplejwt's class has."""

    target_class = JWTAuthentication
