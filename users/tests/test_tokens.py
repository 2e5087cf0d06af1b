from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.tokens import AccessToken, RefreshToken

from users.models import PasswordResetToken
from users.services import tokens_flush_expired
from users.tasks import flush_expired_tokens
from users.tests.factories import DEFAULT_PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


def login(client, **credentials):
    return client.post("/api/token/", {"password": DEFAULT_PASSWORD, **credentials})


@pytest.fixture
def grace(db):
    return UserFactory(username="grace", email="Grace.Hopper@Example.com")


# --- /api/token/ ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "credentials",
    [
        {"email": "grace.hopper@example.com"},
        {"email": "GRACE.HOPPER@EXAMPLE.COM"},
        {"username": "grace"},
        {"username": "GRACE"},
        {"username": "grace.hopper@example.com"},
        {"email": "grace"},
    ],
    ids=["email", "email-upper", "username", "username-upper", "email-in-username", "username-in-email"],
)
def test_login_returns_a_token_pair_for_the_user(api_client, grace, credentials):
    response = login(api_client, **credentials)

    assert response.status_code == 200, response.data
    assert set(response.data) == {"access", "refresh"}
    assert AccessToken(response.data["access"])["user_id"] == str(grace.pk)
    refresh = RefreshToken(response.data["refresh"])
    assert OutstandingToken.objects.filter(jti=refresh["jti"], user=grace).exists()
    grace.refresh_from_db()
    assert grace.last_login is not None


def test_access_token_authenticates_api_calls(api_client, grace):
    access = login(api_client, username="grace").data["access"]
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")

    response = api_client.get("/api/me/")

    assert response.status_code == 200
    assert response.data["id"] == grace.pk


@pytest.mark.parametrize(
    "credentials",
    [
        {"email": "grace.hopper@example.com", "password": "wrong-password"},
        {"username": "grace", "password": "wrong-password"},
        {"email": "nobody@example.com", "password": DEFAULT_PASSWORD},
        {"username": "nobody", "password": DEFAULT_PASSWORD},
        {"username": "grace", "password": DEFAULT_PASSWORD + " "},
    ],
    ids=[
        "bad-password-email",
        "bad-password-username",
        "unknown-email",
        "unknown-username",
        "password-not-trimmed",
    ],
)
def test_wrong_credentials_are_401_in_the_error_shape(api_client, grace, credentials):
    response = api_client.post("/api/token/", credentials)

    assert response.status_code == 401
    assert response.data == {
        "detail": "No active account found with the given credentials",
        "code": "no_active_account",
    }
    assert "WWW-Authenticate" in response.headers
    assert not OutstandingToken.objects.exists()


def test_inactive_user_cannot_log_in(api_client):
    UserFactory(username="gone", email="gone@example.com", is_active=False)

    response = login(api_client, email="gone@example.com")

    assert response.status_code == 401
    assert response.data["code"] == "no_active_account"


@pytest.mark.parametrize(
    "payload, field",
    [
        ({"password": DEFAULT_PASSWORD}, "email"),
        ({"email": "  "}, "password"),
        ({"username": "grace"}, "password"),
    ],
)
def test_missing_fields_are_400(api_client, grace, payload, field):
    response = api_client.post("/api/token/", payload)

    assert response.status_code == 400
    assert field in response.data


def test_an_email_is_tried_before_a_username_that_looks_like_it(api_client):
    owner = UserFactory(username="owner", email="shared@example.com")
    UserFactory(username="shared@example.com", email="other@example.com", password="Another-pass-99")

    response = login(api_client, username="shared@example.com")

    assert response.status_code == 200
    assert AccessToken(response.data["access"])["user_id"] == str(owner.pk)


def test_username_holding_an_at_sign_still_logs_in(api_client):
    staff = UserFactory(username="admin@corp", email="admin@example.com")

    response = login(api_client, username="admin@corp")

    assert response.status_code == 200
    assert AccessToken(response.data["access"])["user_id"] == str(staff.pk)


