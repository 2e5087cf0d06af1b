"""The API's JWT authentication (`users.authentication.JWTAuthentication`, simplejwt's with the
user read by a prepared query): who gets in is exactly who simplejwt lets in."""

import pytest
from django.conf import settings
from rest_framework.test import APIClient
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.tokens import AccessToken

from users.authentication import JWTAuthentication
from users.tests.factories import UserFactory
from web.authentication import LenientJWTAuthentication

pytestmark = pytest.mark.django_db


def get(path: str, access):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    return client.get(path)


def test_it_is_the_apis_authentication_on_both_faces():
    assert settings.REST_FRAMEWORK["DEFAULT_AUTHENTICATION_CLASSES"] == [
        "users.authentication.JWTAuthentication"
    ]
    assert issubclass(LenientJWTAuthentication, JWTAuthentication)
    # get_user reads the primary key: simplejwt's default id field.
    assert api_settings.USER_ID_FIELD == "id"


def test_a_valid_token_authenticates_its_user():
    user = UserFactory()
    response = get("/api/me/", AccessToken.for_user(user))
    assert response.status_code == 200
    assert response.json()["id"] == user.pk


def test_a_deactivated_users_token_is_401():
    user = UserFactory()
    access = AccessToken.for_user(user)
    user.is_active = False
    user.save()
    response = get("/api/me/", access)
    assert response.status_code == 401
    assert response.json()["code"] == "user_inactive"
    assert get("/api/web/whoami/", access).status_code == 401
    # The storefront's public calls treat it as no token at all.
    assert get("/api/web/products/", access).status_code == 200


def test_a_deleted_users_token_is_401():
    user = UserFactory()
    access = AccessToken.for_user(user)
    user.delete()
    response = get("/api/me/", access)
    assert response.status_code == 401
    assert response.json()["code"] == "user_not_found"


@pytest.mark.parametrize("user_id", ["abc", "99999999999999999999999", -1, 0, None, "1.5"])
def test_a_signed_token_naming_no_user_id_is_401_not_500(user_id):
    UserFactory()
    access = AccessToken()
    access[api_settings.USER_ID_CLAIM] = user_id
    response = get("/api/me/", access)
    assert response.status_code == 401
    assert response.json()["code"] == "user_not_found"


def test_a_token_without_a_user_claim_is_401():
    response = get("/api/me/", AccessToken())
    assert response.status_code == 401
    assert response.json()["code"] == "token_not_valid"
