"""Authentication for the storefront profile's public endpoints.

The storefront sends `Authorization: Bearer <access>` on every call, and literally
`Bearer null` when nobody is signed in (its token is read from localStorage). On a public
endpoint (catalog, pincode lookup) such a header must not turn the call into a 401, or a
signed-out visitor could not browse. Private endpoints keep the API's `JWTAuthentication` (simplejwt's),
so an invalid or expired token there is a 401 and the storefront refreshes its token.
"""

from __future__ import annotations

from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme
from rest_framework.exceptions import AuthenticationFailed

from users.authentication import JWTAuthentication


class LenientJWTAuthentication(JWTAuthentication):
    """A valid token authenticates as usual; an invalid one (`Bearer null`, expired, malformed,
    a deleted user) is treated as no token at all: the request continues anonymously."""

    def authenticate(self, request):
        try:
            return super().authenticate(request)
        except AuthenticationFailed:  # simplejwt's InvalidToken is a subclass
            return None


class LenientJWTScheme(SimpleJWTScheme):
    """Schema: a bearer JWT like the rest of the API (named apart from `jwtAuth`, since it is another
    class); the views also allow anonymous callers, which drf-spectacular adds from `AllowAny`."""

    target_class = LenientJWTAuthentication
    name = "jwtAuthOptional"
