"""`Idempotency-Key` support: the same key from the same user replays the first response.

The record is inserted in the same transaction as the work it guards. On PostgreSQL a
concurrent request with the same key blocks on the unique index until the first commits,
then replays its stored response; if the first rolled back (an error), the retry runs anew.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, transaction

from .exceptions import ApplicationError, IdempotencyConflict
from .models import IdempotencyRecord

MAX_KEY_LENGTH = 255


def request_fingerprint(payload: Any) -> str:
    raw = json.dumps(payload, sort_keys=True, cls=DjangoJSONEncoder, default=str)
    return hashlib.sha256(raw.encode()).hexdigest()


def idempotent_call(
    *,
    user,
    scope: str,
    key: str | None,
    payload: Any,
    produce: Callable[[], tuple[int, Any]],
) -> tuple[int, Any]:
    """Run `produce()` (returning `(status, body)`) at most once per (user, scope, key)."""
    if not key:
        return produce()
    if len(key) > MAX_KEY_LENGTH:
        raise ApplicationError(
            f"Idempotency-Key must be at most {MAX_KEY_LENGTH} characters.", code="invalid_idempotency_key"
        )
    fingerprint = request_fingerprint(payload)
    with transaction.atomic():
        try:
            with transaction.atomic():
                record = IdempotencyRecord.objects.create(
                    user=user, scope=scope, key=key, request_hash=fingerprint
                )
        except IntegrityError:
            record = None
        if record is None:
            existing = IdempotencyRecord.objects.get(user=user, scope=scope, key=key)
            if existing.request_hash != fingerprint:
                raise IdempotencyConflict()
            return existing.response_status, existing.response_body
        status_code, body = produce()
        record.response_status = status_code
        record.response_body = json.loads(json.dumps(body, cls=DjangoJSONEncoder))
        record.save(update_fields=["response_status", "response_body"])
        # The stored (JSON-normalised) body, so the first answer and every replay are identical
        # (a Decimal would otherwise render as a number first and as a string on the replay).
        return status_code, record.response_body
