"""The admin sign-in: email or username, the API's auth throttle, django-axes lockout (and its reset
command), without changing what the API's own login answers."""

import pytest
from axes.models import AccessAttempt
from django.core.management import call_command
from django.test import Client
from rest_framework.test import APIClient

from addresses.models import Address
from users.tests.factories import DEFAULT_PASSWORD, UserFactory
from users.throttling import AuthRateThrottle

pytestmark = pytest.mark.django_db

LOGIN_URL = "/admin/login/?next=/admin/"


@pytest.fixture
def staff(db):
    return UserFactory(username="Boss", email="Boss@Example.com", is_staff=True)


@pytest.fixture
def high_auth_rate(monkeypatch):
    # Out of the throttle's way, so these tests see the lockout on its own.
    monkeypatch.setattr(AuthRateThrottle, "rate", "1000/min", raising=False)


def admin_login(client: Client, identifier: str, password: str = DEFAULT_PASSWORD, ip: str = "198.51.100.5"):
    return client.post(LOGIN_URL, {"username": identifier, "password": password}, REMOTE_ADDR=ip)


def signed_in(client: Client) -> bool:
    return client.get("/admin/").status_code == 200


@pytest.mark.parametrize("identifier", ["Boss", "boss", "boss@example.com", "BOSS@EXAMPLE.COM"])
def test_staff_sign_in_to_the_admin_with_email_or_username(staff, high_auth_rate, identifier):
    client = Client()

    response = admin_login(client, identifier)

    assert response.status_code == 302 and response["Location"] == "/admin/"
    assert signed_in(client)


def test_the_login_form_says_email_or_username():
    assert b"Email or username" in Client().get(LOGIN_URL).content


def test_repeated_wrong_passwords_lock_the_account_out(staff, high_auth_rate, settings):
    settings.AXES_FAILURE_LIMIT = 3
    client = Client()
    # Spelling the account differently (email, case) does not buy fresh attempts.
    statuses = [
        admin_login(client, identifier, "wrong-password").status_code
        for identifier in ("boss", "BOSS@example.com", "Boss")
    ]
    assert statuses == [200, 200, 429]  # the form with an error twice, then the lockout

    locked = admin_login(client, "boss@example.com", DEFAULT_PASSWORD, ip="198.51.100.99")

    assert locked.status_code == 429  # locked although the password is right and the address is new
    assert not signed_in(client)

    call_command("axes_reset")

    assert admin_login(client, "boss", DEFAULT_PASSWORD).status_code == 302
    assert signed_in(client)


def test_a_success_before_the_limit_resets_the_count(staff, high_auth_rate, settings):
    settings.AXES_FAILURE_LIMIT = 3
    client = Client()
    for _ in range(2):
        admin_login(client, "boss", "wrong-password")
    assert admin_login(client, "boss").status_code == 302
    client.logout()

    for _ in range(2):
        admin_login(client, "boss", "wrong-password")

    assert admin_login(client, "boss").status_code == 302


def test_the_admin_login_spends_the_api_auth_throttle_bucket(staff, monkeypatch):
    monkeypatch.setattr(AuthRateThrottle, "rate", "3/min", raising=False)
    api = APIClient()
    for _ in range(2):
        assert api.post("/api/token/", {"email": "nobody@example.com", "password": "x"}).status_code == 401
    assert admin_login(Client(), "boss", "wrong-password", ip="127.0.0.1").status_code == 200

    throttled_admin = admin_login(Client(), "boss", DEFAULT_PASSWORD, ip="127.0.0.1")
    throttled_api = api.post("/api/token/", {"email": "boss@example.com", "password": DEFAULT_PASSWORD})

    assert throttled_admin.status_code == 429 and int(throttled_admin["Retry-After"]) > 0
    assert throttled_api.status_code == 429 and throttled_api.json()["code"] == "throttled"
    assert admin_login(Client(), "boss", DEFAULT_PASSWORD, ip="203.0.113.1").status_code == 302  # another IP


def test_an_admin_lockout_leaves_the_api_login_contract_alone(staff, high_auth_rate, settings):
    settings.AXES_FAILURE_LIMIT = 2
    for _ in range(2):
        admin_login(Client(), "boss", "wrong-password", ip="127.0.0.1")
    assert admin_login(Client(), "boss", ip="127.0.0.1").status_code == 429
    api = APIClient()

    wrong = api.post("/api/token/", {"email": "boss@example.com", "password": "wrong-password"})
    right = api.post("/api/token/", {"email": "boss@example.com", "password": DEFAULT_PASSWORD})

    assert wrong.status_code == 401 and set(wrong.json()) == {"detail", "code"}
    assert right.status_code == 200 and set(right.json()) == {"access", "refresh"}


def test_failed_api_logins_count_towards_the_admin_lockout(staff, high_auth_rate, settings):
    settings.AXES_FAILURE_LIMIT = 3
    api = APIClient()
    for _ in range(3):
        assert api.post("/api/token/", {"username": "boss", "password": "wrong"}).status_code == 401
    assert AccessAttempt.objects.filter(username="boss").exists()

    assert admin_login(Client(), "boss", ip="203.0.113.50").status_code == 429


def test_addresses_are_spelled_right_in_the_admin(admin_client):
    assert str(Address._meta.verbose_name_plural) == "addresses"
    assert b"Addresses" in admin_client.get("/admin/").content
    assert b"Addresss" not in admin_client.get("/admin/").content
