"""Per-client-IP throttle for the endpoints that guess or spend credentials."""

from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle


class AuthRateThrottle(SimpleRateThrottle):
    """Scope "auth" (REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["auth"], default 10/min), keyed by the
    client IP only: one bucket per address shared by login, registration and password reset, so
    a logged-in attacker gets no more attempts than an anonymous one."""

    scope = "auth"

    def get_cache_key(self, request, view) -> str:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class AuthThrottleMixin:
    """Adds `AuthRateThrottle` to a view's default throttles (anon/user).

    With throttling switched off (THROTTLE_DISABLED empties DEFAULT_THROTTLE_CLASSES) the auth
    throttle is off too, so load tests can log in freely.
    """

    def get_throttles(self):
        throttles = list(super().get_throttles())
        if api_settings.DEFAULT_THROTTLE_CLASSES:
            throttles.append(AuthRateThrottle())
        return throttles
