import pytest
from django.contrib.auth.hashers import check_password
from django.db import IntegrityError, transaction

from users import services
from users.models import User
from users.tests.factories import DEFAULT_PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

URL = "/api/register/"
GOOD_PASSWORD = "Correct-Horse-42"


def test_register_creates_user_and_returns_public_fields(api_client):
    response = api_client.post(
        URL,
        {
            "email": "Alice@Example.COM",
            "password": GOOD_PASSWORD,
            "first_name": "Alice",
            "last_name": "Liddell",
        },
    )

    assert response.status_code == 201, response.data
    user = User.objects.get()
    assert response.data == {
        "id": user.pk,
        "email": "Alice@example.com",  # the domain is normalised, the local part kept
        "username": "Alice",
        "first_name": "Alice",
        "last_name": "Liddell",
    }
    assert "password" not in response.data
    assert user.check_password(GOOD_PASSWORD)
    assert user.password != GOOD_PASSWORD
    assert user.is_active and not user.is_staff and not user.is_superuser


def test_register_with_explicit_username(api_client):
    response = api_client.post(
        URL, {"email": "bob@example.com", "password": GOOD_PASSWORD, "username": "bobby"}
    )

    assert response.status_code == 201
    assert response.data["username"] == "bobby"
    assert User.objects.get(email="bob@example.com").username == "bobby"


def test_blank_username_is_derived_from_the_email(api_client):
    response = api_client.post(URL, {"email": "carol@example.com", "password": GOOD_PASSWORD, "username": ""})

    assert response.status_code == 201
    assert response.data["username"] == "carol"


def test_default_username_gets_a_number_when_taken(api_client):
    UserFactory(username="dave", email="dave@other.org")
    UserFactory(username="Dave1", email="dave1@other.org")

    response = api_client.post(URL, {"email": "dave@example.com", "password": GOOD_PASSWORD})

    assert response.status_code == 201
    assert response.data["username"] == "dave2"


def test_default_username_drops_characters_usernames_cannot_hold(api_client):
    response = api_client.post(URL, {"email": "o'neil!#x@example.com", "password": GOOD_PASSWORD})

    assert response.status_code == 201, response.data
    assert response.data["username"] == "oneilx"


@pytest.mark.parametrize("email", ["erin@example.com", "ERIN@example.com", "Erin@EXAMPLE.com"])
def test_duplicate_email_is_rejected_case_insensitively(api_client, email):
    UserFactory(email="erin@example.com", username="erin")

    response = api_client.post(URL, {"email": email, "password": GOOD_PASSWORD})

    assert response.status_code == 400
    assert list(response.data) == ["email"]
    assert User.objects.count() == 1


@pytest.mark.parametrize("username", ["frank", "FRANK"])
def test_duplicate_username_is_rejected_case_insensitively(api_client, username):
    UserFactory(username="frank")

    response = api_client.post(
        URL, {"email": "new@example.com", "password": GOOD_PASSWORD, "username": username}
    )

    assert response.status_code == 400
    assert list(response.data) == ["username"]
    assert not User.objects.filter(email="new@example.com").exists()


@pytest.mark.parametrize("username", ["has space", "at@sign", "x" * 151])
def test_invalid_username_is_rejected(api_client, username):
    response = api_client.post(
        URL, {"email": "new@example.com", "password": GOOD_PASSWORD, "username": username}
    )

    assert response.status_code == 400
    assert "username" in response.data
    assert not User.objects.exists()


@pytest.mark.parametrize(
    "password",
    ["short1!", "password123", "12345678901", "gracehopper@example.com"],
    ids=["too-short", "common", "numeric", "similar-to-email"],
)
def test_password_validators_apply(api_client, password):
    response = api_client.post(URL, {"email": "gracehopper@example.com", "password": password})

    assert response.status_code == 400
    assert list(response.data) == ["password"]
    assert response.data["password"]
    assert not User.objects.exists()


@pytest.mark.parametrize(
    "payload, field",
    [
        ({"password": GOOD_PASSWORD}, "email"),
        ({"email": "not-an-email", "password": GOOD_PASSWORD}, "email"),
        ({"email": "ok@example.com"}, "password"),
        ({"email": "ok@example.com", "password": GOOD_PASSWORD, "first_name": "x" * 151}, "first_name"),
    ],
)
def test_bad_input_is_400_with_the_field(api_client, payload, field):
    response = api_client.post(URL, payload)

    assert response.status_code == 400
    assert field in response.data
    assert not User.objects.exists()


def test_all_field_errors_are_reported_together(api_client):
    UserFactory(email="taken@example.com", username="taken")

    response = api_client.post(URL, {"email": "TAKEN@example.com", "username": "Taken", "password": "123"})

    assert response.status_code == 400
    assert set(response.data) == {"email", "username", "password"}


def test_password_is_kept_verbatim_including_spaces(api_client):
    password = "  spaced out passphrase  "
    response = api_client.post(URL, {"email": "space@example.com", "password": password})

    assert response.status_code == 201
    user = User.objects.get(email="space@example.com")
    assert user.check_password(password)
    assert not user.check_password(password.strip())


def test_register_ignores_privilege_fields(api_client):
    response = api_client.post(
        URL,
        {"email": "sneaky@example.com", "password": GOOD_PASSWORD, "is_staff": True, "is_superuser": True},
    )

    assert response.status_code == 201
    user = User.objects.get(email="sneaky@example.com")
    assert not user.is_staff and not user.is_superuser


