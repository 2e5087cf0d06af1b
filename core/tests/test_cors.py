"""core.middleware.CorsMiddleware answers every request exactly as django-cors-headers' own
middleware does: its shortcut (a request without an Origin header) changes only how the answer is
computed. Both run on the same requests, settings and view responses, and their responses are
compared header by header."""

import itertools

import pytest
from corsheaders.middleware import CorsMiddleware as CorsHeadersMiddleware
from corsheaders.signals import check_request_enabled
from django.http import HttpResponse
from django.test import RequestFactory, override_settings

from core.middleware import CorsMiddleware

ALLOWED = "https://shop.example"


def _view_response(vary: str | None):
    def view(request):
        response = HttpResponse(b"{}", content_type="application/json")
        if vary is not None:
            response["Vary"] = vary
        return response

    return view


def _answer(middleware_class, method: str, path: str, headers: dict, vary: str | None):
    request = RequestFactory().generic(method, path, **headers)
    response = middleware_class(_view_response(vary))(request)
    return response.status_code, sorted(response.items()), getattr(request, "_cors_enabled", None)


ORIGINS = [None, ALLOWED, "https://evil.example", "null", ""]
METHODS = ["GET", "HEAD", "POST", "DELETE", "OPTIONS"]
PREFLIGHT = [None, "POST"]
VARY = [None, "Accept", "Origin", "*"]
PATHS = ["/api/products/", "/admin/login/"]


@pytest.mark.parametrize(
    ("origin", "method", "preflight", "vary", "path"),
    list(itertools.product(ORIGINS, METHODS, PREFLIGHT, VARY, PATHS)),
)
@pytest.mark.parametrize("urls_regex", [r"^.*$", r"^/api/.*$"])
def test_the_same_answer_as_corsheaders(origin, method, preflight, vary, path, urls_regex):
    headers = {}
    if origin is not None:
        headers["HTTP_ORIGIN"] = origin
    if preflight is not None:
        headers["HTTP_ACCESS_CONTROL_REQUEST_METHOD"] = preflight
    with override_settings(
        CORS_ALLOWED_ORIGINS=[ALLOWED], CORS_ALLOW_CREDENTIALS=False, CORS_URLS_REGEX=urls_regex
    ):
        ours = _answer(CorsMiddleware, method, path, headers, vary)
        theirs = _answer(CorsHeadersMiddleware, method, path, headers, vary)
    assert ours == theirs


def test_a_request_without_origin_takes_the_shortcut_and_gets_vary_origin():
    """The case the shortcut exists for, seen from outside: no dict of headers is built."""
    request = RequestFactory().get("/api/products/")
    response = CorsMiddleware(_view_response(None))(request)

    assert response["Vary"] == "origin"
    assert "Access-Control-Allow-Origin" not in response
    assert "headers" not in request.__dict__  # Django's cached_property, never evaluated


def test_the_enabling_signal_is_still_asked_on_the_shortcut():
    """corsheaders lets a receiver enable CORS for paths outside CORS_URLS_REGEX."""
    calls = []

    def enable(sender, request, **kwargs):
        calls.append(request.path)
        return True

    check_request_enabled.connect(enable)
    try:
        with override_settings(CORS_URLS_REGEX=r"^/api/.*$"):
            request = RequestFactory().get("/elsewhere/")
            response = CorsMiddleware(_view_response(None))(request)
    finally:
        check_request_enabled.disconnect(enable)

    assert calls == ["/elsewhere/"]
    assert response["Vary"] == "origin"
