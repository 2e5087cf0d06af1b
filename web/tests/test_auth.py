"""Accounts through the storefront profile: tokens, registration, password reset, whoami."""

import re

import pytest
from django.core import mail
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken

from users.models import User
from users.tests.factories import DEFAULT_PASSWORD, UserFactory

from .conftest import BEARER_NULL, null_token_client, url

pytestmark = pytest.mark.django_db

LINK = re.compile(r"https://shop\.example/reset-password/(?P<uid>[\w-]+)/(?P<token>[\w-]+)")
NEW_PASSWORD = "Fresh-start-2024!"


@pytest.fixture
def ada(db):
    return UserFactory(username="ada", email="ada@example.com", first_name="Ada", last_name="Lovelace")


# --- tokens --------------------------------------------------------------------------------------


@pytest.mark.parametrize("identifier", ["ada", "ADA@example.com"])
def test_token_by_username_or_email(api_client, ada, identifier):
    response = api_client.post(url("/token/"), {"username": identifier, "password": DEFAULT_PASSWORD})

    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) == {"access", "refresh"}
    whoami = api_client.get(url("/whoami/"), HTTP_AUTHORIZATION=f"Bearer {body['access']}")
    assert whoami.json()["username"] == "ada"


def test_token_wrong_password_is_401(api_client, ada):
    response = api_client.post(url("/token/"), {"username": "ada", "password": "nope"})
    assert response.status_code == 401
    assert response.json()["code"] == "no_active_account"


def test_token_ignores_a_null_bearer_header(ada):
    # The login form is posted while the storefront still sends `Bearer null`.
    response = null_token_client().post(url("/token/"), {"username": "ada", "password": DEFAULT_PASSWORD})
    assert response.status_code == 200


def test_refresh_rotates_and_blacklists_the_old_token(api_client, ada):
    pair = api_client.post(url("/token/"), {"username": "ada", "password": DEFAULT_PASSWORD}).json()

    response = api_client.post(url("/token/refresh/"), {"refresh": pair["refresh"]})

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"access", "refresh"}
    assert body["refresh"] != pair["refresh"]
    assert BlacklistedToken.objects.filter(token__token=pair["refresh"]).exists()
    # Sent again at once (another call of the storefront refreshing too): the same new token.
    again = api_client.post(url("/token/refresh/"), {"refresh": pair["refresh"]})
    assert again.status_code == 200 and again.json()["refresh"] == body["refresh"]
    # Once the new token is used, the old one is refused.
    assert api_client.post(url("/token/refresh/"), {"refresh": body["refresh"]}).status_code == 200
    assert api_client.post(url("/token/refresh/"), {"refresh": pair["refresh"]}).status_code == 401


def test_refresh_with_garbage_is_401(api_client):
    assert api_client.post(url("/token/refresh/"), {"refresh": "null"}).status_code == 401


# --- registration --------------------------------------------------------------------------------


def test_register_creates_the_account(anon_null):
    response = anon_null.post(
        url("/register/"), {"username": "grace", "email": "grace@example.com", "password": "Sup3r-hopper!"}
    )

    assert response.status_code == 201, response.content
    user = User.objects.get(username="grace")
    assert user.email == "grace@example.com"
    assert user.check_password("Sup3r-hopper!")


def test_register_errors_are_keyed_by_username_and_email(api_client, ada):
    response = api_client.post(
        url("/register/"), {"username": "ADA", "email": "Ada@Example.com", "password": "Sup3r-hopper!"}
    )

    assert response.status_code == 400
    body = response.json()
    assert set(body) == {"username", "email"}
    assert isinstance(body["username"], list) and body["username"]
    assert isinstance(body["email"], list) and body["email"]
    assert User.objects.count() == 1


def test_register_weak_password_is_keyed_by_password(api_client):
    response = api_client.post(
        url("/register/"), {"username": "grace", "email": "grace@example.com", "password": "123"}
    )
    assert response.status_code == 400
    assert set(response.json()) == {"password"}
    assert not User.objects.filter(username="grace").exists()