# --- /api/token/refresh/ -------------------------------------------------------------------
def test_refresh_rotates_and_blacklists_the_old_token(api_client, grace):
    old_refresh = login(api_client, username="grace").data["refresh"]

    response = api_client.post("/api/token/refresh/", {"refresh": old_refresh})

    assert response.status_code == 200
    assert set(response.data) == {"access", "refresh"}
    assert response.data["refresh"] != old_refresh
    new_refresh = RefreshToken(response.data["refresh"])
    assert OutstandingToken.objects.filter(jti=new_refresh["jti"], user=grace).exists()
    assert BlacklistedToken.objects.filter(token__jti=_jti(old_refresh)).exists()

    again = api_client.post("/api/token/refresh/", {"refresh": response.data["refresh"]})
    assert again.status_code == 200

    reused = api_client.post("/api/token/refresh/", {"refresh": old_refresh})
    assert reused.status_code == 401
    assert reused.data["code"] == "token_not_valid"


def test_a_refresh_sent_again_at_once_gets_the_same_new_token(api_client, grace):
    # Two tabs, or two calls of the storefront whose access token expired together, refresh the
    # same token; or a mobile app resends a refresh whose answer was lost. The first rotates; the
    # second got 401 and signed the user out.
    old_refresh = login(api_client, username="grace").data["refresh"]
    first = api_client.post("/api/token/refresh/", {"refresh": old_refresh})

    second = api_client.post("/api/token/refresh/", {"refresh": old_refresh})

    assert second.status_code == 200, second.data
    assert second.data["refresh"] == first.data["refresh"]
    assert api_client.get("/api/me/", HTTP_AUTHORIZATION=f"Bearer {second.data['access']}").status_code == 200
    assert OutstandingToken.objects.filter(user=grace).count() == 2  # the login's and one rotation


@pytest.mark.parametrize("what", ["window passed", "window off", "successor logged out", "parent logged out"])
def test_a_rotated_token_is_refused_outside_the_reuse_window(api_client, grace, settings, what):
    old_refresh = login(api_client, username="grace").data["refresh"]
    if what == "parent logged out":  # a logout makes no successor
        assert api_client.post("/api/token/blacklist/", {"refresh": old_refresh}).status_code == 200
    else:
        new_refresh = api_client.post("/api/token/refresh/", {"refresh": old_refresh}).data["refresh"]
    if what == "window passed":
        BlacklistedToken.objects.filter(token__jti=_jti(old_refresh)).update(
            blacklisted_at=timezone.now() - timedelta(seconds=31)
        )
    elif what == "window off":
        settings.REFRESH_TOKEN_REUSE_SECONDS = 0
    elif what == "successor logged out":
        assert api_client.post("/api/token/blacklist/", {"refresh": new_refresh}).status_code == 200

    response = api_client.post("/api/token/refresh/", {"refresh": old_refresh})

    assert response.status_code == 401
    assert response.data["code"] == "token_not_valid"


def test_logout_with_a_token_another_tab_just_rotated_signs_that_tab_out_too(api_client, grace):
    # Tab A refreshed; tab B, still holding the old token, logs out a moment later. The logout
    # answered 401 and the token tab A got stayed valid, though the user had asked to sign out.
    old_refresh = login(api_client, username="grace").data["refresh"]
    new_refresh = api_client.post("/api/token/refresh/", {"refresh": old_refresh}).data["refresh"]

    response = api_client.post("/api/token/blacklist/", {"refresh": old_refresh})

    assert response.status_code == 200, response.data
    assert BlacklistedToken.objects.filter(token__jti=_jti(new_refresh)).exists()
    for token in (new_refresh, old_refresh):
        assert api_client.post("/api/token/refresh/", {"refresh": token}).status_code == 401
    again = api_client.post("/api/token/blacklist/", {"refresh": old_refresh})
    assert (again.status_code, again.data["code"]) == (401, "token_not_valid")


