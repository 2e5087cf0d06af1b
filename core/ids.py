"""Row ids from clients: the one bound (`MAX_ID`), the one serializer field and the one path helper.

Primary keys are PostgreSQL `bigint`: a larger number would be a database error (a 500), so an
id outside 1..MAX_ID is refused where it enters: 400 in a body (`id_field`), 404 in a path
(`path_id`, since no such row can exist).
"""

from __future__ import annotations

from rest_framework import serializers

MAX_ID = 2**63 - 1


def id_field(**kwargs) -> serializers.IntegerField:
    """A body field holding a row id (1..MAX_ID)."""
    return serializers.IntegerField(min_value=1, max_value=MAX_ID, **kwargs)


def path_id(raw: int | str, what: str) -> int:
    """A path segment as a row id; anything that cannot be one is 404 `{what} not found.`."""
    from .exceptions import NotFound  # here: authentication imports this module, and exceptions imports DRF's

    text = str(raw)
    if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= MAX_ID:
        raise NotFound(f"{what} not found.")
    return int(text)


def as_id(value: object) -> int | None:
    """`value` as a positive 64-bit id, else None: an int, or a string as a URL gives it, read with
    `int()` as the ORM's integer lookups read it (so exactly the ids the ORM would find)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        try:
            value = int(value)
        except ValueError:
            return None
    if isinstance(value, int) and 0 < value <= MAX_ID:
        return value
    return None
