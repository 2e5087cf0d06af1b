"""`core.postgresql`: the per-request health check of a kept connection skips Django's `SELECT 1`
when the connection's socket is quiet, and still replaces a connection the server closed."""

import select
import time

import pytest
from django.db import connection, connections

from core.postgresql import base

from .pg_helpers import plain_connection

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def checks(monkeypatch):
    """Counts Django's own health checks (`is_usable`, the `SELECT 1`)."""
    calls = []
    real = connection.is_usable

    def counted():
        calls.append(1)
        return real()

    monkeypatch.setattr(connection, "is_usable", counted)
    return calls


def backend_pid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def new_request() -> None:
    """What Django does when a request starts (and ends): the kept connection is due a check."""
    connection.close_if_unusable_or_obsolete()


def test_the_backend_is_in_use_with_health_checks_on():
    assert type(connections["default"]) is base.DatabaseWrapper
    assert connection.vendor == "postgresql"
    assert connection.settings_dict["CONN_HEALTH_CHECKS"] is True


def test_a_quiet_kept_connection_is_reused_without_a_round_trip(checks):
    pid = backend_pid()
    for _ in range(3):
        new_request()
        assert connection.health_check_done is False
        assert backend_pid() == pid  # the same connection, and it works
    assert checks == []


def test_a_connection_the_server_closed_is_checked_and_replaced(checks):
    pid = backend_pid()
    with plain_connection() as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", [pid])
    poller = select.poll()
    poller.register(connection.connection.fileno(), select.POLLIN)
    deadline = time.monotonic() + 5
    while not poller.poll(100) and time.monotonic() < deadline:
        pass  # the server's FATAL and FIN reach the socket

    new_request()
    assert backend_pid() != pid  # a new connection, no error for the request
    assert checks == [1]  # Django's SELECT 1 ran, failed, and the connection was replaced


def test_without_poll_every_request_takes_djangos_check(checks, monkeypatch):
    monkeypatch.setattr(base, "_POLL", None)
    backend_pid()
    for _ in range(2):
        new_request()
        backend_pid()
    assert checks == [1, 1]
