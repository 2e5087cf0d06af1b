"""An API path sent without its trailing slash is redirected with 308, which keeps the method and
the body (core.middleware.CommonMiddleware); Django's 301 made clients repeat a POST as a body-less
GET, and with DEBUG on refused to redirect writes at all (a 500)."""

import pytest
from django.test import Client

from users.models import User

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("debug", [False, True])
def test_a_post_without_the_slash_is_redirected_keeping_method_and_body(settings, debug):
    settings.DEBUG = debug
    client = Client()
    body = {"email": "slash@example.com", "password": "a-long-enough-passw0rd"}

    response = client.post("/api/register", body, content_type="application/json")

    assert response.status_code == 308
    assert response["Location"] == "/api/register/"
    assert not User.objects.exists()

    followed = client.post("/api/register", body, content_type="application/json", follow=True)
    assert followed.status_code == 201, followed.content
    assert followed.redirect_chain == [("/api/register/", 308)]
    assert User.objects.filter(email="slash@example.com").exists()


def test_the_query_string_is_kept_and_unknown_paths_stay_404_json():
    client = Client()

    response = client.get("/api/products", {"page_size": "5", "search": "a b"})
    assert response.status_code == 308
    assert response["Location"] == "/api/products/?page_size=5&search=a+b"

    missing = client.get("/api/no-such-thing")  # no route with the slash either
    assert missing.status_code == 404
    assert missing["Content-Type"] == "application/json"


def test_paths_outside_the_api_keep_djangos_301():
    response = Client().get("/admin")
    assert response.status_code == 301
    assert response["Location"] == "/admin/"
