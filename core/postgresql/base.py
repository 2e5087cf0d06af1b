"""Django's PostgreSQL backend with a health check that costs no round trip when nothing happened.

With persistent connections (`DB_CONN_MAX_AGE`) Django checks a kept connection at each request's
first query (`CONN_HEALTH_CHECKS`) by sending `SELECT 1`: one round trip per request, paid by
every request that touches the database, to find the rare connection the server closed while it
sat idle (a restart, `idle_session_timeout`, PgBouncer's `client_idle_timeout`, a terminated
backend).

A server that closes a connection tells the client: PostgreSQL sends an error (FATAL, e.g.
57P01 `terminating connection due to administrator command`) and closes the socket (FIN), and
PgBouncer closes it; either way the client's socket becomes readable. A healthy idle connection
has nothing to read: every result, up to ReadyForQuery, was read by the query that asked for it.
So the check first polls the socket with a zero timeout, as urllib3 does before reusing a kept-alive
HTTP connection (`is_connection_dropped`): nothing to read, the connection is reused with no round
trip; anything to read (or poll unavailable), Django's own `SELECT 1` check runs and closes the
connection if it fails, exactly as before. Over TLS the same holds (anything the server sent
while the connection sat idle, a TLS record included, makes the socket readable and so takes
Django's check); the poll can only send a connection to the `SELECT 1` it would have had, never
skip one for a socket with something on it. A peer that vanished silently (no FIN, a network
partition) is not seen by either check until a query times out, as with Django's.

Prepared statements (`OPTIONS["prepare_threshold"]`, with server-side binding): psycopg prepares
a statement once it has run `prepare_threshold` times on a connection, so PostgreSQL skips
parsing and planning it from then on. A prepared statement outlives a migration run by another
process, and one that changes the type of a column it returns (a longer `max_length`) makes
PostgreSQL refuse it ("cached plan must not change result type") on every later run on that
connection. So the cursor prepares only statements run in autocommit, every read outside a
transaction, where a refused statement has not run and can be run again: it drops the
connection's prepared statements (`DEALLOCATE ALL`, which psycopg also forgets) and runs the
statement again, once. Statements run inside a transaction are not prepared: a refusal there
would abort the transaction and fail the request. (psycopg's `executemany` prepares its statement
past this guard; nothing in the project calls it.)

Timestamps (`timestamptz` columns): Django registers its own loader for them, a subclass of
psycopg's pure-Python one (a subclass cannot be made of the compiled one), which parses the text in
Python and then replaces the time zone with UTC: about 2 us per value against 0.15 us for
psycopg's compiled loader, 40 values on a list page of 20. The session's time zone is UTC (Django
sets it, `ensure_timezone`) whenever USE_TZ is on, and psycopg's compiled loader then gives the same
datetimes, `tzinfo=datetime.UTC` included; so with USE_TZ, `TIME_ZONE` unset in the
database settings and psycopg's compiled implementation, `UTCTimestamptzLoader` hands each value to
that loader, and to Django's for any session whose time zone is not UTC (then both behave as
Django's alone).

Used for PostgreSQL URLs by `backend/settings.py` (`ENGINE = "core.postgresql"`).
"""

from __future__ import annotations

import datetime
import select
from functools import lru_cache

import psycopg
from django.db.backends.postgresql.base import DatabaseWrapper as PostgreSQLDatabaseWrapper
from django.db.backends.postgresql.base import ServerBindingCursor
from django.db.backends.postgresql.psycopg_any import BaseTzLoader, get_adapters_template
from psycopg import errors
from psycopg.adapt import AdaptersMap, Loader
from psycopg.pq import Format

_POLL = getattr(select, "poll", None)
_READY = select.POLLIN | select.POLLPRI | select.POLLERR | select.POLLHUP if _POLL else 0


def socket_has_news(fileno: int) -> bool:
    """Whether anything (data, an error, a hang-up) waits on the socket; True when it cannot be told."""
    if _POLL is None:
        return True
    poller = _POLL()
    poller.register(fileno, _READY)
    return bool(poller.poll(0))


STALE_PLAN = "cached plan must not change result type"  # PostgreSQL's message, SQLSTATE 0A000


class PreparingCursor(ServerBindingCursor):
    """Django's server-side binding cursor, preparing only in autocommit (see the module's doc)."""

    def execute(self, query, params=None, *, prepare=None, binary=None):
        if not self.connection.autocommit:
            return super().execute(query, params, prepare=False, binary=binary)
        try:
            return super().execute(query, params, prepare=prepare, binary=binary)
        except errors.FeatureNotSupported as error:
            if error.diag.message_primary != STALE_PLAN:
                raise
        self.connection.execute("DEALLOCATE ALL")
        return super().execute(query, params, prepare=prepare, binary=binary)


TIMESTAMPTZ_OID = psycopg.adapters.types["timestamptz"].oid
# psycopg's own text loader for timestamptz: the compiled one with psycopg[binary] or psycopg[c].
COMPILED_TIMESTAMPTZ_LOADER = (
    psycopg.adapters.get_loader(TIMESTAMPTZ_OID, Format.TEXT)
    if psycopg.pq.__impl__ in ("c", "binary")
    else None
)


class DjangoUTCLoader(BaseTzLoader):
    """Django's loader for a UTC connection (what `register_tzloader(datetime.UTC)` makes)."""

    timezone = datetime.UTC


class UTCTimestamptzLoader(Loader):
    """timestamptz -> aware datetime in UTC: psycopg's compiled loader on a session whose time zone
    is UTC, Django's loader on any other (see the module's doc)."""

    # Django's create_cursor compares this with the connection's zone and, when they differ,
    # registers its own loader on the cursor.
    timezone = datetime.UTC

    def __init__(self, oid, context=None):
        super().__init__(oid, context)
        connection = self.connection
        if connection is not None and connection.info.timezone is datetime.UTC:
            loader = COMPILED_TIMESTAMPTZ_LOADER(oid, context)
        else:
            loader = DjangoUTCLoader(oid, context)
        # psycopg's row loaders call `loader.load`: this instance's is the chosen loader's own
        # method (the compiled one's: no Python frame per value).
        self.load = loader.load

    def load(self, data):  # replaced per instance in __init__; a Loader must define it
        raise NotImplementedError


@lru_cache
def utc_adapters_template() -> AdaptersMap:
    """Django's adapters (USE_TZ, UTC) with `UTCTimestamptzLoader` for timestamptz."""
    adapters = AdaptersMap(get_adapters_template(True, datetime.UTC))
    adapters.register_loader("timestamptz", UTCTimestamptzLoader)
    return adapters


class DatabaseWrapper(PostgreSQLDatabaseWrapper):
    def get_connection_params(self):
        params = super().get_connection_params()
        if params.get("cursor_factory") is ServerBindingCursor:
            params["cursor_factory"] = PreparingCursor
        # `timezone` is None without USE_TZ, UTC unless the database settings name another zone.
        if self.timezone is datetime.UTC and COMPILED_TIMESTAMPTZ_LOADER is not None:
            params["context"] = utc_adapters_template()
        return params

    def close_if_health_check_failed(self):
        if (
            self.connection is not None
            and self.health_check_enabled
            and not self.health_check_done
            and not self.pool
            and not self.connection.closed
            and not socket_has_news(self.connection.fileno())
        ):
            self.health_check_done = True  # idle and quiet: nothing closed it
            return
        super().close_if_health_check_failed()
