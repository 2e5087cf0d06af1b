"""One structured log line per request, an `X-Request-ID` accepted or generated, a 503 (not a
500) while the database is unreachable, and the browser-only middleware (session, session user,
messages) skipped on the token API's paths."""

import logging
import re
import time
import uuid

from django.conf import settings
from django.contrib.auth.middleware import AuthenticationMiddleware as DjangoAuthenticationMiddleware
from django.contrib.messages.middleware import MessageMiddleware as DjangoMessageMiddleware
from django.contrib.sessions.middleware import SessionMiddleware as DjangoSessionMiddleware
from django.db import InterfaceError, OperationalError
from django.http import JsonResponse
from django.http.response import HttpResponseRedirectBase
from django.middleware.common import CommonMiddleware as DjangoCommonMiddleware
from django.utils.functional import SimpleLazyObject, empty
from django.utils.http import escape_leading_slashes

from .exceptions import ServiceUnavailable
from .logging import request_id_var
from .views import not_found

logger = logging.getLogger("novacart.request")
_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,128}$")


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
        request_id = incoming if _VALID_REQUEST_ID.match(incoming) else uuid.uuid4().hex
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
# (core/tests/test_api_middleware.py holds both). A session, a session-backed `request.user` and
# flash messages serve no one on those paths, but each costs work on every request (session store
# and message storage objects, the lazy user, response hooks). The admin, and the API's browser
# pages (Swagger UI, ReDoc, the schema they load), keep them all.
# CsrfViewMiddleware stays Django's own, everywhere (`check --deploy` looks for it by name, and its
# cost on an API request is one cookie lookup: DRF views are exempt from its check).
_BROWSER_API_PREFIXES = ("/api/docs/", "/api/redoc/", "/api/schema/")


def is_token_api_path(path: str) -> bool:
    """True for the JWT API's paths, where no browser session is used."""
    return path.startswith("/api/") and not path.startswith(_BROWSER_API_PREFIXES)


class _SkippedOnTokenApi:
    def __call__(self, request):
        if is_token_api_path(request.path_info):
            return self.get_response(request)  # sync, or a coroutine the async handler awaits
        return super().__call__(request)


class SessionMiddleware(_SkippedOnTokenApi, DjangoSessionMiddleware):
    """Django's SessionMiddleware, except on the token API's paths."""


class AuthenticationMiddleware(_SkippedOnTokenApi, DjangoAuthenticationMiddleware):
    """Django's AuthenticationMiddleware (the session user), except on the token API's paths, where
    DRF's JWT authentication sets `request.user` (on the Django request too) when the view runs."""


class MessageMiddleware(_SkippedOnTokenApi, DjangoMessageMiddleware):
    """Django's MessageMiddleware (the admin's flash messages), except on the token API's paths."""


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
