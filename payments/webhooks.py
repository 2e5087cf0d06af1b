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
import time
from collections.abc import Callable
from typing import Any

import stripe
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from core.exceptions import ApplicationError

from . import gateway, services
from .models import Payment, WebhookEvent

logger = logging.getLogger(__name__)


class WebhookSignatureInvalid(ApplicationError):
    default_code = "invalid_signature"
    default_message = "The Stripe-Signature header is missing, invalid or too old."


class WebhookPayloadInvalid(ApplicationError):
    default_code = "invalid_payload"
    default_message = "The webhook body is not a Stripe event."


def _signature_timestamp(signature: str) -> int | None:
    for item in signature.split(","):
        key, _, value = item.strip().partition("=")
        if key == "t":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def webhook_event_verify(*, payload: bytes, signature: str | None) -> dict[str, Any]:
    """Check `Stripe-Signature` on the raw body against `STRIPE_WEBHOOK_SECRET` (within
    `STRIPE_WEBHOOK_TOLERANCE` seconds, in the past or in the future) and return the event as a
    plain dict."""
    if not signature:
        raise WebhookSignatureInvalid("The Stripe-Signature header is missing.")
    # The SDK refuses timestamps older than the tolerance only; one from the future is as suspect
    # (a signature made ahead of time with a leaked secret, replayable until then).
    tolerance = settings.STRIPE_WEBHOOK_TOLERANCE
    timestamp = _signature_timestamp(signature)
    if tolerance and timestamp is not None and timestamp > time.time() + tolerance:
        raise WebhookSignatureInvalid("The Stripe-Signature timestamp is in the future.")
    try:
        stripe.Webhook.construct_event(
            payload, signature, settings.STRIPE_WEBHOOK_SECRET, tolerance=settings.STRIPE_WEBHOOK_TOLERANCE
        )
    except stripe.SignatureVerificationError:
        raise WebhookSignatureInvalid()
    except (ValueError, TypeError, AttributeError, RecursionError):
        # Correctly signed but not a JSON event object (bad UTF-8 or JSON is a ValueError, JSON
        # nested past the stack a RecursionError).
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
    """Pay the order only on Stripe's word, not the event's: the event names the PaymentIntent,
    and the intent is read back from Stripe (with our secret key) for its status, amount,
    currency and order. A correctly signed event (say, made with a leaked webhook secret) that
    claims more than Stripe holds pays nothing. Stripe unreachable: `PaymentProviderError` (502)
    rolls the event's record back, so Stripe delivers it again later."""
    payment_intent_id = str(obj.get("id") or "")
    if not payment_intent_id or not Payment.objects.filter(payment_intent_id=payment_intent_id).exists():
        logger.warning("payment_intent.succeeded for unknown PaymentIntent %s", payment_intent_id or "?")
        return
    try:
        intent = gateway.payment_intent_as_stripe_holds_it(payment_intent_id)
    except gateway.StripeObjectMissing:
        logger.warning(
            "payment_intent.succeeded for %s, which Stripe does not know: ignored", payment_intent_id
        )
        return
    if intent.get("status") != "succeeded":
        logger.warning(
            "payment_intent.succeeded for %s, which Stripe holds in status %s: ignored",
            payment_intent_id,
            intent.get("status"),
        )
        return
    received = intent.get("amount_received")
    if received is None:  # older API versions (and the fake) only have `amount`
        received = intent.get("amount")
    services.payment_mark_succeeded(
        payment_intent_id=payment_intent_id,
        amount_received_minor=_minor(received),
        currency=str(intent.get("currency") or ""),
        # Every intent we create names its order; one that does not is not ours to settle.
        order_id=str((intent.get("metadata") or {}).get("order_id") or ""),
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