# --- password reset ------------------------------------------------------------------------------


def _reset_token(client, capture, email="ada@example.com") -> tuple[str, str]:
    mail.outbox.clear()
    with capture(execute=True):
        response = client.post(url("/password-reset/"), {"email": email})
    assert response.status_code == 200
    assert len(mail.outbox) == 1
    match = LINK.search(mail.outbox[0].body)
    assert match, mail.outbox[0].body
    return match["uid"], match["token"]


def test_reset_link_points_at_the_storefront_and_confirm_needs_no_uid(
    anon_null, ada, django_capture_on_commit_callbacks
):
    uid, token = _reset_token(anon_null, django_capture_on_commit_callbacks)
    assert uid  # the link carries it (the storefront's route has it) ...

    # ... but the storefront posts only the token and the password.
    response = anon_null.post(url("/password-reset/confirm/"), {"token": token, "password": NEW_PASSWORD})

    assert response.status_code == 200, response.content
    assert set(response.json()) == {"detail"}
    ada.refresh_from_db()
    assert ada.check_password(NEW_PASSWORD)
    # Single use.
    again = anon_null.post(url("/password-reset/confirm/"), {"token": token, "password": "Another-one-2024!"})
    assert again.status_code == 400
    assert set(again.json()) == {"token"}


def test_reset_request_for_an_unknown_email_is_200_and_sends_nothing(api_client, db):
    mail.outbox.clear()
    response = api_client.post(url("/password-reset/"), {"email": "nobody@example.com"})
    assert response.status_code == 200
    assert mail.outbox == []


def test_reset_confirm_bad_token_is_400_under_token(api_client, ada):
    response = api_client.post(url("/password-reset/confirm/"), {"token": "forged", "password": NEW_PASSWORD})
    assert response.status_code == 400
    assert set(response.json()) == {"token"}
    ada.refresh_from_db()
    assert ada.check_password(DEFAULT_PASSWORD)


def test_reset_confirm_refused_password_is_summed_up_in_detail(
    api_client, ada, django_capture_on_commit_callbacks
):
    _uid, token = _reset_token(api_client, django_capture_on_commit_callbacks)

    response = api_client.post(url("/password-reset/confirm/"), {"token": token, "password": "short"})

    assert response.status_code == 400
    body = response.json()
    assert set(body) == {"detail", "password"}
    assert isinstance(body["detail"], str) and body["detail"]
    assert body["detail"] == " ".join(body["password"])
    # The token was not used up by the refused attempt.
    ok = api_client.post(url("/password-reset/confirm/"), {"token": token, "password": NEW_PASSWORD})
    assert ok.status_code == 200


def test_reset_confirm_missing_fields_is_400(api_client, db):
    response = api_client.post(url("/password-reset/confirm/"), {})
    assert response.status_code == 400
    assert set(response.json()) == {"token", "password"}


# --- whoami / dashboard --------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/whoami/", "/my/dashboard/"])
def test_whoami_shape(client_for_ada, path):
    response = client_for_ada.get(url(path))
    assert response.status_code == 200
    assert response.json() == {
        "username": "ada",
        "email": "ada@example.com",
        "first_name": "Ada",
        "last_name": "Lovelace",
    }


@pytest.mark.parametrize("path", ["/whoami/", "/my/dashboard/"])
@pytest.mark.parametrize("header", [None, BEARER_NULL, "Bearer not-a-jwt"])
def test_whoami_without_a_valid_token_is_401(api_client, db, path, header):
    kwargs = {"HTTP_AUTHORIZATION": header} if header else {}
    response = api_client.get(url(path), **kwargs)
    assert response.status_code == 401
    assert set(response.json()) == {"detail", "code"}


@pytest.fixture
def client_for_ada(ada):
    from conftest import client_for

    return client_for(ada)
