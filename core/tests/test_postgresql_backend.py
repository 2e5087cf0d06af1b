"""`core.postgresql`: the per-request health check of a kept connection skips Django's `SELECT 1`
when the connection's socket is quiet, and still replaces a connection the server closed; and
timestamps are loaded by psycopg's compiled loader into the datetimes Django's loader gives."""

import datetime
import os
import select
import time

import pytest
from django.db import connection, connections
from django.db.backends.postgresql.psycopg_any import get_adapters_template, register_tzloader
from django.utils import timezone
from psycopg.pq import Format

from core.postgresql import base
from products.models import Category

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


# Timestamps as PostgreSQL returns them (in the session's zone, UTC): microseconds and none, the
# first and the last day PostgreSQL and Python share, a leap day, an offset given in the literal.
TIMESTAMPS_SQL = """SELECT '2026-12-07 14:01:23.123456+00'::timestamptz,
    '2026-12-07 14:01:23+00'::timestamptz, '0001-01-01 00:00:00+00'::timestamptz,
    '9999-12-31 23:59:59.999999+00'::timestamptz, '1970-01-01 00:00:00+00'::timestamptz,
    '2024-02-29 12:00:00.5+05:30'::timestamptz, NULL::timestamptz"""


@pytest.fixture
def compiled_loader():
    """psycopg's compiled implementation (psycopg[binary] or psycopg[c]) is there: requirements.txt
    installs it, so under REQUIRE_POSTGRES=1 (CI) its absence fails; elsewhere (a pure-Python
    psycopg, PSYCOPG_IMPL=python) the tests that need it are skipped."""
    if base.COMPILED_TIMESTAMPTZ_LOADER is None:
        message = "needs psycopg's compiled implementation (psycopg[binary] or psycopg[c])"
        if os.environ.get("REQUIRE_POSTGRES", "").lower() in ("1", "true", "yes"):
            pytest.fail(message)
        pytest.skip(message)


def read_timestamps(*, djangos_loader: bool = False, sql: str = TIMESTAMPS_SQL) -> tuple:
    with connection.cursor() as cursor:
        if djangos_loader:  # what Django's own backend registers for a UTC connection
            register_tzloader(datetime.UTC, cursor.cursor)
        cursor.execute(sql)
        return cursor.fetchone()


def loader_class(cursor_or_connection):
    return cursor_or_connection.adapters.get_loader(base.TIMESTAMPTZ_OID, Format.TEXT)


def test_timestamps_are_djangos_datetimes_from_the_compiled_loader(compiled_loader):
    expected = read_timestamps(djangos_loader=True)
    got = read_timestamps()
    assert got == expected
    assert expected[0] == datetime.datetime(2026, 12, 7, 14, 1, 23, 123456, tzinfo=datetime.UTC)
    assert expected[5] == datetime.datetime(2024, 2, 29, 6, 30, 0, 500000, tzinfo=datetime.UTC)
    assert got[-1] is None
    assert [value.tzinfo for value in got[:-1]] == [datetime.UTC] * 6
    assert all(value.tzinfo is datetime.UTC for value in got[:-1])
    with connection.cursor() as cursor:
        # The connection's loader is this module's, and Django's cursor keeps it (no copy per cursor).
        assert loader_class(connection.connection) is base.UTCTimestamptzLoader
        assert loader_class(cursor.cursor) is base.UTCTimestamptzLoader
        cursor.execute(TIMESTAMPS_SQL)
        loader = cursor.cursor._tx.get_loader(base.TIMESTAMPTZ_OID, Format.TEXT)
        assert loader.load.__self__.__class__ is base.COMPILED_TIMESTAMPTZ_LOADER  # psycopg's own


def test_a_saved_timestamp_reads_back_equal():
    moment = datetime.datetime(2026, 3, 29, 1, 30, 0, 7, tzinfo=datetime.UTC)
    category = Category.objects.create(name="Clocks", slug="clocks")
    Category.objects.filter(pk=category.pk).update(created_at=moment)
    assert Category.objects.get(pk=category.pk).created_at == moment
    read = Category.objects.values_list("created_at", flat=True).get(pk=category.pk)
    assert read.tzinfo is datetime.UTC
    assert Category.objects.get(pk=category.pk).created_at <= timezone.now()


def test_a_session_in_another_time_zone_gets_djangos_loader(compiled_loader):
    # (Not 9999-12-31 23:59:59 UTC: in Kolkata that is year 10000, which neither loader reads.)
    sql = TIMESTAMPS_SQL.replace("'9999-12-31 23:59:59.999999+00'", "'9999-12-30 23:59:59.999999+00'")
    expected = read_timestamps(djangos_loader=True)
    with connection.cursor() as cursor:
        cursor.execute("SET TIME ZONE 'Asia/Kolkata'")
    try:
        with connection.cursor() as cursor:
            cursor.execute(sql)
            loader = cursor.cursor._tx.get_loader(base.TIMESTAMPTZ_OID, Format.TEXT)
            assert loader.load.__self__.__class__ is base.DjangoUTCLoader
        assert read_timestamps(sql=sql) == read_timestamps(djangos_loader=True, sql=sql)
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SET TIME ZONE 'UTC'")
    assert read_timestamps() == expected


def test_without_the_compiled_implementation_djangos_adapters_stay(monkeypatch):
    monkeypatch.setattr(base, "COMPILED_TIMESTAMPTZ_LOADER", None)
    assert connection.get_connection_params()["context"] is get_adapters_template(True, datetime.UTC)
    monkeypatch.undo()
    if base.COMPILED_TIMESTAMPTZ_LOADER is not None:
        assert connection.get_connection_params()["context"] is base.utc_adapters_template()
