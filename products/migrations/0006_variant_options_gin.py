"""GIN index (jsonb_path_ops) on ProductVariant.options for `?option=Size:M` on PostgreSQL; a
no-op on other databases.

The filter is JSONB containment, `options @> '{"Size": "M"}'`, which a `jsonb_path_ops` GIN
index serves (smaller and faster than the default `jsonb_ops` for `@>`, the only operator used).
Only active variants are ever matched, so the index is partial on `is_active`. Kept out of the
model's `Meta.indexes` (like the trigram indexes of 0003) so SQLite runs the same migrations.
"""

from django.db import migrations

INDEX = "variant_options_gin"


def create_index(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    table = schema_editor.quote_name(apps.get_model("products", "ProductVariant")._meta.db_table)
    schema_editor.execute(
        f"CREATE INDEX IF NOT EXISTS {schema_editor.quote_name(INDEX)} ON {table} "
        "USING gin (options jsonb_path_ops) WHERE is_active"
    )


def drop_index(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(f"DROP INDEX IF EXISTS {schema_editor.quote_name(INDEX)}")


class Migration(migrations.Migration):
    dependencies = [("products", "0005_default_variants")]

    operations = [migrations.RunPython(create_index, drop_index)]
