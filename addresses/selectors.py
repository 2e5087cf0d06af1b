"""Address reads. The orders app uses these to pick and copy a shipping address."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from core.exceptions import NotFound

from .models import Address

# The fields an order copies; `district` and `landmark` are kept although the canonical API
# does not show them, so an order made through the storefront profile keeps them too.
SNAPSHOT_FIELDS = (
    "full_name",
    "phone",
    "line1",
    "line2",
    "city",
    "district",
    "state",
    "postal_code",
    "country",
    "landmark",
    "address_type",
)


def address_list(*, user) -> QuerySet[Address]:
    """The user's addresses, the default first, then newest first."""
    return Address.objects.filter(user=user).order_by("-is_default", "-created_at", "-id")


def address_get_for_user(*, user, address_id: int) -> Address:
    """The user's address `address_id`; a missing one or another user's raises `NotFound`."""
    try:
        address_id = int(address_id)
    except (TypeError, ValueError):
        raise NotFound("Address not found.") from None
    if user is None or not getattr(user, "is_authenticated", False):
        raise NotFound("Address not found.")
    address = Address.objects.filter(user=user, pk=address_id).first()
    if address is None:
        raise NotFound("Address not found.")
    return address


def address_snapshot(*, address: Address) -> dict[str, Any]:
    """The copy of an address an order keeps (later edits to the address never change it)."""
    return {field: getattr(address, field) for field in SNAPSHOT_FIELDS}
