"""Every error under /api/ is JSON in the contract's `{detail, code}` shape, with DEBUG off and the
test client behaving like a real server (exceptions rendered, not raised): a body over the upload
limit, Django's own 400/403 handlers and the rare 500."""

import json

import pytest
from django.core.exceptions import PermissionDenied, RequestDataTooBig, TooManyFieldsSent
from django.test import Client, RequestFactory

from conftest import client_for
from core import views as core_views
from core.views import HealthView

LIMIT = 1000


@pytest.fixture
def server_client(settings) -> Client:
    settings.DEBUG = False
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = LIMIT
    return Client(raise_request_exception=False)


def _json(response) -> dict:
    assert response["Content-Type"].startswith("application/json"), response.content[:200]
    return json.loads(response.content)


@pytest.mark.django_db
def test_json_body_over_the_upload_limit_is_413_json(server_client, user):
    token = client_for(user)._credentials["HTTP_AUTHORIZATION"]
    body = json.dumps({"full_name": "x" * (LIMIT * 2)})

    response = server_client.post(
        "/api/addresses/", data=body, content_type="application/json", HTTP_AUTHORIZATION=token
    )

    assert response.status_code == 413
    assert _json(response) == {"detail": "The request body is too large.", "code": "request_too_large"}


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("application/x-www-form-urlencoded", "email=" + "x" * (LIMIT * 2)),
        (
            "multipart/form-data; boundary=BoUnDaRy",
            '--BoUnDaRy\r\nContent-Disposition: form-data; name="email"\r\n\r\n'
            + "x" * (LIMIT * 2)
            + "\r\n--BoUnDaRy--\r\n",
        ),
    ],
    ids=["form", "multipart"],
)
def test_form_bodies_over_the_upload_limit_are_413_json(server_client, content_type, body):
    response = server_client.post("/api/register/", data=body, content_type=content_type)

    assert response.status_code == 413
    assert _json(response)["code"] == "request_too_large"


@pytest.mark.django_db
def test_a_500_under_api_is_json(server_client, monkeypatch):
    def broken(self, request):
        raise RuntimeError("a bug")

    monkeypatch.setattr(HealthView, "get", broken)

    response = server_client.get("/api/health/")

    assert response.status_code == 500
    body = _json(response)
    assert set(body) == {"detail", "code"} and body["code"] == "server_error"
    assert "a bug" not in response.content.decode()


def test_django_handlers_answer_json_under_api_and_html_elsewhere():
    factory = RequestFactory()
    api, admin = factory.get("/api/anything/"), factory.get("/admin/anything/")

    too_big = core_views.bad_request(api, RequestDataTooBig("too big"))
    assert too_big.status_code == 413 and _json(too_big)["code"] == "request_too_large"
    too_many = core_views.bad_request(api, TooManyFieldsSent("too many"))
    assert too_many.status_code == 413 and _json(too_many)["code"] == "request_too_large"
    forbidden = core_views.permission_denied(api, PermissionDenied())
    assert forbidden.status_code == 403 and _json(forbidden)["code"] == "permission_denied"
    error = core_views.server_error(api)
    assert error.status_code == 500 and _json(error)["code"] == "server_error"

    assert core_views.server_error(admin)["Content-Type"].startswith("text/html")
    assert core_views.bad_request(admin, RequestDataTooBig("too big"))["Content-Type"].startswith("text/html")


def test_root_urlconf_installs_the_json_handlers():
    from backend import urls

    assert urls.handler400 == "core.views.bad_request"
    assert urls.handler403 == "core.views.permission_denied"
    assert urls.handler404 == "core.views.not_found"
    assert urls.handler500 == "core.views.server_error"


def test_the_schema_documents_413_wherever_a_body_is_read():
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    with_body = [
        (path, method)
        for path, item in schema["paths"].items()
        for method, operation in item.items()
        if isinstance(operation, dict) and "requestBody" in operation
    ]
    assert ("/api/addresses/", "post") in with_body
    for path, method in with_body:
        assert "413" in schema["paths"][path][method]["responses"], (path, method)


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/api/nonexistent/", "/api/web/cart/remove/abc/", "/api/orders/abc/"])
def test_unmatched_api_paths_are_json_404_with_debug_on_too(settings, path):
    """`make run` serves with DEBUG on, where Django answers an unmatched path with its HTML debug
    page instead of handler404; under /api/ it is the contract's JSON either way."""
    settings.DEBUG = True
    response = Client(raise_request_exception=False).get(path)
    assert response.status_code == 404
    assert _json(response) == {"detail": "Not found.", "code": "not_found"}


@pytest.mark.django_db
def test_outside_the_api_django_keeps_its_debug_404_page(settings):
    settings.DEBUG = True
    response = Client(raise_request_exception=False).get("/admin-nonexistent/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")
