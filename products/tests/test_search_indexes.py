"""The pg_trgm indexes of migration 0003 exist and match the SQL Django writes for `?search=`."""

import pytest
from django.db import connection

from products.selectors import product_list
from products.tests.factories import ProductFactory
from users.tests.factories import UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

NAMES = {"product_name_trgm", "product_brand_trgm", "product_sku_trgm", "product_description_trgm"}


def test_trigram_indexes_exist():
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname FROM pg_indexes WHERE tablename = 'products_product'")
        names = {row[0] for row in cursor.fetchall()}
    assert names >= NAMES


def test_search_can_use_the_trigram_indexes():
    ProductFactory.create_batch(5)
    staff = UserFactory(is_staff=True)  # no is_active condition: only the trigram indexes can help
    qs = product_list(filters={"search": "kettle"}, user=staff).order_by()
    with connection.cursor() as cursor:
        # Tiny test tables always favour a scan; forbid it to see whether the indexes *can* serve
        # the exact expression Django generates (UPPER(col::text) LIKE UPPER('%term%')).
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_indexscan = off")
        plan = qs.explain()
    assert "BitmapOr" in plan
    for name in NAMES:
        assert name in plan
