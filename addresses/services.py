"""Address writes and the pincode lookup.

One default per user is enforced by the partial unique index `address_one_default_per_user`.
Every write that can move the default first locks all of the user's address rows in primary-key
order (`_lock_user_addresses`), so concurrent writes for one user queue up behind each other
instead of deadlocking or tripping the index; the old default is always unset before the new one
is set, in the same transaction.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import threading
import time
from typing import Any

import requests
from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from core.exceptions import NotFound, ServiceUnavailable

from .models import Address

logger = logging.getLogger(__name__)

EDITABLE_FIELDS = frozenset(
    {
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
    }
)

PINCODE_RE = re.compile(r"^[A-Za-z0-9]{3,10}\Z")
PINCODE_FOUND_TTL = 60 * 60 * 24  # city/state of a pincode practically never change
PINCODE_NOT_FOUND_TTL = 60 * 10  # short: a provider may learn a new pincode
_NOT_FOUND = "__not_found__"


def _check_fields(fields: dict[str, Any]) -> None:
    unknown = set(fields) - EDITABLE_FIELDS
    if unknown:
        raise TypeError(f"Unknown address fields: {', '.join(sorted(unknown))}")


def _lock_user_addresses(user_id: int) -> list[Address]:
    """Lock the user's address rows in primary-key order (one order for every writer: no deadlocks)."""
    return list(Address.objects.select_for_update().filter(user_id=user_id).order_by("pk"))


def _unset_default(user_id: int) -> None:
    # A fresh statement, not the locked list: under READ COMMITTED it also sees a default that a
    # writer which held the locks before us committed on a row created after our lock snapshot.
    Address.objects.filter(user_id=user_id, is_default=True).update(
        is_default=False, updated_at=timezone.now()
    )


def _address_insert(*, user_id: int, make_default: bool, fields: dict[str, Any]) -> Address:
    _lock_user_addresses(user_id)
    has_default = Address.objects.filter(user_id=user_id, is_default=True).exists()
    is_default = make_default or not has_default
    if is_default and has_default:
        _unset_default(user_id)
    return Address.objects.create(user_id=user_id, is_default=is_default, **fields)


@transaction.atomic
def address_create(*, user, **fields: Any) -> Address:
    """Add an address. The user's first address becomes the default; `is_default=True` moves the default."""
    make_default = bool(fields.pop("is_default", False))
    _check_fields(fields)
    try:
        with transaction.atomic():
            return _address_insert(user_id=user.pk, make_default=make_default, fields=fields)
    except IntegrityError:
        # A user with no address has no row to lock, so two concurrent first addresses can both try
        # to become the default; the loser's insert fails on the unique index once the winner
        # commits. The retry then sees (and locks) the winner's row and behaves like a second address.
        with transaction.atomic():
            return _address_insert(user_id=user.pk, make_default=make_default, fields=fields)


@transaction.atomic
def address_update(*, address: Address, **fields: Any) -> Address:
    """Change an address. `is_default=True` makes it the default; `False` on the default is refused.

    There is always exactly one default while the user has any address, so the default can only
    be moved (set another one), never switched off.
    """
    is_default = fields.pop("is_default", None)
    _check_fields(fields)
    locked = {row.pk: row for row in _lock_user_addresses(address.user_id)}
    current = locked.get(address.pk)
    if current is None:
        raise NotFound("Address not found.")
    if is_default is False and current.is_default:
        raise ValidationError(
            {"is_default": ["The default address cannot be unset; make another address the default instead."]}
        )
    for name, value in fields.items():
        setattr(current, name, value)
    if is_default and not current.is_default:
        _unset_default(current.user_id)
        current.is_default = True
    current.save()
    return current


@transaction.atomic
def address_delete(*, address: Address) -> None:
    """Delete an address; when it was the default, the newest remaining address becomes the default."""
    locked = {row.pk: row for row in _lock_user_addresses(address.user_id)}
    current = locked.get(address.pk)
    if current is None:
        raise NotFound("Address not found.")
    was_default = current.is_default
    current.delete()
    if was_default:
        newest = (
            Address.objects.filter(user_id=address.user_id)
            .order_by("-created_at", "-pk")
            .values("pk")
            .first()
        )
        if newest is not None:
            Address.objects.filter(pk=newest["pk"]).update(is_default=True, updated_at=timezone.now())


@transaction.atomic
def address_set_default(*, user, address_id: int) -> Address:
    """Make the user's address `address_id` the default (another user's or a missing one: `NotFound`)."""
    try:
        address_id = int(address_id)
    except (TypeError, ValueError):
        raise NotFound("Address not found.") from None
    locked = _lock_user_addresses(user.pk)
    target = next((row for row in locked if row.pk == address_id), None)
    if target is None:
        raise NotFound("Address not found.")
    if not target.is_default:
        _unset_default(user.pk)
        target.is_default = True
        target.save(update_fields=["is_default", "updated_at"])
    return target


# --- Pincode lookup -------------------------------------------------------------------------


def _pincode_cache_key(template: str, pincode: str) -> str:
    # The provider is part of the key, so changing PINCODE_LOOKUP_URL never serves the old answers.
    provider = hashlib.sha256(template.encode()).hexdigest()[:12]
    return f"addresses:pincode:{provider}:{pincode}"


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def _pincode_unavailable() -> ServiceUnavailable:
    return ServiceUnavailable("The pincode lookup service is unavailable. Please try again.")


def _pincode_garbled() -> ServiceUnavailable:
    """A provider answering garbage is a broken provider: 503, as when it is down."""
    return ServiceUnavailable("The pincode lookup service answered in an unknown format.")


