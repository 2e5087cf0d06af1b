"""The throttles: per signed-in user, and per client IP for anonymous callers and for the
endpoints that guess or spend credentials."""

import logging
import math
import secrets

from django.core.cache import cache
from redis.commands.core import Script
from redis.exceptions import RedisError
from rest_framework import throttling
from rest_framework.settings import api_settings
from rest_framework.throttling import BaseThrottle

logger = logging.getLogger(__name__)

# One throttle check in one Redis round trip, atomically: the key is a sorted set of the requests
# within the window (score = time); drop those older than the window, then admit and record this
# request if fewer than the limit remain, else answer when the oldest one leaves the window.
# ARGV: now, window start (now - duration), limit, this request's member, the key's lifetime (ms).
_SLIDING_WINDOW = Script(
    None,
    b"""
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[2])
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[3]) then
  redis.call('ZADD', KEYS[1], ARGV[1], ARGV[4])
  redis.call('PEXPIRE', KEYS[1], ARGV[5])
  return false
end
-- the oldest request's time; with a limit of 0 there may be none: wait a whole window from now
return redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')[2] or ARGV[1]
""",
)


def _redis_client():
    """The shared cache's Redis client (django-redis), or None with another cache backend."""
    client = getattr(cache, "client", None)
    get_client = getattr(client, "get_client", None)
    return get_client(write=True) if get_client is not None else None


class SharedWindowThrottle(throttling.SimpleRateThrottle):
    """DRF's SimpleRateThrottle (the same rates, scopes, keys and 429 with `Retry-After`), with the
    window kept in Redis as a sorted set and checked and updated by one Lua script: one round trip
    per request instead of DRF's read and write of a pickled list, and no lost update when a
    client's requests arrive together on several processes (DRF's read-then-write lets each of
    them see the same count, so a burst could pass the limit). With another cache backend (the
    local-memory cache of development and the SQLite test run) it is DRF's throttle. When Redis
    cannot be reached the request is let through, as the cache's IGNORE_EXCEPTIONS lets DRF's
    throttle through (unless the cache is set to raise)."""

    def allow_request(self, request, view) -> bool:
        if self.rate is None:
            return True
        client = _redis_client()
        if client is None:
            return super().allow_request(request, view)
        self.key = self.get_cache_key(request, view)
        if self.key is None:
            return True
        self.now = self.timer()
        member = f"{self.now!r}:{secrets.token_hex(4)}"
        try:
            oldest = _SLIDING_WINDOW(
                keys=[cache.make_key(self.key)],
                args=[self.now, self.now - self.duration, self.num_requests, member, self.duration * 1000],
                client=client,
            )
        except RedisError:
            if not getattr(cache, "_ignore_exceptions", False):  # django-redis: CACHE_IGNORE_EXCEPTIONS
                raise
            logger.warning("throttle %s not checked: Redis unreachable", self.scope, exc_info=True)
            return True
        if oldest is None:
            return True
        self.oldest = float(oldest)
        return self.throttle_failure()

    def wait(self) -> float | None:
        oldest = getattr(self, "oldest", None)
        if oldest is None:  # DRF's path (another cache backend)
            return super().wait()
        return max(self.duration - (self.now - oldest), 0.0)


class AnonRateThrottle(SharedWindowThrottle, throttling.AnonRateThrottle):
    """Scope "anon" (default 300/min), per client IP, for anonymous callers only."""


class UserRateThrottle(SharedWindowThrottle, throttling.UserRateThrottle):
    """Scope "user" (default 1200/min) for signed-in callers only. DRF's UserRateThrottle also
    counts anonymous callers, by IP, beside AnonRateThrottle's own count of the same IP; the
    contract gives anonymous callers one rate (anonymous 300/min, authenticated 1200/min), and
    every counter costs a Redis round trip on every request. So an anonymous request keeps one
    counter, AnonRateThrottle's."""

    def get_cache_key(self, request, view) -> str | None:
        if not (request.user and request.user.is_authenticated):
            return None  # AnonRateThrottle's
        return super().get_cache_key(request, view)


class AuthRateThrottle(SharedWindowThrottle):
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
