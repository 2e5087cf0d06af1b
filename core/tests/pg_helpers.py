"""Helpers for the PostgreSQL-only tests of `core.postgresql`."""

import psycopg
from django.db import connection


def plain_connection() -> psycopg.Connection:
    """A psycopg connection (autocommit) to the database Django's `connection` uses, outside Django:
    another process's session, as an admin or a migration would have."""
    params = connection.get_connection_params()
    for key in ("cursor_factory", "context", "prepare_threshold"):
        params.pop(key, None)
    return psycopg.connect(**params, autocommit=True)