def _parse_pincode_response(data: Any) -> dict[str, str] | None:
    """`{city, state}` from a provider answer, `None` for "no such pincode".

    Understands a generic `{"city": ..., "state": ...}` and the India Post API
    (`[{"Status": "Success", "PostOffice": [{"District", "State", "Block", "Name"}]}]`).
    Anything else raises `ServiceUnavailable`: a provider answering garbage is a broken provider.
    """
    if isinstance(data, dict):
        if "city" not in data:
            raise _pincode_garbled()
        city = _text(data.get("city"))
        return {"city": city, "state": _text(data.get("state"))} if city else None
    if isinstance(data, list):
        if not data:
            return None
        first = data[0]
        if isinstance(first, dict) and "Status" in first:
            if first["Status"] != "Success":
                return None
            offices = first.get("PostOffice") or []
            if not isinstance(offices, list):
                raise _pincode_garbled()
            for office in offices:
                if not isinstance(office, dict):
                    continue
                city = next(
                    (
                        _text(office.get(name))
                        for name in ("District", "Block", "Name")
                        if _text(office.get(name)) not in ("", "NA")
                    ),
                    "",
                )
                if city:
                    return {"city": city, "state": _text(office.get("State"))}
            return None
    raise _pincode_garbled()


# A provider answer is a few KB (India Post's lists every post office of the pincode).
PINCODE_MAX_BYTES = 256 * 1024
# Lookups waiting on a provider at once, per process: a provider that holds its answers back
# ties up at most this many background threads, never the request threads.
_PINCODE_IN_FLIGHT = threading.BoundedSemaphore(8)


def _pincode_get(url: str, deadline: float) -> dict[str, str] | None:
    """The provider's answer, read within `deadline` (a `time.monotonic()` value) and at most
    PINCODE_MAX_BYTES. `requests`' timeout bounds each socket read, not the call: a provider
    dripping its body byte by byte is cut off here, between reads."""
    budget = max(deadline - time.monotonic(), 0.001)
    with requests.get(url, timeout=budget, headers={"Accept": "application/json"}, stream=True) as response:
        if response.status_code == 404:
            return None
        if not 200 <= response.status_code < 300:
            logger.warning("pincode lookup answered HTTP %s", response.status_code)
            raise _pincode_unavailable()
        body = bytearray()
        for chunk in response.iter_content(chunk_size=8192):
            body += chunk
            if len(body) > PINCODE_MAX_BYTES:
                raise _pincode_garbled()
            if time.monotonic() > deadline:
                raise requests.Timeout("the answer took longer than PINCODE_LOOKUP_TIMEOUT")
    try:
        data = json.loads(body)
    except (ValueError, RecursionError) as exc:  # RecursionError: JSON nested past the stack
        raise _pincode_garbled() from exc
    return _parse_pincode_response(data)


def _pincode_fetch(url: str) -> dict[str, str] | None:
    """`_pincode_get` within PINCODE_LOOKUP_TIMEOUT in all, whatever the provider does: it runs in
    a background thread the request stops waiting for at the deadline, since neither DNS
    resolution nor headers sent a line at a time obey a socket timeout. The thread ends on its
    own (its reads time out); at most 8 run at once per process, and a lookup that finds them
    all busy is 503 at once."""
    timeout = settings.PINCODE_LOOKUP_TIMEOUT
    deadline = time.monotonic() + timeout
    slots = _PINCODE_IN_FLIGHT
    if not slots.acquire(blocking=False):
        logger.warning("pincode lookup refused: every lookup thread is waiting on the provider")
        raise _pincode_unavailable()
    outcome: dict[str, Any] = {}
    done = threading.Event()

    def run() -> None:
        try:
            outcome["result"] = _pincode_get(url, deadline)
        except BaseException as exc:  # handed to the request thread
            outcome["error"] = exc
        finally:
            slots.release()
            done.set()

    threading.Thread(target=run, name="pincode-lookup", daemon=True).start()
    if not done.wait(timeout):
        logger.warning("pincode lookup failed: no answer within %s s", timeout)
        raise _pincode_unavailable()
    error = outcome.get("error")
    if isinstance(error, requests.RequestException):
        logger.warning("pincode lookup failed: %s", error.__class__.__name__)
        raise _pincode_unavailable() from error
    if error is not None:
        raise error
    return outcome["result"]


def pincode_lookup(*, pincode: str) -> dict[str, str]:
    """`{city, state}` for a postal code from the service at `PINCODE_LOOKUP_URL` (cached).

    Raises `ValidationError` for a malformed pincode, `NotFound` when the lookup is not
    configured (code `pincode_lookup_disabled`) or the pincode is unknown, `ServiceUnavailable`
    when the provider is down, slow, or answers garbage (those are not cached).
    """
    pincode = (pincode or "").strip().upper()
    if not PINCODE_RE.fullmatch(pincode):
        raise ValidationError({"pincode": ["Enter a pincode of 3 to 10 letters or digits."]})
    template = settings.PINCODE_LOOKUP_URL
    if not template:
        raise NotFound("Pincode lookup is not configured.", code="pincode_lookup_disabled")
    if "{pincode}" not in template:
        logger.error("PINCODE_LOOKUP_URL has no {pincode} placeholder")
        raise ServiceUnavailable("The pincode lookup service is misconfigured.")

    key = _pincode_cache_key(template, pincode)
    cached = cache.get(key)
    if cached == _NOT_FOUND:
        raise NotFound("No city is known for this pincode.")
    if isinstance(cached, dict):
        return dict(cached)

    result = _pincode_fetch(template.replace("{pincode}", pincode))
    if result is None:
        cache.set(key, _NOT_FOUND, PINCODE_NOT_FOUND_TTL)
        raise NotFound("No city is known for this pincode.")
    cache.set(key, result, PINCODE_FOUND_TTL)
    return result
