import pytest
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.tokens import RefreshToken

from users.models import PasswordResetToken
from users.tests.factories import DEFAULT_PASSWORD

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "Brand-new-pass-77"


@pytest.mark.parametrize("url", ["/api/me/", "/api/whoami/"])
def test_me_returns_the_callers_profile(auth_client, user, url):
    response = auth_client.get(url)

    assert response.status_code == 200
    assert response.data == {
        "id": user.pk,
        "email": user.email,
        "username": user.username,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "is_staff": False,
        "date_joined": user.date_joined.isoformat().replace("+00:00", "Z"),
    }


def test_me_shows_staff_flag(staff_client):
    assert staff_client.get("/api/me/").data["is_staff"] is True


@pytest.mark.parametrize("url", ["/api/me/", "/api/whoami/", "/api/me/password/"])
def test_anonymous_is_401(api_client, url):
    response = api_client.get(url) if url != "/api/me/password/" else api_client.post(url, {})

    assert response.status_code == 401
    assert response.data["code"] == "not_authenticated"


def test_invalid_bearer_is_401(api_client):
    api_client.credentials(HTTP_AUTHORIZATION="Bearer nonsense")

    response = api_client.get("/api/me/")

    assert response.status_code == 401
    assert response.data["code"] == "token_not_valid"


@pytest.mark.parametrize("url", ["/api/me/", "/api/whoami/"])
def test_patch_changes_names_only(auth_client, user, url):
    original = (user.email, user.username, user.date_joined)

    response = auth_client.patch(
        url,
        {
            "first_name": "Ada",
            "last_name": "Lovelace",
            "email": "hijack@example.com",
            "username": "hijack",
            "is_staff": True,
            "id": 999,
        },
    )

    assert response.status_code == 200
    assert response.data["first_name"] == "Ada"
    assert response.data["last_name"] == "Lovelace"
    assert response.data["id"] == user.pk
    assert response.data["is_staff"] is False
    user.refresh_from_db()
    assert (user.first_name, user.last_name) == ("Ada", "Lovelace")
    assert (user.email, user.username, user.date_joined) == original
    assert not user.is_staff


def test_patch_one_name_keeps_the_other(auth_client, user):
    response = auth_client.patch("/api/me/", {"last_name": ""})

    assert response.status_code == 200
    user.refresh_from_db()
    assert (user.first_name, user.last_name) == ("Test", "")


def test_patch_too_long_name_is_400(auth_client, user):
    response = auth_client.patch("/api/me/", {"first_name": "x" * 151})

    assert response.status_code == 400
    assert "first_name" in response.data
    user.refresh_from_db()
    assert user.first_name == "Test"


def test_put_is_not_allowed(auth_client):
    assert auth_client.put("/api/me/", {"first_name": "X"}).status_code == 405


# --- /api/me/password/ -------------------------------------------------------------------
def test_change_password(auth_client, user):
    refresh_tokens = [RefreshToken.for_user(user) for _ in range(2)]
    pending_reset = PasswordResetToken.objects.create(
        user=user, token_hash="a" * 64, expires_at="2999-01-01T00:00Z"
    )

    response = auth_client.post(
        "/api/me/password/", {"old_password": DEFAULT_PASSWORD, "new_password": NEW_PASSWORD}
    )

    assert response.status_code == 204
    assert response.content == b""
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)
    assert not user.check_password(DEFAULT_PASSWORD)
    # every refresh token of the user is signed out, and pending reset links are retired
    # (auth_client holds a third refresh token)
    assert OutstandingToken.objects.filter(user=user).count() == 3
    assert BlacklistedToken.objects.filter(token__user=user).count() == 3
    for token in refresh_tokens:
        refresh = auth_client.post("/api/token/refresh/", {"refresh": str(token)})
        assert refresh.status_code == 401
    pending_reset.refresh_from_db()
    assert pending_reset.used_at is not None
    # the new password logs in, the old one does not
    assert (
        auth_client.post("/api/token/", {"username": user.username, "password": NEW_PASSWORD}).status_code
        == 200
    )
    assert (
        auth_client.post("/api/token/", {"username": user.username, "password": DEFAULT_PASSWORD}).status_code
        == 401
    )


def test_change_password_leaves_other_users_tokens_alone(auth_client, user, other_user):
    other_refresh = RefreshToken.for_user(other_user)

    auth_client.post("/api/me/password/", {"old_password": DEFAULT_PASSWORD, "new_password": NEW_PASSWORD})

    assert BlacklistedToken.objects.filter(token__user=user).exists()
    assert not BlacklistedToken.objects.filter(token__user=other_user).exists()
    assert auth_client.post("/api/token/refresh/", {"refresh": str(other_refresh)}).status_code == 200


def test_wrong_old_password_is_400(auth_client, user):
    RefreshToken.for_user(user)

    response = auth_client.post("/api/me/password/", {"old_password": "not-it", "new_password": NEW_PASSWORD})

    assert response.status_code == 400
    assert list(response.data) == ["old_password"]
    user.refresh_from_db()
    assert user.check_password(DEFAULT_PASSWORD)
    assert not BlacklistedToken.objects.exists()


@pytest.mark.parametrize("new_password", ["short", "password", "1234567890123", "user0@example"])
def test_new_password_validators_apply(auth_client, user, new_password):
    user.username, user.email = "user0", "user0@example.com"
    user.save()

    response = auth_client.post(
        "/api/me/password/", {"old_password": DEFAULT_PASSWORD, "new_password": new_password}
    )

    assert response.status_code == 400
    assert list(response.data) == ["new_password"]
    user.refresh_from_db()
    assert user.check_password(DEFAULT_PASSWORD)


def test_missing_fields_are_400(auth_client):
    response = auth_client.post("/api/me/password/", {})

    assert response.status_code == 400
    assert set(response.data) == {"old_password", "new_password"}
