"""The throttles: per signed-in user, and per client IP for anonymous callers and for the
endpoints that guess or spend credentials."""

import math

from rest_framework import throttling
from rest_framework.settings import api_settings
from rest_framework.throttling import BaseThrottle, SimpleRateThrottle


class UserRateThrottle(throttling.UserRateThrottle):
    """Scope "user" (default 1200/min) for signed-in callers only. DRF's UserRateThrottle also
    counts anonymous callers, by IP, beside AnonRateThrottle's own count of the same IP; the
    contract gives anonymous callers one rate (anonymous 300/min, authenticated 1200/min), and
    every counter is a read and a write to the shared cache (Redis round trips) on every request.
    So an anonymous request keeps one counter, AnonRateThrottle's."""

    def get_cache_key(self, request, view) -> str | None:
        if not (request.user and request.user.is_authenticated):
            return None  # AnonRateThrottle's
        return super().get_cache_key(request, view)


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


def client_ip(request) -> str:
    """The client IP the throttles use (REMOTE_ADDR, or X-Forwarded-For as far as NUM_PROXIES allows),
    for django-axes (AXES_CLIENT_IP_CALLABLE), so the admin lockout and the throttles agree."""
    return BaseThrottle().get_ident(request)


def admin_login_throttled(request) -> int | None:
    """Spend one attempt of the client's `auth` bucket (the one `/api/token/` uses) for an admin
    sign-in; the seconds to wait when the bucket is empty, else None."""
    if not api_settings.DEFAULT_THROTTLE_CLASSES:  # THROTTLE_DISABLED
        return None
    throttle = AuthRateThrottle()
    if throttle.allow_request(request, None):
        return None
    return max(1, math.ceil(throttle.wait() or 1))
