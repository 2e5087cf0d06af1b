"""One structured log line per request, an `X-Request-ID` accepted or generated, a 503 (not a
500) while the database is unreachable, the browser-only middleware (static files, session, CSRF,
session user, messages, axes) skipped on the token API's paths, and CORS without a dict of headers
when there is no Origin."""

import logging
import os
import re
import time

from corsheaders.middleware import CorsMiddleware as CorsHeadersMiddleware
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import InterfaceError, OperationalError
from django.http import JsonResponse
from django.http.response import HttpResponseRedirectBase
from django.middleware.common import CommonMiddleware as DjangoCommonMiddleware
from django.utils.cache import patch_vary_headers
from django.utils.functional import SimpleLazyObject, empty
from django.utils.http import escape_leading_slashes

from .exceptions import ServiceUnavailable
from .logging import request_id_var
from .views import not_found

logger = logging.getLogger("novacart.request")
_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,128}$")
# A random (version 4) UUID's bits: what `uuid.uuid4().hex` returns, at a third of its cost (no UUID
# object is built). The 16 random bytes come from the kernel, as uuid4's do, so ids stay unique
# across forked workers.
_UUID4_KEEP = ~((0xF000 << 64) | (0xC000 << 48))
_UUID4_SET = (0x4000 << 64) | (0x8000 << 48)


def new_request_id() -> str:
    """A new request id: a random UUID in 32 lowercase hex digits."""
    return "%032x" % (int.from_bytes(os.urandom(16)) & _UUID4_KEEP | _UUID4_SET)


def _user_id(request) -> int | None:
    """The id of the user the view authenticated, without triggering any lookup of our own.

    DRF authenticates JWT requests inside the view and its `Request.user` setter writes the
    user back onto the underlying `HttpRequest`, so after the view ran `request.user` is the
    token's user. A session user that nobody evaluated stays a lazy object: it is skipped
    rather than loaded (that would cost queries, and fail when the database is down).
    """
    user = request.__dict__.get("user")
    if user is None:
        return None
    if isinstance(user, SimpleLazyObject) and user._wrapped is empty:
        return None
    try:
        return user.pk if user.is_authenticated else None
    except Exception:  # a broken user object must never break the response
        return None


class RequestLogMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        # META, not `request.headers`: the latter builds a dict of every header on first use.
        incoming = request.META.get("HTTP_X_REQUEST_ID", "")
        request_id = incoming if incoming and _VALID_REQUEST_ID.match(incoming) else new_request_id()
        request.request_id = request_id
        token = request_id_var.set(request_id)
        started = time.perf_counter()
        try:
            response = self.get_response(request)
            response["X-Request-ID"] = request_id
            # The record's fields are only built when the line is written (LOG_LEVEL INFO or lower).
            if logger.isEnabledFor(logging.INFO):
                # The path only: query strings can carry tokens, bodies and headers are never logged.
                logger.info(
                    "request",
                    extra={
                        "request_id": request_id,
                        "method": request.method,
                        "path": request.path,
                        "status": response.status_code,
                        "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                        "user_id": _user_id(request),
                    },
                )
        finally:
            request_id_var.reset(token)
        return response


class DatabaseUnavailableMiddleware:
    """A database outage (connection refused, failover, statement timeout, deadlock) answers 503
    in the API's error shape with `Retry-After`, instead of a 500 page: it is transient, not a bug."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not isinstance(exception, OperationalError | InterfaceError):
            return None
        # Logged at ERROR (and so reported to Sentry), one line with the driver's message.
        logger.error(
            "database unavailable",
            extra={"path": request.path, "method": request.method, "error": repr(exception)},
        )
        response = JsonResponse(
            {"detail": ServiceUnavailable.default_message, "code": ServiceUnavailable.default_code},
            status=503,
        )
        response["Retry-After"] = "5"
        return response


# --- Browser-only middleware, skipped on the token API -----------------------------------------
# The API under /api/ authenticates with JWT only (REST_FRAMEWORK's DEFAULT_AUTHENTICATION_CLASSES;
# no view has SessionAuthentication) and every view there is a DRF view, which is csrf_exempt
# (core/tests/test_api_middleware.py holds both). Static files (whitenoise, under STATIC_URL), a
# session, a session-backed `request.user`, a CSRF cookie, flash messages and django-axes' admin
# lockout (AXES_ONLY_ADMIN_SITE) serve no one on those paths, but each costs a layer of work on
# every request. They are whitenoise's, Django's and axes' own classes, listed last in MIDDLEWARE
# (where `check --deploy` and axes' checks find them by name), after
# `SkipBrowserMiddlewareOnTokenApi`, which jumps over all of them on the token API's paths.
# The admin, and the API's browser pages (Swagger UI, ReDoc, the schema they load), keep them all.
_BROWSER_API_PREFIXES = ("/api/docs/", "/api/redoc/", "/api/schema/")

# What may follow SkipBrowserMiddlewareOnTokenApi in MIDDLEWARE: it skips everything after it.
BROWSER_ONLY_MIDDLEWARE = (
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "axes.middleware.AxesMiddleware",
)


def is_token_api_path(path: str) -> bool:
    """True for the JWT API's paths, where no browser session is used."""
    return path.startswith("/api/") and not path.startswith(_BROWSER_API_PREFIXES)