def test_a_logout_that_waited_for_a_refresh_of_its_token_still_signs_out(api_client, grace, monkeypatch):
    # The refresh takes the token's row lock first and rotates it; the logout, checking the token
    # again under the lock, found it blacklisted and answered 401, leaving the new token valid.
    from users import serializers as user_serializers

    old_refresh = login(api_client, username="grace").data["refresh"]
    real_lock = user_serializers._outstanding_token_lock
    rotated = {}

    def a_refresh_gets_there_first(token):
        monkeypatch.setattr(user_serializers, "_outstanding_token_lock", real_lock)
        refresh = user_serializers.RefreshSerializer(data={"refresh": old_refresh})
        refresh.is_valid(raise_exception=True)
        rotated["refresh"] = refresh.validated_data["refresh"]
        real_lock(token)

    monkeypatch.setattr(user_serializers, "_outstanding_token_lock", a_refresh_gets_there_first)

    response = api_client.post("/api/token/blacklist/", {"refresh": old_refresh})

    assert response.status_code == 200, response.data
    assert BlacklistedToken.objects.filter(token__jti=_jti(rotated["refresh"])).exists()
    assert api_client.post("/api/token/refresh/", {"refresh": rotated["refresh"]}).status_code == 401


def test_logout_with_a_token_rotated_long_ago_is_401_as_before(api_client, grace):
    old_refresh = login(api_client, username="grace").data["refresh"]
    new_refresh = api_client.post("/api/token/refresh/", {"refresh": old_refresh}).data["refresh"]
    BlacklistedToken.objects.filter(token__jti=_jti(old_refresh)).update(
        blacklisted_at=timezone.now() - timedelta(seconds=31)
    )

    response = api_client.post("/api/token/blacklist/", {"refresh": old_refresh})

    assert (response.status_code, response.data["code"]) == (401, "token_not_valid")
    assert api_client.post("/api/token/refresh/", {"refresh": new_refresh}).status_code == 200


def test_the_reuse_window_does_not_outlive_a_password_change(api_client, grace):
    old_refresh = login(api_client, username="grace").data["refresh"]
    assert api_client.post("/api/token/refresh/", {"refresh": old_refresh}).status_code == 200
    grace.set_password("Set-by-staff-42")  # no blacklisting: the claim must refuse it
    grace.save()

    response = api_client.post("/api/token/refresh/", {"refresh": old_refresh})

    assert response.status_code == 401


def _jti(token: str) -> str:
    from rest_framework_simplejwt.tokens import UntypedToken

    return UntypedToken(token, verify=False)["jti"]


def test_refresh_rejects_a_logged_out_token(api_client, grace):
    refresh = login(api_client, username="grace").data["refresh"]
    assert api_client.post("/api/token/blacklist/", {"refresh": refresh}).status_code == 200

    response = api_client.post("/api/token/refresh/", {"refresh": refresh})

    assert response.status_code == 401
    assert response.data["code"] == "token_not_valid"


@pytest.mark.parametrize("token", ["garbage", "a.b.c"])
def test_refresh_rejects_garbage(api_client, token):
    response = api_client.post("/api/token/refresh/", {"refresh": token})

    assert response.status_code == 401
    assert response.data == {"detail": "Token is invalid", "code": "token_not_valid"}


def test_refresh_rejects_an_access_token(api_client, grace):
    access = login(api_client, username="grace").data["access"]

    response = api_client.post("/api/token/refresh/", {"refresh": access})

    assert response.status_code == 401


def test_refresh_missing_field_is_400(api_client):
    response = api_client.post("/api/token/refresh/", {})

    assert response.status_code == 400
    assert "refresh" in response.data


def test_refresh_for_a_deactivated_user_is_401(api_client, grace):
    refresh = login(api_client, username="grace").data["refresh"]
    grace.is_active = False
    grace.save()

    response = api_client.post("/api/token/refresh/", {"refresh": refresh})

    assert response.status_code == 401
    assert response.data["code"] == "no_active_account"


def test_refresh_for_a_deleted_user_is_401_not_500(api_client, grace):
    refresh = login(api_client, username="grace").data["refresh"]
    grace.delete()

    response = api_client.post("/api/token/refresh/", {"refresh": refresh})

    assert response.status_code == 401
    assert response.data["code"] == "no_active_account"


