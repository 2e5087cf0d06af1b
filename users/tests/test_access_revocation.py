"""Access tokens stop working when their user's password changes or is reset, and when they are
presented on logout (`POST /api/token/blacklist/`), on both API faces (/api/ and /api/web/)."""

import re

import pytest
from django.core import mail
from django.core.cache import cache
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import AccessToken

from users.tests.factories import DEFAULT_PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "Fresh-start-2024!"
LINK = re.compile(r"/reset-password/(?P<uid>[\w-]+)/(?P<token>[\w-]+)")


@pytest.fixture
def ada(db):
    return UserFactory(username="ada", email="ada@example.com")


def login(password: str = DEFAULT_PASSWORD) -> dict:
    response = APIClient().post("/api/token/", {"email": "ada@example.com", "password": password})
    assert response.status_code == 200, response.data
    return response.data


def bearer(access: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    return client


def assert_works(access: str) -> None:
    assert bearer(access).get("/api/me/").status_code == 200
    assert bearer(access).get("/api/web/whoami/").status_code == 200


def assert_refused(access: str) -> None:
    for path in ("/api/me/", "/api/web/whoami/"):
        response = bearer(access).get(path)
        assert response.status_code == 401, (path, response.data)
        assert set(response.json()) == {"detail", "code"}
    verify = APIClient().post("/api/token/verify/", {"token": access})
    assert verify.status_code == 401, verify.data


# --- password change and reset ------------------------------------------------------------------
def test_password_change_revokes_access_tokens_issued_before_it(ada):
    first, second = login()["access"], login()["access"]
    assert_works(first)

    response = bearer(first).post(
        "/api/me/password/", {"old_password": DEFAULT_PASSWORD, "new_password": NEW_PASSWORD}
    )

    assert response.status_code == 204
    assert_refused(first)
    assert_refused(second)
    assert_works(login(NEW_PASSWORD)["access"])


def test_password_reset_revokes_access_tokens_issued_before_it(ada, django_capture_on_commit_callbacks):
    access = login()["access"]
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        assert APIClient().post("/api/password-reset/", {"email": "ada@example.com"}).status_code == 200
    link = LINK.search(mail.outbox[0].body)

    response = APIClient().post(
        "/api/password-reset/confirm/",
        {"uid": link["uid"], "token": link["token"], "password": NEW_PASSWORD},
    )

    assert response.status_code == 200, response.data
    assert_refused(access)
    assert_works(login(NEW_PASSWORD)["access"])


def test_a_profile_edit_does_not_revoke_tokens(ada):
    access = login()["access"]

    assert bearer(access).patch("/api/me/", {"first_name": "Ada"}).status_code == 200

    assert_works(access)


# --- logout -----------------------------------------------------------------------------------
def test_logout_refuses_the_access_token_it_is_sent_with(ada):
    pair, other_session = login(), login()
    assert_works(pair["access"])

    response = bearer(pair["access"]).post("/api/token/blacklist/", {"refresh": pair["refresh"]})

    assert response.status_code == 200
    assert_refused(pair["access"])
    assert_works(other_session["access"])  # another device's session stays signed in


def test_logout_refuses_the_access_token_even_when_the_refresh_is_already_gone(ada):
    pair = login()
    assert APIClient().post("/api/token/blacklist/", {"refresh": pair["refresh"]}).status_code == 200
    assert_works(pair["access"])  # no access token was sent: it lives on until it expires

    response = bearer(pair["access"]).post("/api/token/blacklist/", {"refresh": pair["refresh"]})

    assert response.status_code == 401  # the refresh token was already blacklisted
    assert_refused(pair["access"])


def test_the_storefront_face_treats_a_denied_token_as_anonymous_on_public_calls(ada):
    pair = login()
    bearer(pair["access"]).post("/api/token/blacklist/", {"refresh": pair["refresh"]})

    assert bearer(pair["access"]).get("/api/web/products/").status_code == 200
    assert bearer(pair["access"]).get("/api/web/cart/").status_code == 401


def test_the_denylist_entry_lives_until_the_token_expires(ada, settings):
    pair = login()
    token = AccessToken(pair["access"])

    bearer(pair["access"]).post("/api/token/blacklist/", {"refresh": pair["refresh"]})

    key = f"jwt:denied:{token['jti']}"
    assert cache.get(key) is not None
    if hasattr(cache, "ttl"):  # django-redis: the entry expires with the token, not before or much after
        lifetime = settings.SIMPLE_JWT["ACCESS_TOKEN_LIFETIME"].total_seconds()
        assert lifetime - 5 <= cache.ttl(key) <= lifetime + 1
