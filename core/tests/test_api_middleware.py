"""The browser-only middleware (static files, session, CSRF, session user, messages, axes) is
skipped on the JWT API's paths (core/middleware.py), and that changes nothing anyone sees: the
API authenticates by JWT only and all its views are CSRF-exempt DRF views, while the admin and
the API docs pages keep the full stack."""

import pytest
from django.conf import settings
from django.contrib.sessions.middleware import SessionMiddleware
from django.core import checks
from django.core.exceptions import ImproperlyConfigured
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.test import Client, RequestFactory, override_settings
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.authentication import SessionAuthentication
from rest_framework.settings import api_settings

from core.middleware import BROWSER_ONLY_MIDDLEWARE, is_token_api_path
from products.tests.factories import ProductFactory

pytestmark = pytest.mark.django_db


def _api_views(resolver: URLResolver | None = None, prefix: str = "/") -> list[tuple[str, object]]:
    """(route, view callback) of every URL pattern, depth first."""
    found = []
    for entry in (resolver or get_resolver()).url_patterns:
        route = prefix + str(entry.pattern).lstrip("^").removesuffix("$")
        if isinstance(entry, URLPattern):
            found.append((route, entry.callback))
        else:
            found += _api_views(entry, route)
    return found


def test_the_api_uses_no_session_authentication():
    assert SessionAuthentication not in api_settings.DEFAULT_AUTHENTICATION_CLASSES
    for route, callback in _api_views():
        view_class = getattr(callback, "cls", None) or getattr(callback, "view_class", None)
        classes = getattr(view_class, "authentication_classes", ())
        assert not any(issubclass(c, SessionAuthentication) for c in classes), route


def test_every_token_api_view_is_csrf_exempt():
    """So a session-based CSRF check can never be what protects them."""
    api = [(route, cb) for route, cb in _api_views() if is_token_api_path(route)]
    assert len(api) > 30
    for route, callback in api:
        assert getattr(callback, "csrf_exempt", False), route


@pytest.mark.parametrize(
    ("path", "token_api"),
    [
        ("/api/products/", True),
        ("/api/web/products/", True),
        ("/api/token/", True),
        ("/api/docs/", False),
        ("/api/redoc/", False),
        ("/api/schema/", False),
        ("/admin/", False),
        ("/admin/login/", False),
        ("/", False),
    ],
)
def test_which_paths_skip_the_browser_middleware(path, token_api):
    assert is_token_api_path(path) is token_api


def test_an_api_request_gets_no_session_no_session_user_no_messages():
    response = Client().get("/api/products/")

    assert response.status_code == 200
    request = response.wsgi_request
    assert not hasattr(request, "session")
    assert not hasattr(request, "_messages")
    assert "csrftoken" not in response.cookies and "sessionid" not in response.cookies
    assert "Cookie" not in response.get("Vary", "")
    # Set by DRF's JWT authentication when the view ran, as before.
    assert request.user.is_anonymous


def test_the_admin_keeps_session_csrf_and_messages(staff_user):
    client = Client(enforce_csrf_checks=True)
    login_page = client.get("/admin/login/")
    assert login_page.status_code == 200
    assert hasattr(login_page.wsgi_request, "session")
    assert "csrftoken" in login_page.cookies

    client.force_login(staff_user)
    index = client.get("/admin/")
    assert index.status_code == 200
    assert index.wsgi_request.user == staff_user
    assert hasattr(index.wsgi_request, "_messages")


def test_an_admin_session_does_not_authenticate_api_requests(staff_user):
    """JWT only, as before: a staff member signed in to the admin is anonymous to the API."""
    ProductFactory(is_active=False)
    client = Client()
    client.force_login(staff_user)

    assert client.get("/api/me/").status_code == 401
    assert client.get("/api/products/").json()["count"] == 0


def test_an_admin_post_without_the_csrf_token_is_refused(staff_user):
    client = Client(enforce_csrf_checks=True)
    client.get("/admin/login/")  # the CSRF cookie, but no token in the form

    response = client.post("/admin/login/", {"username": staff_user.email, "password": "x"})

    assert response.status_code == 403


