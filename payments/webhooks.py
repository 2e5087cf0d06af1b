"""Stripe webhook events: verification, exactly-once recording, and dispatch to payment services.

`EVENT_HANDLERS` is the one table of event type -> service. Every verified event is stored in
`WebhookEvent` (unique `event_id`) in the same transaction as its processing:
- a replay of an event already processed finds its row and changes nothing;
- concurrent deliveries of one event: on PostgreSQL the second insert waits on the unique index
  until the first transaction commits, then fails, and is answered 200 without processing;
- a failure while processing (Stripe down during an automatic refund, a bug) rolls back the
  row together with the work, and the non-2xx answer makes Stripe deliver it again.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

import stripe
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from core.exceptions import ApplicationError

from . import services
from .models import WebhookEvent

logger = logging.getLogger(__name__)


class WebhookSignatureInvalid(ApplicationError):
    default_code = "invalid_signature"
    default_message = "The Stripe-Signature header is missing, invalid or too old."


class WebhookPayloadInvalid(ApplicationError):
    default_code = "invalid_payload"
    default_message = "The webhook body is not a Stripe event."


def webhook_event_verify(*, payload: bytes, signature: str | None) -> dict[str, Any]:
    """Check `Stripe-Signature` on the raw body against `STRIPE_WEBHOOK_SECRET` (within
    `STRIPE_WEBHOOK_TOLERANCE` seconds) and return the event as a plain dict."""
    if not signature:
        raise WebhookSignatureInvalid("The Stripe-Signature header is missing.")
    try:
        stripe.Webhook.construct_event(
            payload, signature, settings.STRIPE_WEBHOOK_SECRET, tolerance=settings.STRIPE_WEBHOOK_TOLERANCE
        )
    except stripe.SignatureVerificationError:
        raise WebhookSignatureInvalid()
    except (ValueError, TypeError, AttributeError):
        # Correctly signed but not a JSON event object (bad UTF-8 or JSON is a ValueError).
        raise WebhookPayloadInvalid()
    event = json.loads(payload)
    if not isinstance(event, dict):
        raise WebhookPayloadInvalid()
    data = event.get("data")
    if (
        not isinstance(event.get("id"), str)
        or not event["id"]
        or not isinstance(event.get("type"), str)
        or not isinstance(data, dict)
        or not isinstance(data.get("object"), dict)
    ):
        raise WebhookPayloadInvalid()
    return event


def _minor(value: Any) -> int | None:
    return services._minor_int(value)


def _on_payment_intent_succeeded(obj: dict[str, Any]) -> None:
    if obj.get("status", "succeeded") != "succeeded":
        logger.warning(
            "payment_intent.succeeded for %s in status %s: ignored", obj.get("id"), obj.get("status")
        )
        return
    received = obj.get("amount_received")
    if received is None:  # older API versions (and the fake) only send `amount`
        received = obj.get("amount")
    services.payment_mark_succeeded(
        payment_intent_id=str(obj.get("id", "")),
        amount_received_minor=_minor(received),
        currency=str(obj.get("currency") or ""),
        order_id=(obj.get("metadata") or {}).get("order_id"),
    )


def _on_payment_intent_failed(obj: dict[str, Any]) -> None:
    error = obj.get("last_payment_error")
    if not isinstance(error, dict):
        error = {}
    message = error.get("message")
    code = error.get("decline_code") or error.get("code")
    reason = str(message or "The payment was declined.")
    if code and str(code) not in reason:
        reason = f"{reason} ({code})"
    services.payment_mark_failed(payment_intent_id=str(obj.get("id", "")), message=reason)


def _on_charge_refunded(obj: dict[str, Any]) -> None:
    payment_intent_id = obj.get("payment_intent")
    if isinstance(payment_intent_id, dict):
        payment_intent_id = payment_intent_id.get("id")
    if not payment_intent_id:
        logger.info("charge.refunded for charge %s without a PaymentIntent: ignored", obj.get("id"))
        return
    captured = obj.get("amount_captured")
    if captured is None:
        captured = obj.get("amount")
    refunds = obj.get("refunds")
    refund_list = refunds.get("data") if isinstance(refunds, dict) else None
    services.payment_refunds_sync(
        payment_intent_id=str(payment_intent_id),
        amount_captured_minor=_minor(captured) or 0,
        amount_refunded_minor=_minor(obj.get("amount_refunded")) or 0,
        currency=str(obj.get("currency") or ""),
        refunds=[r for r in refund_list if isinstance(r, dict)] if isinstance(refund_list, list) else None,
    )


EVENT_HANDLERS: dict[str, Callable[[dict[str, Any]], None]] = {
    "payment_intent.succeeded": _on_payment_intent_succeeded,
    "payment_intent.payment_failed": _on_payment_intent_failed,
    "charge.refunded": _on_charge_refunded,
}


def _stored_copy(event: dict[str, Any]) -> dict[str, Any]:
    """The event as kept for the record, without the PaymentIntent's client secret."""
    obj = event["data"]["object"]
    if "client_secret" not in obj:
        return event
    return {**event, "data": {**event["data"], "object": {**obj, "client_secret": "[redacted]"}}}


def webhook_event_process(*, event: dict[str, Any]) -> WebhookEvent | None:
    """Record and process a verified event once. Returns its row, or None for a duplicate."""
    with transaction.atomic():
        try:
            with transaction.atomic():
                record = WebhookEvent.objects.create(
                    event_id=event["id"][:255], type=event["type"][:100], payload=_stored_copy(event)
                )
        except IntegrityError:
            logger.info("stripe event %s already processed", event["id"])
            return None
        handler = EVENT_HANDLERS.get(event["type"])
        if handler is None:
            logger.info("stripe event %s of type %s ignored", event["id"], event["type"])
        else:
            handler(event["data"]["object"])
        record.processed_at = timezone.now()
        record.save(update_fields=["processed_at"])
        return record
