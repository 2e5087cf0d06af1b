"""PostgreSQL's server-side limits (DB_LOCK_TIMEOUT, DB_STATEMENT_TIMEOUT): a request never waits
without end on a row another session holds; it answers a retryable 503 and writes nothing."""

import time

import pytest
from django.db import connection
from rest_framework.test import APIClient

from core.tests.pg_helpers import plain_connection
from payments import gateway
from users.models import User
from users.tests.factories import UserFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_the_connection_carries_the_limits():
    with connection.cursor() as cursor:
        cursor.execute("SHOW lock_timeout")
        lock_timeout = cursor.fetchone()[0]
        cursor.execute("SHOW statement_timeout")
        statement_timeout = cursor.fetchone()[0]
    assert (lock_timeout, statement_timeout) == ("15s", "30s")


def test_the_lock_timeout_outlasts_a_stripe_call_made_while_holding_locks():
    # A checkout holds its cart and idempotency-key locks across its Stripe call (up to the
    # gateway's timeout); a duplicate with the same Idempotency-Key waits for them and then replays
    # the first answer. With 5 s it got a 503 when Stripe took 7 s (a regression audit).
    with connection.cursor() as cursor:
        cursor.execute("SHOW lock_timeout")
        lock_timeout = cursor.fetchone()[0]
    assert lock_timeout.endswith("s") and int(lock_timeout[:-1]) > gateway.STRIPE_TIMEOUT_SECONDS


def test_a_write_waiting_on_a_held_row_lock_is_a_retryable_503_after_the_lock_timeout():
    # Without the limit the request waited as long as the other session held the row (an audit saw
    # a checkout wait 120 s, then commit an order for a client that had given up).
    user = UserFactory(first_name="Ada")
    client = APIClient()
    client.force_authenticate(user)
    with connection.cursor() as cursor:  # the request runs on this connection: 1 s, not 15
        cursor.execute("SET lock_timeout = '1s'")
    with plain_connection() as other:
        other.execute("BEGIN")
        other.execute("SELECT 1 FROM users_user WHERE id = %s FOR UPDATE", [user.pk])
        started = time.monotonic()
        response = client.patch("/api/me/", {"first_name": "Grace"}, format="json")
        waited = time.monotonic() - started
        other.execute("ROLLBACK")

    assert response.status_code == 503, response.content
    assert response.json()["code"] == "concurrency_conflict"
    assert "Retry-After" in response
    assert 0.9 < waited < 10
    assert User.objects.get(pk=user.pk).first_name == "Ada"