def _chain_end(get_response, layers: int):
    """The innermost handler of Django's middleware chain, `layers` middleware below `get_response`.

    Django wraps each middleware instance, and at the end its own `_get_response` (URL resolution,
    view middleware, the view), in `convert_exception_to_response`, which records the wrapped
    callable as `__wrapped__`; each instance keeps the next handler as `get_response`.
    """
    handler = get_response
    for _ in range(layers):
        instance = getattr(handler, "__wrapped__", None)
        handler = getattr(instance, "get_response", None)
        if handler is None:
            break
    wrapped = getattr(handler, "__wrapped__", None)
    if getattr(wrapped, "__name__", None) != "_get_response":
        raise ImproperlyConfigured(
            "SkipBrowserMiddlewareOnTokenApi could not find Django's view handler "
            f"{layers} middleware below it."
        )
    return handler


class SkipBrowserMiddlewareOnTokenApi:
    """On the token API's paths, calls the view directly, past the browser-only middleware that
    follows this one in MIDDLEWARE (BROWSER_ONLY_MIDDLEWARE, in any order); elsewhere, calls them.

    One check per request instead of six middleware layers. The view middleware hooks still run
    (CsrfViewMiddleware's `process_view` returns at once for a csrf_exempt view). WSGI only.
    """

    def __init__(self, get_response):
        after = settings.MIDDLEWARE[settings.MIDDLEWARE.index(_dotted_name(type(self))) + 1 :]
        if not set(after) <= set(BROWSER_ONLY_MIDDLEWARE):
            raise ImproperlyConfigured(
                "Only browser-only middleware may follow SkipBrowserMiddlewareOnTokenApi, "
                f"not {sorted(set(after) - set(BROWSER_ONLY_MIDDLEWARE))}."
            )
        self.get_response = get_response
        self.view_handler = _chain_end(get_response, len(after))

    def __call__(self, request):
        if is_token_api_path(request.path_info):
            return self.view_handler(request)
        return self.get_response(request)


def _dotted_name(cls) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


class CorsMiddleware(CorsHeadersMiddleware):
    """django-cors-headers' middleware, with a shortcut for a request without an `Origin` header
    (every same-origin, server-to-server, curl and mobile request): it only gets `Vary: origin`
    where CORS applies, as corsheaders gives it, without building `request.headers` (a dict of
    every header) to find that there is no Origin. Preflights and requests with an Origin take
    corsheaders' own path. core/tests/test_cors.py compares both on every kind of request."""

    def __call__(self, request):
        if self.async_mode or request.method == "OPTIONS" or "HTTP_ORIGIN" in request.META:
            return super().__call__(request)
        request._cors_enabled = enabled = self.is_enabled(request)
        response = self.get_response(request)
        if enabled:
            patch_vary_headers(response, ("origin",))
        return response


class PermanentRedirectKeepingMethod(HttpResponseRedirectBase):
    """308: like 301, but the client repeats the same method with the same body."""

    status_code = 308


class CommonMiddleware(DjangoCommonMiddleware):
    """Django's CommonMiddleware, except that an API path missing its trailing slash is redirected
    with 308, not 301. After a 301 clients repeat a POST as a GET without its body (`POST
    /api/register` would land on a 405), and Django with DEBUG on refuses to redirect writes at all
    (a RuntimeError, a 500). With 308, curl -L, browsers and HTTP libraries repeat the call as sent."""

    def process_response(self, request, response):
        if response.status_code == 404 and request.path_info.startswith("/api/"):
            if self.should_redirect_with_slash(request):
                return PermanentRedirectKeepingMethod(
                    escape_leading_slashes(request.get_full_path(force_append_slash=True))
                )
            if settings.DEBUG and response.get("Content-Type", "").startswith("text/html"):
                # With DEBUG on (`make run`) Django answers an unmatched path with its HTML debug
                # page instead of calling handler404: the API's 404 is JSON either way.
                return not_found(request)
        return super().process_response(request, response)
