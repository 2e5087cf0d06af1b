"""Server-side binding and prepared statements on PostgreSQL (`backend/settings.py`,
`core/postgresql/base.py`): the hot reads are prepared after `DB_PREPARE_THRESHOLD` runs, nothing
inside a transaction is, "off" prepares nothing, and a statement a migration made stale is
dropped and run again instead of failing the request."""

import pytest
from django.conf import settings
from django.db import NotSupportedError, connection, transaction
from django.test import override_settings
from rest_framework.test import APIClient

from backend.settings import env_prepare_threshold
from core.postgresql import base
from products.tests.factories import ProductFactory, ProductVariantFactory

from .pg_helpers import plain_connection

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

STATEMENT = "SELECT id, label FROM prep_probe WHERE id = %s"


def prepared(db=connection) -> list[str]:
    """The statements psycopg prepared on this connection (not SQL-level PREPAREs)."""
    with db.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements WHERE NOT from_sql")
        return [row[0] for row in cursor.fetchall()]


def run(sql: str, params, times: int, db=connection) -> list:
    rows = []
    for _ in range(times):
        with db.cursor() as cursor:
            cursor.execute(sql, params)
            rows.append(cursor.fetchall())
    return rows


@pytest.fixture
def probe_table():
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE prep_probe (id integer PRIMARY KEY, label varchar(10))")
        cursor.execute("INSERT INTO prep_probe VALUES (1, 'one'), (2, 'two')")
    yield
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS prep_probe")  # psycopg forgets its statements on DROP


def test_the_settings_turn_server_side_binding_and_preparing_on():
    options = settings.DATABASES["default"]["OPTIONS"]
    assert options["server_side_binding"] is True
    assert connection.features.uses_server_side_binding
    connection.ensure_connection()
    assert isinstance(connection.connection.cursor(), base.PreparingCursor)
    assert connection.connection.prepare_threshold == options["prepare_threshold"]
    assert options["prepare_threshold"] == env_prepare_threshold("DB_PREPARE_THRESHOLD", 5)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, 5),
        ("", 5),
        ("1", 1),
        (" 12 ", 12),
        ("off", None),
        ("OFF", None),
        ("none", None),
        ("false", None),
    ],
)
def test_db_prepare_threshold_reads_a_number_or_off(monkeypatch, value, expected):
    if value is None:
        monkeypatch.delenv("DB_PREPARE_THRESHOLD", raising=False)
    else:
        monkeypatch.setenv("DB_PREPARE_THRESHOLD", value)
    assert env_prepare_threshold("DB_PREPARE_THRESHOLD", 5) == expected


def test_a_statement_is_prepared_once_it_ran_threshold_times(probe_table):
    threshold = connection.connection.prepare_threshold
    assert run(STATEMENT, [1], threshold) == [[(1, "one")]] * threshold
    assert not [sql for sql in prepared() if "prep_probe" in sql]
    assert run(STATEMENT, [2], 1) == [[(2, "two")]]  # other values: the same statement
    assert [sql for sql in prepared() if "prep_probe" in sql] == [
        "SELECT id, label FROM prep_probe WHERE id = $1"
    ]
    assert run(STATEMENT, [1], 2) == [[(1, "one")]] * 2


def test_the_hot_reads_are_prepared_and_answer_the_same():
    product = ProductFactory()
    ProductVariantFactory(product=product)
    client = APIClient()
    with override_settings(CATALOG_CACHE_SECONDS=0):
        first = client.get(f"/api/products/{product.pk}/")
        assert first.status_code == 200
        answers = [client.get(f"/api/products/{product.pk}/").json() for _ in range(8)]
    assert answers == [first.json()] * 8
    assert [sql for sql in prepared() if '"products_productvariant"' in sql and '"products_product"' in sql]


def test_nothing_inside_a_transaction_is_prepared(probe_table):
    with transaction.atomic():
        assert run(STATEMENT, [1], 10) == [[(1, "one")]] * 10
        assert not [sql for sql in prepared() if "prep_probe" in sql]
    assert not [sql for sql in prepared() if "prep_probe" in sql]


def wrapper_with(**options) -> base.DatabaseWrapper:
    settings_dict = {**connection.settings_dict}
    settings_dict["OPTIONS"] = {**settings_dict["OPTIONS"], **options}
    return base.DatabaseWrapper(settings_dict, alias="prepare-options")


def test_off_prepares_nothing(probe_table):
    off = wrapper_with(prepare_threshold=None)
    try:
        assert run(STATEMENT, [1], 10, db=off) == [[(1, "one")]] * 10
        assert off.connection.prepare_threshold is None
        assert prepared(off) == []
    finally:
        off.close()


def test_client_side_binding_prepares_nothing(probe_table):
    """DB_SERVER_SIDE_BINDING=false: Django's own client-side binding cursor, whatever the threshold."""
    client_side = wrapper_with(server_side_binding=False)
    try:
        assert run(STATEMENT, [1], 10, db=client_side) == [[(1, "one")]] * 10
        assert not isinstance(client_side.connection.cursor(), base.PreparingCursor)
        assert prepared(client_side) == []
    finally:
        client_side.close()


def test_a_statement_a_migration_made_stale_is_dropped_and_run_again(probe_table):
    run(STATEMENT, [1], connection.connection.prepare_threshold + 1)
    assert [sql for sql in prepared() if "prep_probe" in sql]
    with plain_connection() as migration:  # another process changes a returned column's type
        migration.execute("ALTER TABLE prep_probe ALTER COLUMN label TYPE varchar(20)")
        migration.execute("UPDATE prep_probe SET label = 'one, longer' WHERE id = 1")

    assert run(STATEMENT, [1], 1) == [[(1, "one, longer")]]
    assert not [sql for sql in prepared() if "prep_probe" in sql]  # dropped, psycopg counts anew
    assert run(STATEMENT, [2], 7) == [[(2, "two")]] * 7
    assert [sql for sql in prepared() if "prep_probe" in sql]


def test_other_refusals_are_raised_and_keep_the_prepared_statements(probe_table):
    run(STATEMENT, [1], connection.connection.prepare_threshold + 1)
    refused = pytest.raises(NotSupportedError, match="FOR UPDATE is not allowed with aggregate functions")
    with refused, connection.cursor() as cursor:  # also SQLSTATE 0A000, not a stale plan
        cursor.execute("SELECT count(*) FROM prep_probe WHERE id > %s FOR UPDATE", [0])
    assert [sql for sql in prepared() if "prep_probe" in sql]  # no DEALLOCATE ALL
    assert run(STATEMENT, [2], 1) == [[(2, "two")]]
