import logging
import uuid

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.http import JsonResponse
from django.views.defaults import bad_request as django_bad_request
from django.views.defaults import page_not_found
from django.views.defaults import permission_denied as django_permission_denied
from django.views.defaults import server_error as django_server_error
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from .exceptions import BadRequest, request_error_for

logger = logging.getLogger(__name__)


def _check_database() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
        return "ok"
    except Exception as exc:  # any driver error means the database is not usable
        # One line, no traceback: health checks run every few seconds.
        logger.error("health: database check failed", extra={"error": repr(exc)})
        return "error"


def _check_cache() -> str:
    """One round trip: add a fresh key (it expires by itself). With Redis, an outage makes
    django-redis return nothing (IGNORE_EXCEPTIONS) or raise; either way the add does not answer
    True. One operation, so a Redis that hangs costs one socket timeout (2 s), not one per
    operation: the check stays within a platform's 5 s health-check limit."""
    try:
        ok = cache.add(f"health:ping:{uuid.uuid4().hex}", "pong", timeout=5) is True
        if not ok:
            logger.error("health: cache check failed (no answer)")
        return "ok" if ok else "error"
    except Exception as exc:  # any client error means the cache is not usable
        logger.error("health: cache check failed", extra={"error": repr(exc)})
        return "error"


class HealthView(APIView):
    """Liveness and readiness: 200 when the database and the cache answer, 503 otherwise."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes: list = []

    @extend_schema(
        responses={
            (200, "application/json"): inline_serializer(
                "Health",
                fields={
                    "status": serializers.CharField(),
                    "database": serializers.CharField(),
                    "cache": serializers.CharField(),
                    "version": serializers.CharField(),
                },
            ),
            (503, "application/json"): inline_serializer(
                "HealthDown",
                fields={
                    "status": serializers.CharField(),
                    "database": serializers.CharField(),
                    "cache": serializers.CharField(),
                    "version": serializers.CharField(),
                },
            ),
        }
    )
    def get(self, request):
        database = _check_database()
        cache_state = _check_cache()
        healthy = database == "ok" and cache_state == "ok"
        body = {
            "status": "ok" if healthy else "error",
            "database": database,
            "cache": cache_state,
            "version": settings.APP_VERSION,
        }
        return Response(body, status=200 if healthy else 503)


def not_found(request, exception=None):
    """handler404: a path no route matches (e.g. `/api/web/cart/update/-1/`, which `<int:pk>` refuses)
    answers the contract's JSON error under /api/, not Django's HTML page."""
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "Not found.", "code": "not_found"}, status=404)
    return page_not_found(request, exception)


# Django's own error handlers, for errors that never reach a DRF view's exception handler (raised in
# middleware or while Django itself reads the request) or that the handler leaves to Django (a bug:
# 500). Under /api/ they answer the contract's `{detail, code}` JSON; elsewhere (admin) Django's pages.
def _is_api(request) -> bool:
    return request.path.startswith("/api/")


def bad_request(request, exception=None):
    """handler400: `SuspiciousOperation`s such as a body over DATA_UPLOAD_MAX_MEMORY_SIZE (413)."""
    if _is_api(request):
        error = request_error_for(exception) or BadRequest()
        return JsonResponse({"detail": error.message, "code": error.code}, status=error.status_code)
    return django_bad_request(request, exception)


def permission_denied(request, exception=None):
    """handler403."""
    if _is_api(request):
        return JsonResponse(
            {"detail": "You do not have permission to perform this action.", "code": "permission_denied"},
            status=403,
        )
    return django_permission_denied(request, exception)


def server_error(request):
    """handler500: a bug. The traceback is logged (django.request) and reported; the client gets JSON."""
    if _is_api(request):
        return JsonResponse(
            {"detail": "An unexpected error occurred. Please try again later.", "code": "server_error"},
            status=500,
        )
    return django_server_error(request)
