"""Trigram (pg_trgm) GIN indexes for `?search=` on PostgreSQL; a no-op on other databases.

Django renders `field__icontains=term` on PostgreSQL as `UPPER("field"::text) LIKE UPPER('%term%')`,
so the indexes are on that exact expression: a plain `gin (name gin_trgm_ops)` index would
not be used. `?search=` ORs four columns, and a bitmap OR needs every branch indexed, so
`description` is indexed too. Terms shorter than three characters cannot use trigrams and fall
back to a scan.

If the database role may not create the extension, the migration logs a warning and leaves
the indexes out: search still works, only slower on large catalogues.
"""

import logging

from django.db import migrations, transaction

logger = logging.getLogger(__name__)

INDEXES = {
    "product_name_trgm": "name",
    "product_brand_trgm": "brand",
    "product_sku_trgm": "sku",
    "product_description_trgm": "description",
}


def create_trigram_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    table = schema_editor.quote_name(apps.get_model("products", "Product")._meta.db_table)
    try:
        with transaction.atomic(using=schema_editor.connection.alias):
            schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    except Exception as exc:  # permission denied, extension not installed on the server
        logger.warning("pg_trgm unavailable, search indexes not created: %s", exc)
        return
    for name, column in INDEXES.items():
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {schema_editor.quote_name(name)} ON {table} "
            f"USING gin ((UPPER({schema_editor.quote_name(column)}::text)) gin_trgm_ops)"
        )


def drop_trigram_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {schema_editor.quote_name(name)}")
    # The extension stays: other objects may use it, and it is harmless.


class Migration(migrations.Migration):
    dependencies = [
        ("products", "0002_initial"),
    ]

    operations = [
        migrations.RunPython(create_trigram_indexes, drop_trigram_indexes),
    ]
