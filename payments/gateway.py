"""The one place that talks to Stripe (through the official SDK).

`STRIPE_API_BASE` is read on every call so tests can point the SDK at the localstripe fake.
Every Stripe or network error surfaces as `PaymentProviderError` (502); a Stripe object that
does not exist (`resource_missing`) as its subclass `StripeObjectMissing`, so callers that can
recover from it (a PaymentIntent deleted on Stripe's side) can tell the two apart.
The original Stripe error stays on `__cause__` (for logs and `Payment.last_error`), never in
the API response.
"""

from __future__ import annotations

import functools
import logging
from typing import Any

import stripe
from django.conf import settings

from core.exceptions import PaymentProviderError

logger = logging.getLogger(__name__)

STRIPE_TIMEOUT_SECONDS = 10


class StripeObjectMissing(PaymentProviderError):
    """Stripe answered 404 `resource_missing` for the object asked for."""


@functools.lru_cache(maxsize=8)
def _client(api_key: str, api_base: str) -> stripe.StripeClient:
    return stripe.StripeClient(
        api_key,
        base_addresses={"api": api_base},
        http_client=stripe.RequestsClient(timeout=STRIPE_TIMEOUT_SECONDS),
        max_network_retries=0,
    )


def stripe_client() -> stripe.StripeClient:
    return _client(settings.STRIPE_SECRET_KEY, settings.STRIPE_API_BASE)


def provider_error_message(exc: BaseException) -> str:
    """A short description of the Stripe error behind a `PaymentProviderError`, for our records."""
    cause = exc.__cause__ if isinstance(exc, PaymentProviderError) and exc.__cause__ else exc
    if isinstance(cause, stripe.StripeError):
        message = cause.user_message or str(cause) or cause.__class__.__name__
        return f"{cause.__class__.__name__}: {message}"[:500]
    return str(cause)[:500]


def _call(operation: str, fn, *args: Any, **kwargs: Any):
    try:
        return fn(*args, **kwargs)
    except stripe.InvalidRequestError as exc:
        logger.warning(
            "stripe %s failed: %s", operation, exc.__class__.__name__, extra={"stripe_code": exc.code}
        )
        if exc.code == "resource_missing" or exc.http_status == 404:
            raise StripeObjectMissing() from exc
        raise PaymentProviderError() from exc
    except stripe.StripeError as exc:
        logger.warning(
            "stripe %s failed: %s", operation, exc.__class__.__name__, extra={"stripe_code": exc.code}
        )
        raise PaymentProviderError() from exc


def create_payment_intent(*, amount: int, currency: str, metadata: dict[str, str], idempotency_key: str):
    client = stripe_client()
    return _call(
        "payment_intent.create",
        client.v1.payment_intents.create,
        params={
            "amount": amount,
            "currency": currency,
            "payment_method_types": ["card"],
            "metadata": metadata,
        },
        options={"idempotency_key": idempotency_key},
    )


def retrieve_payment_intent(payment_intent_id: str):
    return _call("payment_intent.retrieve", stripe_client().v1.payment_intents.retrieve, payment_intent_id)


def payment_intent_as_stripe_holds_it(payment_intent_id: str) -> dict[str, Any]:
    """The PaymentIntent read back from Stripe with our secret key, as a plain dict: what a webhook
    event claims about it is only believed once Stripe says the same. Raises `StripeObjectMissing`
    when Stripe has no such intent (on our account), `PaymentProviderError` when Stripe cannot be
    reached or fails."""
    return retrieve_payment_intent(payment_intent_id).to_dict()


def cancel_payment_intent(payment_intent_id: str):
    return _call("payment_intent.cancel", stripe_client().v1.payment_intents.cancel, payment_intent_id)


def list_refunds(payment_intent_id: str) -> list:
    """Every refund Stripe holds for a PaymentIntent: 100 a page, following `has_more`."""
    refunds: list = []
    params = {"payment_intent": payment_intent_id, "limit": 100}
    while True:
        page = _call("refund.list", stripe_client().v1.refunds.list, params=params)
        refunds.extend(page.data)
        if not page.has_more or not page.data:
            return refunds
        params = {**params, "starting_after": page.data[-1].id}


def create_refund(*, payment_intent_id: str, amount: int, idempotency_key: str, metadata: dict[str, str]):
    return _call(
        "refund.create",
        stripe_client().v1.refunds.create,
        params={"payment_intent": payment_intent_id, "amount": amount, "metadata": metadata},
        options={"idempotency_key": idempotency_key},
    )
