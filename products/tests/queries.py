"""What query counts depend on the database."""

from django.db import connection


def variants_queries() -> int:
    """The queries a list page or cart read spends on its products' variants: none on PostgreSQL,
    where they come inside the rows' query (`selectors.variants_inline`), one elsewhere."""
    return 0 if connection.vendor == "postgresql" else 1