def test_a_stale_bearer_token_does_not_block_registration(api_client):
    api_client.credentials(HTTP_AUTHORIZATION="Bearer not-a-jwt")

    response = api_client.post(URL, {"email": "stale@example.com", "password": GOOD_PASSWORD})

    assert response.status_code == 201


def test_registered_user_can_log_in(api_client):
    api_client.post(URL, {"email": "login@example.com", "password": GOOD_PASSWORD})

    response = api_client.post("/api/token/", {"email": "login@example.com", "password": GOOD_PASSWORD})

    assert response.status_code == 200
    assert set(response.data) == {"access", "refresh"}


# --- Database constraint and the race the pre-checks cannot see ------------------------------
def test_database_refuses_emails_differing_only_in_case():
    UserFactory(email="case@example.com", username="one")
    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.create(email="CASE@example.com", username="two")


def test_database_refuses_usernames_differing_only_in_case():
    UserFactory(username="Casey", email="c1@example.com")
    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.create(email="c2@example.com", username="casey")


def test_email_race_lost_at_the_insert_is_a_400_not_a_500(api_client, monkeypatch):
    """Simulates a concurrent registration committing between the pre-check and the insert: the
    pre-check says the email is free, the unique constraint then refuses it."""
    UserFactory(email="race@example.com", username="winner")
    real_taken = services.user_email_taken
    calls = []

    def stale_first_check(*, email):
        calls.append(email)
        return False if len(calls) == 1 else real_taken(email=email)

    monkeypatch.setattr(services, "user_email_taken", stale_first_check)

    response = api_client.post(URL, {"email": "RACE@example.com", "password": GOOD_PASSWORD})

    assert response.status_code == 400
    assert list(response.data) == ["email"]
    assert len(calls) == 2
    assert User.objects.count() == 1


def test_default_username_race_picks_another_name(monkeypatch):
    """A concurrent registration took the derived username between its choice and the insert."""
    real_derive = services._username_from_email
    derived = []

    def derive_then_steal(email):
        name = real_derive(email)
        if not derived:
            UserFactory(username=name, email="thief@example.com")
        derived.append(name)
        return name

    monkeypatch.setattr(services, "_username_from_email", derive_then_steal)

    user = services.user_create(email="henry@example.com", password=GOOD_PASSWORD)

    assert derived == ["henry", "henry1"]
    assert user.username == "henry1"
    assert check_password(GOOD_PASSWORD, User.objects.get(pk=user.pk).password)


def test_user_create_service_defaults(db):
    user = services.user_create(email="svc@example.com", password=DEFAULT_PASSWORD)

    assert user.pk is not None
    assert (user.username, user.first_name, user.last_name) == ("svc", "", "")


# --- One case rule: LOWER(), as the unique constraints compare --------------------------------
KELVIN_SIGN = "\u212a"  # lowers to "k", but upper-cases to itself
DOTLESS_I = "\u0131"  # upper-cases to "I", but lowers to itself


@pytest.mark.postgres
@pytest.mark.parametrize("url", [URL, "/api/web/register/"])
def test_a_username_or_email_equal_to_a_taken_one_under_lower_is_a_400(api_client, url):
    # PostgreSQL's UPPER() leaves the Kelvin sign alone while LOWER() makes it "k": a check by
    # __iexact (UPPER) passed, then the constraint (LOWER) refused the insert: a 500.
    UserFactory(username="kate", email="kim@example.com")

    by_username = api_client.post(
        url, {"email": "other@example.com", "username": f"{KELVIN_SIGN}ate", "password": GOOD_PASSWORD}
    )
    by_email = api_client.post(url, {"email": f"{KELVIN_SIGN}im@example.com", "password": GOOD_PASSWORD})

    assert by_username.status_code == 400, by_username.content
    assert by_username.json() == {"username": [services.USERNAME_TAKEN]}
    assert by_email.status_code == 400, by_email.content
    assert by_email.json() == {"email": [services.EMAIL_TAKEN]}
    assert User.objects.count() == 1


@pytest.mark.postgres
def test_addresses_distinct_under_lower_are_distinct_accounts_for_every_lookup(
    api_client, mailoutbox, django_capture_on_commit_callbacks
):
    # UPPER() makes a dotless i an "I", so by __iexact the address below was "taken" by ivan's, and a
    # login or reset for ivan's address could find the other account once both existed.
    ivan = UserFactory(username="ivan", email="ivan@example.com")
    other_email = f"{DOTLESS_I}van@example.com"

    registered = api_client.post(URL, {"email": other_email, "password": GOOD_PASSWORD})
    assert registered.status_code == 201, registered.content

    login = api_client.post("/api/token/", {"email": "IVAN@example.com", "password": DEFAULT_PASSWORD})
    assert login.status_code == 200, login.content
    me = api_client.get("/api/me/", HTTP_AUTHORIZATION=f"Bearer {login.data['access']}")
    assert me.json()["id"] == ivan.pk

    with django_capture_on_commit_callbacks(execute=True):
        api_client.post("/api/password-reset/", {"email": "ivan@example.com"})
    assert [message.to for message in mailoutbox] == [["ivan@example.com"]]


@pytest.mark.postgres
def test_a_derived_username_taken_under_lower_gets_a_number(api_client):
    UserFactory(username="kim", email="kim@example.com")

    response = api_client.post(URL, {"email": f"{KELVIN_SIGN}im@example.org", "password": GOOD_PASSWORD})

    assert response.status_code == 201, response.content
    assert response.json()["username"] == f"{KELVIN_SIGN}im1"