@pytest.mark.parametrize("url", ["/api/token/refresh/", "/api/web/token/refresh/"])
def test_refresh_of_a_token_issued_before_the_password_changed_is_401(api_client, grace, url):
    # A password set outside the change and reset endpoints (the admin's form, a rehash after a
    # Django upgrade) blacklists no refresh token: its revoke claim is what must refuse it. The
    # refresh answered 200 before, with access tokens that every call then refused.
    refresh = login(api_client, username="grace").data["refresh"]
    grace.set_password("Set-by-staff-42")
    grace.save()

    response = api_client.post(url, {"refresh": refresh})

    assert response.status_code == 401, response.data
    assert response.data["code"] == "token_not_valid"
    assert not BlacklistedToken.objects.exists()


# --- /api/token/verify/ --------------------------------------------------------------------
def test_verify_accepts_valid_tokens(api_client, grace):
    pair = login(api_client, username="grace").data

    for token in (pair["access"], pair["refresh"]):
        response = api_client.post("/api/token/verify/", {"token": token})
        assert response.status_code == 200
        assert response.data == {}


def test_verify_rejects_invalid_and_blacklisted_tokens(api_client, grace):
    refresh = login(api_client, username="grace").data["refresh"]
    api_client.post("/api/token/blacklist/", {"refresh": refresh})

    for token in ("garbage", refresh):
        response = api_client.post("/api/token/verify/", {"token": token})
        assert response.status_code == 401, token
        assert response.data["code"] == "token_not_valid"


def test_verify_rejects_the_tokens_of_a_deactivated_or_deleted_user(api_client, grace):
    """Authentication would refuse them (401 `user_inactive`), so verify does not call them valid."""
    pair = login(api_client, username="grace").data
    grace.is_active = False
    grace.save(update_fields=["is_active"])
    for token in (pair["access"], pair["refresh"]):
        response = api_client.post("/api/token/verify/", {"token": token})
        assert response.status_code == 401, token
        assert response.data["code"] == "token_not_valid"

    grace.delete()
    response = api_client.post("/api/token/verify/", {"token": pair["access"]})
    assert response.status_code == 401


def test_verify_missing_token_is_400(api_client):
    response = api_client.post("/api/token/verify/", {})

    assert response.status_code == 400
    assert "token" in response.data


# --- /api/token/blacklist/ ----------------------------------------------------------------
def test_logout_blacklists_the_refresh_token(api_client, grace):
    refresh = login(api_client, username="grace").data["refresh"]

    response = api_client.post("/api/token/blacklist/", {"refresh": refresh})

    assert response.status_code == 200
    assert response.data == {}
    assert BlacklistedToken.objects.filter(token__jti=_jti(refresh), token__user=grace).exists()


def test_logout_with_an_invalid_or_used_token_is_401(api_client, grace):
    refresh = login(api_client, username="grace").data["refresh"]
    api_client.post("/api/token/blacklist/", {"refresh": refresh})

    for token in (refresh, "garbage"):
        response = api_client.post("/api/token/blacklist/", {"refresh": token})
        assert response.status_code == 401
        assert response.data["code"] == "token_not_valid"
    assert BlacklistedToken.objects.count() == 1


def test_logout_missing_field_is_400(api_client):
    response = api_client.post("/api/token/blacklist/", {})

    assert response.status_code == 400
    assert "refresh" in response.data


# --- Clean-up (beat, daily) ------------------------------------------------------------------
def test_flush_deletes_expired_refresh_and_reset_tokens_and_keeps_live_ones(grace):
    live = RefreshToken.for_user(grace)
    used = RefreshToken.for_user(grace)
    used.blacklist()
    OutstandingToken.objects.filter(jti=used["jti"]).update(expires_at=timezone.now() - timedelta(seconds=1))
    now = timezone.now()
    PasswordResetToken.objects.create(user=grace, token_hash="a" * 64, expires_at=now - timedelta(seconds=1))
    fresh = PasswordResetToken.objects.create(
        user=grace, token_hash="b" * 64, expires_at=now + timedelta(hours=1)
    )

    assert flush_expired_tokens.apply().get() == 1

    assert list(OutstandingToken.objects.values_list("jti", flat=True)) == [live["jti"]]
    assert not BlacklistedToken.objects.exists()
    assert list(PasswordResetToken.objects.all()) == [fresh]
    assert tokens_flush_expired() == 0  # nothing left to flush