def test_the_middleware_list_keeps_djangos_order():
    names = [name.rsplit(".", 1)[1] for name in settings.MIDDLEWARE]
    assert names.index("SessionMiddleware") < names.index("CsrfViewMiddleware")
    assert names.index("SessionMiddleware") < names.index("AuthenticationMiddleware")
    assert names.index("AuthenticationMiddleware") < names.index("MessageMiddleware")
    assert names[-1] == "AxesMiddleware"


def test_the_skip_comes_right_before_the_browser_only_middleware():
    at = settings.MIDDLEWARE.index("core.middleware.SkipBrowserMiddlewareOnTokenApi")
    assert sorted(settings.MIDDLEWARE[at + 1 :]) == sorted(BROWSER_ONLY_MIDDLEWARE)


def test_static_files_are_not_under_the_token_api():
    """whitenoise is skipped there: a STATIC_URL under /api/ would serve every static file 404."""
    assert not is_token_api_path("/" + settings.STATIC_URL.lstrip("/") + "admin/css/base.css")


def test_djangos_and_axes_checks_find_their_middleware():
    """Listed under their own names, so `check --deploy` still checks sessions, CSRF, clickjacking
    and HTTPS settings, and axes does not warn that its middleware is missing."""
    ids = {message.id for message in checks.run_checks(include_deployment_checks=True)}
    assert not ids & {"security.W001", "security.W002", "security.W003", "axes.W002"}


@pytest.mark.parametrize(
    "after",
    [
        ["django.middleware.common.CommonMiddleware"],
        ["django.contrib.sessions.middleware.SessionMiddleware", "core.middleware.RequestLogMiddleware"],
    ],
)
def test_nothing_but_browser_only_middleware_may_follow_the_skip(after):
    """It would be skipped on every API request without anyone noticing: refused at start-up."""
    middleware = ["core.middleware.SkipBrowserMiddlewareOnTokenApi", *after]
    with (
        override_settings(MIDDLEWARE=middleware),
        pytest.raises(ImproperlyConfigured, match="Only browser-only middleware"),
    ):
        WSGIHandler()


def test_the_skip_reaches_djangos_view_handler():
    handler = WSGIHandler()
    layer = handler._middleware_chain
    while not hasattr(layer.__wrapped__, "view_handler"):
        layer = layer.__wrapped__.get_response
    skip = layer.__wrapped__
    assert skip.view_handler.__wrapped__ == handler._get_response


def test_an_api_request_through_the_wsgi_application_skips_the_browser_middleware(monkeypatch):
    """The production application (backend.wsgi), not the test client's handler."""
    from backend.wsgi import application

    captured = {}
    sessions_opened = []
    open_session = SessionMiddleware.process_request

    def spy(self, request):
        sessions_opened.append(request.path)
        return open_session(self, request)

    monkeypatch.setattr(SessionMiddleware, "process_request", spy)

    def start_response(status, headers, exc_info=None):
        captured.update(status=status, headers=dict(headers))

    # As Django's test client does: the request signals must not close the test's connection.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        for path, browser in [("/api/no-such-page/", False), ("/admin/login/", True)]:
            environ = RequestFactory()._base_environ(PATH_INFO=path, REQUEST_METHOD="GET")
            response = application(environ, start_response)
            assert b"".join(response)
            response.close()
            _assert_browser_middleware_ran(captured["headers"], browser, path)
            assert (path in sessions_opened) is browser, path
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


def _assert_browser_middleware_ran(headers: dict, browser: bool, path: str) -> None:
    assert ("csrftoken" in headers.get("Set-Cookie", "")) is browser, path
    assert ("Cookie" in headers.get("Vary", "")) is browser, path
    # The middleware before the skip runs on both.
    assert headers["X-Frame-Options"] == "DENY", path
    assert headers["X-Content-Type-Options"] == "nosniff", path
    assert len(headers["X-Request-ID"]) == 32, path
