"""Races decided by the database: real threads, real connections, PostgreSQL row locks.

Each test holds a transaction open in the main thread, starts a competing request in a
thread, waits until PostgreSQL reports that request as blocked by the main transaction, and
only then commits. So the competing request provably ran its checks before the commit and
must be decided by the constraint or the lock, not by luck of timing.
"""

import hashlib
import threading
import time
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.utils import timezone
from rest_framework.test import APIClient
from rest_framework_simplejwt.token_blacklist.models import OutstandingToken
from rest_framework_simplejwt.tokens import RefreshToken

from users import services
from users.models import PasswordResetToken, User
from users.serializers import RefreshSerializer, _outstanding_token_lock
from users.tests.factories import DEFAULT_PASSWORD, UserFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def wait_until_someone_waits_for_us(timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    with connection.cursor() as cursor:
        while time.monotonic() < deadline:
            cursor.execute(
                "SELECT count(*) FROM pg_locks"
                " WHERE NOT granted AND pg_backend_pid() = ANY(pg_blocking_pids(pid))"
            )
            if cursor.fetchone()[0]:
                return
            time.sleep(0.02)
    raise AssertionError("the competing request never blocked on this transaction")


def post_in_thread(url: str, payload: dict, **headers) -> tuple[threading.Thread, dict]:
    result: dict = {}

    def run():
        from django.db import connection as thread_connection

        try:
            response = APIClient().post(url, payload, format="json", **headers)
            result["status"], result["data"] = response.status_code, response.data
        except Exception as exc:  # surfaced by the assertion in the test
            result["error"] = exc
        finally:
            thread_connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread, result


def test_register_loses_an_email_race_with_a_400():
    with transaction.atomic():
        UserFactory(email="race@example.com", username="first")
        thread, result = post_in_thread(
            "/api/register/", {"email": "RACE@example.com", "password": "Racing-pass-42"}
        )
        wait_until_someone_waits_for_us()
    thread.join(15)

    assert result.get("status") == 400, result
    assert list(result["data"]) == ["email"]
    assert list(User.objects.values_list("username", flat=True)) == ["first"]


def test_register_retries_a_derived_username_taken_concurrently():
    with transaction.atomic():
        UserFactory(email="sam@other.org", username="sam")
        thread, result = post_in_thread(
            "/api/register/", {"email": "sam@example.com", "password": "Racing-pass-42"}
        )
        wait_until_someone_waits_for_us()
    thread.join(15)

    assert result.get("status") == 201, result
    assert result["data"]["username"] == "sam1"
    assert User.objects.get(email="sam@example.com").username == "sam1"


def test_two_confirms_of_one_reset_token_cannot_both_succeed():
    user = UserFactory()
    raw = "the-one-and-only-token"
    PasswordResetToken.objects.create(
        user=user,
        email=user.email,
        token_hash=hashlib.sha256(raw.encode()).hexdigest(),
        expires_at=timezone.now() + timedelta(hours=1),
    )

    with transaction.atomic():
        services.password_reset_confirm(token=raw, password="First-winner-123")
        thread, result = post_in_thread(
            "/api/password-reset/confirm/", {"token": raw, "password": "Second-comer-456"}
        )
        wait_until_someone_waits_for_us()
    thread.join(15)

    assert result.get("status") == 400, result
    assert list(result["data"]) == ["token"]
    user.refresh_from_db()
    assert user.check_password("First-winner-123")
    assert not user.check_password("Second-comer-456")


@pytest.mark.parametrize("reuse_seconds", [30, 0])
def test_a_refresh_token_cannot_be_rotated_twice_concurrently(settings, reuse_seconds):
    # The second use waits for the first one's lock. Within the reuse window it then gets the
    # token the first rotation made; without it, 401. Never a second rotation.
    settings.REFRESH_TOKEN_REUSE_SECONDS = reuse_seconds
    user = UserFactory()
    refresh = str(RefreshToken.for_user(user))

    with transaction.atomic():
        serializer = RefreshSerializer(data={"refresh": refresh})
        serializer.is_valid(raise_exception=True)
        thread, result = post_in_thread("/api/token/refresh/", {"refresh": refresh})
        wait_until_someone_waits_for_us()
    thread.join(15)

    if reuse_seconds:
        assert result.get("status") == 200, result
        assert result["data"]["refresh"] == serializer.validated_data["refresh"]
    else:
        assert result.get("status") == 401, result
        assert result["data"]["code"] == "token_not_valid"
    assert OutstandingToken.objects.filter(user=user).count() == 2  # the token and one rotation


def test_a_logout_waits_for_a_refresh_of_the_same_token_instead_of_deadlocking():
    # The refresh locks the token's row and then writes its blacklist entry; a logout that wrote
    # the same entry first (without the lock) and then waited on the row deadlocked with it.
    user = UserFactory()
    token = RefreshToken.for_user(user)

    with transaction.atomic():
        _outstanding_token_lock(token)  # the refresh's first step
        thread, result = post_in_thread("/api/token/blacklist/", {"refresh": str(token)})
        wait_until_someone_waits_for_us()
        RefreshToken(str(token)).blacklist()  # the refresh's rotation: raised a deadlock before
    thread.join(15)

    assert result.get("status") == 401, result  # the refresh came first: the token was used up
    assert result["data"]["code"] == "token_not_valid"


def test_of_two_concurrent_password_changes_the_second_is_checked_against_the_first():
    user = UserFactory()
    access = str(RefreshToken.for_user(user).access_token)

    with transaction.atomic():
        services.user_change_password(
            user=User.objects.get(pk=user.pk), old_password=DEFAULT_PASSWORD, new_password="First-winner-123"
        )
        thread, result = post_in_thread(
            "/api/me/password/",
            {"old_password": DEFAULT_PASSWORD, "new_password": "Second-comer-456"},
            HTTP_AUTHORIZATION=f"Bearer {access}",
        )
        wait_until_someone_waits_for_us()
    thread.join(15)

    assert result.get("status") == 400, result
    assert list(result["data"]) == ["old_password"]
    user.refresh_from_db()
    assert user.check_password("First-winner-123")
