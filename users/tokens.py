"""Access-token revocation that simplejwt does not do on its own.

simplejwt verifies an access token by its signature and expiry only, so without help a token keeps
working for its whole lifetime (ACCESS_TOKEN_LIFETIME) after a logout or a password change. Two
checks close that, both inside the token's verification, so every authentication class that
validates through `SIMPLE_JWT["AUTH_TOKEN_CLASSES"]` honours them (the API's `JWTAuthentication`
and the storefront face's `LenientJWTAuthentication` alike):

- a password change or reset: simplejwt's `CHECK_REVOKE_TOKEN` puts a hash of the user's password
  hash into every token and compares it with the current one when it loads the user (no extra
  query: the user row is loaded anyway);
- a logout (`POST /api/token/blacklist/` with the access token in `Authorization`): the token's
  `jti` goes into a denylist in the shared cache (Redis in production) until the token expires.
  Cost: one cache GET per request that carries a token.
"""

from __future__ import annotations

import math
import time

from django.core.cache import cache
from django.utils.translation import gettext_lazy as _
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.settings import api_settings as jwt_settings
from rest_framework_simplejwt.tokens import AccessToken as SimpleJWTAccessToken
from rest_framework_simplejwt.tokens import Token
from rest_framework_simplejwt.utils import get_md5_hash_password

_DENYLIST_KEY = "jwt:denied:{jti}"


def password_changed_since(token: Token, *, password_hash: str) -> bool:
    """Whether `token` was issued before the user's password last changed: simplejwt's
    `CHECK_REVOKE_TOKEN` claim, which every check of a token (authentication, verify, refresh)
    compares with the user's current password hash."""
    return bool(jwt_settings.CHECK_REVOKE_TOKEN) and token.get(
        jwt_settings.REVOKE_TOKEN_CLAIM
    ) != get_md5_hash_password(password_hash)


def access_token_deny(*, token: Token) -> None:
    """Refuse `token` from now until it expires (it would be refused by its expiry after that)."""
    jti = token.get(jwt_settings.JTI_CLAIM)
    expires_at = token.get("exp")
    if not jti or not expires_at:
        return
    leeway = jwt_settings.LEEWAY
    leeway_seconds = leeway.total_seconds() if hasattr(leeway, "total_seconds") else float(leeway)
    remaining = math.ceil(expires_at - time.time() + leeway_seconds)
    if remaining > 0:
        cache.set(_DENYLIST_KEY.format(jti=jti), 1, timeout=remaining)


def access_token_is_denied(*, jti: str | None) -> bool:
    return bool(jti) and cache.get(_DENYLIST_KEY.format(jti=jti)) is not None


class AccessToken(SimpleJWTAccessToken):
    """simplejwt's access token, refused once denied (see the module docstring)."""

    def verify(self) -> None:
        super().verify()
        if access_token_is_denied(jti=self.get(jwt_settings.JTI_CLAIM)):
            raise TokenError(_("Token is blacklisted"))
