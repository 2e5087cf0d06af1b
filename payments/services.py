"""Payment writes: the Payment/Refund ledger. Every Stripe call goes through `payments.gateway`.

This module never imports `orders`: an `order` argument is any object with `pk`, `number`,
`total`, `currency` and `payment_method`. What a payment event does to an order (may it be paid,
refund a payment that arrived for a cancelled order, confirm refunded lines) is decided by the
handlers the orders app registers in `payments.hooks`; the webhook services below call them.

The orders app calls `payment_intent_create_for_order`, `payment_client_payload`,
`payment_refund_create`, `payment_refund_in_full`, `payment_settle`,
`payment_intent_cancel_for_order`, `payment_intent_cancel_orphan`,
`payment_intent_in_flight_for_order` and `payment_record_cash_collected`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from core.exceptions import ApplicationError, PaymentProviderError, ServiceUnavailable
from core.money import from_minor_units, quantize_money, to_minor_units

from . import gateway
from .hooks import order_handler
from .models import Payment, Refund

logger = logging.getLogger(__name__)

# Our Payment statuses under which the PaymentIntent may still be paid by the customer.
OPEN_STATUSES = (Payment.Status.REQUIRES_PAYMENT, Payment.Status.FAILED)
# `Order.payment_method` values: Stripe takes card orders, the courier cash-on-delivery ones.
CARD = "card"
CASH_ON_DELIVERY = "cod"


def _intent_idempotency_key(*, order) -> str:
    """Derived from the order, so a retried create never makes a second PaymentIntent.

    The first intent of an order has the plain key; a replacement (the first was cancelled
    on Stripe) adds the attempt number, since Stripe would otherwise replay the cancelled one.
    """
    attempt = Payment.objects.filter(order=order, provider=Payment.Provider.STRIPE).count()
    suffix = "" if attempt == 0 else f"-{attempt + 1}"
    return f"novacart-order-{order.pk}-{order.number}-pi{suffix}"


@transaction.atomic
def payment_intent_create_for_order(*, order, created: list[str] | None = None) -> Payment:
    """Create the Stripe PaymentIntent for the order total (server-computed) and record it.

    The Stripe idempotency key is derived from the order, so a retried call never makes a
    second intent. Raises `PaymentProviderError` (502) when Stripe fails or is unreachable;
    called inside the order's transaction, that rolls the whole order back. The new intent's id
    goes into `created` as soon as Stripe made it, so a caller can cancel it when anything after
    that fails, recording the Payment included.
    """
    if order.payment_method != CARD:
        raise ApplicationError("Only card orders are paid through Stripe.", code="invalid_payment_method")
    amount_minor = to_minor_units(order.total, order.currency)
    if amount_minor <= 0:
        raise ApplicationError(
            "The order total must be positive to take a card payment.", code="invalid_amount"
        )
    intent = gateway.create_payment_intent(
        amount=amount_minor,
        currency=order.currency,
        metadata={"order_id": str(order.pk), "order_number": order.number},
        idempotency_key=_intent_idempotency_key(order=order),
    )
    if created is not None:
        created.append(intent.id)
    return Payment.objects.create(
        order=order,
        provider=Payment.Provider.STRIPE,
        payment_intent_id=intent.id,
        client_secret=intent.client_secret or "",
        amount=from_minor_units(int(intent.amount), order.currency),
        currency=order.currency,
    )


def payment_client_payload(*, payment: Payment) -> dict:
    """What a client needs to confirm the payment with Stripe.js (`amount` in minor units)."""
    return {
        "client_secret": payment.client_secret,
        "payment_intent_id": payment.payment_intent_id,
        "amount": to_minor_units(payment.amount, payment.currency),
        "currency": payment.currency,
        "publishable_key": settings.STRIPE_PUBLISHABLE_KEY,
    }


@transaction.atomic
def payment_intent_cancel_for_order(*, order, strict: bool = False) -> bool:
    """Cancel the order's open PaymentIntent(s) on Stripe and mark their Payments cancelled;
    returns whether none is left open.

    Best effort by default: a Stripe error is logged and written to `Payment.last_error`, never
    raised, so a user cancel or an expiry is not blocked by Stripe being down. That is safe
    because a `payment_intent.succeeded` that still arrives for a cancelled order is refunded
    automatically by the webhook (and `orders.services.order_intents_cancel_retry` cancels the
    intent later). A Payment whose cancel failed stays in its open status.

    `strict=True` is for a caller that goes on with the order open at another amount (an unpaid
    line cancelled): there a payment that beat the cancel would arrive for the wrong total and
    could be neither applied nor refunded on its own. Stripe settles which came first: when the
    cancel fails because the customer's payment already went through (or is processing), 409
    `payment_in_progress`, and the webhook pays the order at its old total; any other failure is
    502 `payment_provider_error`. Either way the caller's transaction rolls back.
    """
    payments = Payment.objects.select_for_update().filter(
        order=order, provider=Payment.Provider.STRIPE, status__in=OPEN_STATUSES
    )
    all_closed = True
    for payment in payments:
        try:
            gateway.cancel_payment_intent(payment.payment_intent_id)
        except gateway.StripeObjectMissing:
            # Nothing left on Stripe's side to pay: as good as cancelled.
            payment.status = Payment.Status.CANCELLED
            payment.last_error = "PaymentIntent not found on Stripe when cancelling."
        except PaymentProviderError as exc:
            stripe_status = _intent_status_or_none(payment.payment_intent_id)
            if stripe_status == "canceled":
                payment.status = Payment.Status.CANCELLED
            elif strict and stripe_status in _IN_FLIGHT_INTENT_STATUSES:
                raise ApplicationError(
                    "A card payment for this order is being processed; please wait a moment.",
                    code="payment_in_progress",
                    status_code=409,
                ) from exc
            elif strict:
                raise
            else:
                logger.warning(
                    "could not cancel PaymentIntent %s of order %s", payment.payment_intent_id, order.pk
                )
                payment.last_error = f"Cancel failed: {gateway.provider_error_message(exc)}"[:500]
                all_closed = False
        else:
            payment.status = Payment.Status.CANCELLED
        payment.save(update_fields=["status", "last_error", "updated_at"])
    return all_closed


def payment_intent_cancel_orphan(*, payment_intent_id: str) -> bool:
    """Cancel on Stripe a PaymentIntent whose order was rolled back (no Payment row records it).

    Call it after the rollback, never inside the transaction that made the intent. Best effort:
    returns False and logs when Stripe refuses or cannot be reached (an orphan intent has no
    client secret anyone was given, so nobody can pay it; it is only housekeeping on Stripe).
    An intent Stripe no longer knows counts as cancelled.
    """
    try:
        gateway.cancel_payment_intent(payment_intent_id)
    except gateway.StripeObjectMissing:
        return True
    except PaymentProviderError as exc:
        logger.warning(
            "could not cancel orphan PaymentIntent %s: %s",
            payment_intent_id,
            gateway.provider_error_message(exc),
        )
        return False
    return True


def _intent_status_or_none(payment_intent_id: str) -> str | None:
    """Stripe's status of the intent, or None when Stripe cannot tell us."""
    try:
        return gateway.retrieve_payment_intent(payment_intent_id).status
    except PaymentProviderError:
        return None


@transaction.atomic
def payment_record_cash_collected(*, order) -> Payment:
    """Record the cash collected for a cash-on-delivery order (once; a repeat returns the same row)."""
    if order.payment_method != CASH_ON_DELIVERY:
        raise ApplicationError(
            "Only cash-on-delivery orders are paid in cash.", code="invalid_payment_method"
        )
    existing = (
        Payment.objects.select_for_update()
        .filter(order=order, provider=Payment.Provider.CASH, status=Payment.Status.SUCCEEDED)
        .first()
    )
    if existing is not None:
        return existing
    return Payment.objects.create(
        order=order,
        provider=Payment.Provider.CASH,
        status=Payment.Status.SUCCEEDED,
        amount=order.total,
        amount_received=order.total,
        currency=order.currency,
        succeeded_at=timezone.now(),
    )


@dataclass(frozen=True)
class LineRefund:
    """What Stripe refunded for one line of a payment: usually one Refund, two when a retry found
    the line's first refund and topped it up (the line had since become the last and owed the
    shipping fee too)."""

    refunds: list[Refund]

    @property
    def amount(self) -> Decimal:
        return sum((refund.amount for refund in self.refunds), Decimal("0.00"))

    @property
    def succeeded(self) -> bool:
        return all(refund.status == Refund.Status.SUCCEEDED for refund in self.refunds)


def _made_for_line(name: str, line: str) -> bool:
    """Is a refund named `name` (its metadata `line`) one for `line`: the line's own, a top-up
    (`<line>+<n>`), or for `order` a staff refund named the way it was before (`order-<n>`)."""
    if name == line or name.startswith(f"{line}+"):
        return True
    return line == "order" and name.startswith("order-") and name[len("order-") :].isdigit()


def _stripe_refunds_for_line(*, payment: Payment, line: str) -> list:
    """The refunds Stripe already made for this line of the payment, not failed or cancelled."""
    made = []
    for stripe_refund in gateway.list_refunds(payment.payment_intent_id):
        data = stripe_refund.to_dict()
        name = (data.get("metadata") or {}).get("line") or ""
        if _made_for_line(name, line) and data.get("status") not in ("failed", "canceled"):
            made.append(stripe_refund)
    return made


def _stripe_refund_minor(stripe_refund) -> int:
    return _minor_int(stripe_refund.to_dict().get("amount")) or 0


@transaction.atomic
def payment_refund_create(
    *, order, amount: Decimal, order_item=None, reason: str = "", or_what_is_left: bool = False
) -> LineRefund:
    """Refund one line of the order's succeeded card payment through Stripe, up to `amount` in all
    (never more than was paid).

    The line is an order item (`item-<id>` in the refund's metadata) or, without one, the staff
    refund of the rest (`order`). Stripe is called before anything is written, so a Stripe failure
    (502) leaves no trace. A line is refunded once: the service first lists what Stripe already
    refunded for it (a retry after an answer that never came back: Stripe refunded, the timeout
    rolled everything back) and records that instead of paying out again, whatever has been
    refunded since; only when that is less than `amount` (the line became the last and now owes
    the shipping fee too) is the difference refunded, named `<line>+<minor units found>`. More
    than is left of the payment is 409 `refund_exceeds_payment`, or with `or_what_is_left` (a
    line cancel after a Dashboard refund) what is left, possibly nothing. The result's `amount`
    is what Stripe refunded for the line; it has `succeeded` when Stripe says so for each of its
    refunds, else they stay `pending` until the `charge.refunded` webhook.
    """
    amount = quantize_money(amount)
    if amount <= 0:
        raise ApplicationError("A refund must be more than 0.00.", code="invalid_amount")
    payment = (
        Payment.objects.select_for_update()
        .filter(
            order=order,
            provider=Payment.Provider.STRIPE,
            status__in=[Payment.Status.SUCCEEDED, Payment.Status.PARTIALLY_REFUNDED],
        )
        .order_by("-created_at", "-id")
        .first()
    )
    if payment is None and or_what_is_left:
        # Everything was refunded already (our Payment is REFUNDED before Stripe's
        # charge.refunded makes the order so): nothing is left for this line.
        return LineRefund(refunds=[])
    if payment is None:
        raise ApplicationError(
            "This order has no captured card payment to refund.", code="no_payment", status_code=409
        )
    line = f"item-{order_item.pk}" if order_item is not None else "order"
    made = _stripe_refunds_for_line(payment=payment, line=line)
    made_minor = sum(_stripe_refund_minor(stripe_refund) for stripe_refund in made)
    owed_minor = to_minor_units(amount, payment.currency)
    if made_minor < owed_minor:
        # What is left to refund, by our records less the refunds found that we have not recorded.
        recorded = set(
            Refund.objects.filter(stripe_refund_id__in=[r.id for r in made]).values_list(
                "stripe_refund_id", flat=True
            )
        )
        unrecorded_minor = sum(_stripe_refund_minor(r) for r in made if r.id not in recorded)
        refundable_minor = to_minor_units(payment.refundable_left, payment.currency) - unrecorded_minor
        top_up_minor = owed_minor - made_minor
        if or_what_is_left:
            top_up_minor = min(top_up_minor, refundable_minor)
        if top_up_minor > refundable_minor:
            refundable = from_minor_units(max(refundable_minor, 0), payment.currency)
            raise ApplicationError(
                f"The refund would exceed what was paid ({refundable} {payment.currency.upper()} left).",
                code="refund_exceeds_payment",
                status_code=409,
            )
        name = f"{line}+{made_minor}" if made else line
        if top_up_minor > 0:
            made.append(
                gateway.create_refund(
                    payment_intent_id=payment.payment_intent_id,
                    amount=top_up_minor,
                    idempotency_key=f"novacart-refund-{payment.pk}-{name}-{top_up_minor}",
                    metadata={"order_id": str(order.pk), "line": name},
                )
            )
    return LineRefund(
        refunds=[
            _refund_record(payment=payment, stripe_refund=stripe_refund, order_item=order_item, reason=reason)
            for stripe_refund in made
        ]
    )


def _refund_record(*, payment: Payment, stripe_refund, order_item, reason: str) -> Refund:
    """Our Refund for one of Stripe's, counted once in the payment's refunded total."""
    refunded = from_minor_units(_stripe_refund_minor(stripe_refund), payment.currency)
    status = _refund_status(stripe_refund.status)
    refund, created = Refund.objects.get_or_create(
        stripe_refund_id=stripe_refund.id,
        defaults={
            "payment": payment,
            "order_item": order_item,
            "amount": refunded,
            "status": status,
            "reason": reason[:500],
        },
    )
    if created:
        payment.amount_refunded += refunded
        payment.status = (
            Payment.Status.REFUNDED
            if payment.amount_refunded >= payment.amount_received
            else Payment.Status.PARTIALLY_REFUNDED
        )
        payment.save(update_fields=["amount_refunded", "status", "updated_at"])
        return refund
    changed = []
    if refund.order_item_id is None and order_item is not None:
        # Recorded by the charge.refunded sync as made outside NovaCart before this retry.
        refund.order_item = order_item
        refund.reason = reason[:500]
        changed += ["order_item", "reason"]
    if refund.status != status:
        refund.status = status  # recorded pending, Stripe has moved on
        changed.append("status")
    if changed:
        refund.save(update_fields=changed)
    return refund


def _payment_for_update(*, payment_intent_id: str) -> tuple[object, Payment] | None:
    """Lock the order, then its payment (always in that order, like every other order write)."""
    order_id = (
        Payment.objects.filter(payment_intent_id=payment_intent_id).values_list("order_id", flat=True).first()
    )
    if order_id is None:
        return None
    order = order_handler("lock_order")(order_id=order_id)
    payment = Payment.objects.select_for_update().get(payment_intent_id=payment_intent_id)
    return order, payment


def payment_money(amount_minor: int, currency: str) -> str:
    """`5999, "usd"` -> `"59.99 USD"`, as order events and errors show amounts."""
    return f"{from_minor_units(amount_minor, currency)} {currency.upper()}"


# Stripe statuses of a PaymentIntent the customer can still pay with Stripe.js.
_REUSABLE_INTENT_STATUSES = {"requires_payment_method", "requires_confirmation", "requires_action"}
# Money is moving (or moved): the webhook settles it; never offer a second intent then.
_IN_FLIGHT_INTENT_STATUSES = {"processing", "requires_capture", "succeeded"}


@transaction.atomic
def payment_intent_get_or_create_for_order(*, order_id: int, user, amount: int | None = None) -> Payment:
    """The PaymentIntent the owner of a PENDING card order pays with (`POST /api/payments/payment-intent/`).

    Whether the order may be paid (the caller's, card, PENDING, not expired, `amount` equal to
    the total in minor units when given) is the orders app's `payable_order` handler, which
    locks the order row for the rest of the transaction, so concurrent calls never make two
    intents. Reuses the order's intent after reading it back from Stripe (its current client
    secret and amount); creates a new one when it was cancelled or deleted on Stripe, or when its
    amount no longer matches the order total (the stale one is cancelled first).
    """
    order = order_handler("payable_order")(order_id=order_id, user=user, amount=amount)
    expected = to_minor_units(order.total, order.currency)

    payment = (
        Payment.objects.select_for_update()
        .filter(order=order, provider=Payment.Provider.STRIPE)
        .exclude(status=Payment.Status.CANCELLED)
        .order_by("-created_at", "-id")
        .first()
    )
    if payment is not None and payment.status not in OPEN_STATUSES:
        # A payment already went through for this order (e.g. with a wrong amount): a second
        # intent would charge the customer twice.
        raise ApplicationError(
            "A payment for this order is already being processed or reviewed.",
            code="payment_in_progress",
            status_code=409,
        )
    if payment is not None:
        try:
            intent = gateway.retrieve_payment_intent(payment.payment_intent_id)
        except gateway.StripeObjectMissing:
            intent = None
        if intent is not None and intent.status in _IN_FLIGHT_INTENT_STATUSES:
            return payment
        if intent is not None and intent.status in _REUSABLE_INTENT_STATUSES:
            if int(intent.amount) == expected and str(intent.currency).lower() == order.currency.lower():
                if intent.client_secret and intent.client_secret != payment.client_secret:
                    payment.client_secret = intent.client_secret
                    payment.save(update_fields=["client_secret", "updated_at"])
                return payment
            # Its amount no longer matches the order: cancel it (or fail with 502, never leave
            # two payable intents) and make a new one.
            gateway.cancel_payment_intent(payment.payment_intent_id)
            payment.last_error = (
                f"Replaced: its amount {payment_money(int(intent.amount), order.currency)} was stale."
            )
        payment.status = Payment.Status.CANCELLED
        payment.save(update_fields=["status", "last_error", "updated_at"])
    return payment_intent_create_for_order(order=order)


@transaction.atomic
def payment_refund_in_full(*, order, payment: Payment, received_minor: int, why: str) -> Refund:
    """Give back everything a PaymentIntent took (its order cannot use it) and record it. Stripe
    errors raise, so the webhook answers 502 and Stripe redelivers the event later."""
    stripe_refund = gateway.create_refund(
        payment_intent_id=payment.payment_intent_id,
        amount=received_minor,
        idempotency_key=f"novacart-autorefund-{payment.payment_intent_id}",
        metadata={"order_id": str(order.pk), "reason": "automatic"},
    )
    received = from_minor_units(received_minor, payment.currency)
    refund, _ = Refund.objects.get_or_create(
        stripe_refund_id=stripe_refund.id,
        defaults={
            "payment": payment,
            "amount": received,
            "status": _refund_status(stripe_refund.status),
            "reason": f"Automatic: {why}"[:500],
        },
    )
    payment.amount_received = received
    payment.amount_refunded = received
    payment.status = Payment.Status.REFUNDED
    payment.succeeded_at = payment.succeeded_at or timezone.now()
    payment.save(update_fields=["amount_received", "amount_refunded", "status", "succeeded_at", "updated_at"])
    return refund


@transaction.atomic
def payment_mark_succeeded(
    *, payment_intent_id: str, amount_received_minor: int | None, currency: str, order_id: str | None = None
) -> Payment | None:
    """Settle a succeeded PaymentIntent (the `payment_intent.succeeded` webhook).

    Unknown intent: nothing to do (None). This payment already settled (a second delivery under
    another event id): no-op. Otherwise the orders app's `payment_succeeded` handler decides:
    pay the order, refund the payment in full (the order was cancelled or is paid already), or
    record a mismatch for review.
    """
    locked = _payment_for_update(payment_intent_id=payment_intent_id)
    if locked is None:
        logger.warning("payment_intent.succeeded for unknown PaymentIntent %s", payment_intent_id)
        return None
    order, payment = locked
    if payment.status not in (*OPEN_STATUSES, Payment.Status.CANCELLED):
        return payment
    order_handler("payment_succeeded")(
        order=order,
        payment=payment,
        received_minor=amount_received_minor if amount_received_minor is not None else 0,
        currency=(currency or "").lower(),
        metadata_order_id=order_id,
    )
    return payment


def payment_settle(*, payment: Payment, received_minor: int, currency: str, problems: list[str]) -> None:
    """Record what a succeeded PaymentIntent received: `succeeded`, or `mismatch` with the
    `problems` the order found (the payment is then not accepted and waits for review)."""
    if currency == payment.currency.lower():
        payment.amount_received = from_minor_units(received_minor, payment.currency)
    payment.succeeded_at = timezone.now()
    if problems:
        payment.status = Payment.Status.MISMATCH
        payment.last_error = ("Not accepted: " + "; ".join(problems))[:500]
    else:
        payment.status = Payment.Status.SUCCEEDED
        payment.last_error = ""
    payment.save(update_fields=["status", "last_error", "amount_received", "succeeded_at", "updated_at"])


@transaction.atomic
def payment_mark_failed(*, payment_intent_id: str, message: str) -> Payment | None:
    """A card attempt failed (`payment_intent.payment_failed`): the intent can be paid again, so
    the order stays PENDING; the reason goes on the Payment and, for a pending order, into an
    order event the customer sees."""
    locked = _payment_for_update(payment_intent_id=payment_intent_id)
    if locked is None:
        logger.warning("payment_intent.payment_failed for unknown PaymentIntent %s", payment_intent_id)
        return None
    order, payment = locked
    reason = message or "The payment was declined."
    if payment.status in OPEN_STATUSES:
        payment.status = Payment.Status.FAILED
        payment.last_error = reason[:500]
        payment.save(update_fields=["status", "last_error", "updated_at"])
    order_handler("payment_failed")(order=order, payment=payment, reason=reason)
    return payment


def _refund_status(stripe_status: str | None) -> str:
    if stripe_status == "succeeded":
        return Refund.Status.SUCCEEDED
    if stripe_status in ("failed", "canceled"):
        return Refund.Status.FAILED
    return Refund.Status.PENDING


@transaction.atomic
def payment_refunds_sync(
    *,
    payment_intent_id: str,
    amount_captured_minor: int,
    amount_refunded_minor: int,
    currency: str,
    refunds: list[dict] | None = None,
) -> Payment | None:
    """Bring our records in line with Stripe's totals for a charge (`charge.refunded`).

    Uses Stripe's absolute `amount_refunded` (never adds to ours), so our own API refunds, which
    are already counted, are not counted twice and a redelivered or reordered event changes
    nothing. Refunds listed on the charge are matched to ours by Stripe id (ones made in the
    Stripe Dashboard are added). What that means for the order (confirmed lines REFUNDED, a PAID
    order REFUNDED once the whole capture is refunded, a partial refund as an order event) is the
    orders app's `refunds_synced` handler.

    A refund event for a payment whose `payment_intent.succeeded` we have not processed yet
    (Stripe does not guarantee delivery order) raises `ServiceUnavailable` (503): nothing is
    recorded and Stripe delivers it again later, after the success has settled the order.
    """
    locked = _payment_for_update(payment_intent_id=payment_intent_id)
    if locked is None:
        logger.warning("charge.refunded for unknown PaymentIntent %s", payment_intent_id)
        return None
    order, payment = locked
    if payment.status in (*OPEN_STATUSES, Payment.Status.CANCELLED):
        raise ServiceUnavailable(
            "This payment's success has not been processed yet; deliver the refund event again later.",
            code="payment_not_settled",
        )
    if (currency or "").lower() != payment.currency.lower():
        logger.warning(
            "charge.refunded for %s in %s, payment is in %s", payment_intent_id, currency, payment.currency
        )
        return payment

    # Refunds on the charge, matched to ours by id.
    listed = refunds or []
    for data in listed:
        refund_id = data.get("id")
        if not refund_id:
            continue
        status = _refund_status(data.get("status"))
        refund = Refund.objects.select_for_update().filter(stripe_refund_id=refund_id).first()
        if refund is None:
            amount = _minor_int(data.get("amount"))
            if not amount:
                continue
            Refund.objects.create(
                payment=payment,
                stripe_refund_id=refund_id,
                amount=from_minor_units(amount, payment.currency),
                status=status,
                reason="Refunded outside NovaCart (Stripe Dashboard).",
            )
        elif refund.status != status:
            refund.status = status
            refund.save(update_fields=["status"])

    stripe_refunded = from_minor_units(amount_refunded_minor, payment.currency)
    if not listed:
        # The charge did not list its refunds (newer API versions leave them out): once Stripe's
        # total covers every refund we asked for, all of ours went through.
        ours = payment.refunds.exclude(status=Refund.Status.FAILED)
        if sum((r.amount for r in ours), Decimal("0")) <= stripe_refunded:
            ours.filter(status=Refund.Status.PENDING).update(status=Refund.Status.SUCCEEDED)

    captured = from_minor_units(amount_captured_minor, payment.currency)
    if payment.amount_received <= 0:
        payment.amount_received = captured
    refunded_before = payment.amount_refunded
    payment.amount_refunded = max(payment.amount_refunded, stripe_refunded)
    fully_refunded = payment.amount_refunded >= captured > 0
    if payment.amount_refunded > 0:
        payment.status = Payment.Status.REFUNDED if fully_refunded else Payment.Status.PARTIALLY_REFUNDED
    payment.save(update_fields=["amount_received", "amount_refunded", "status", "updated_at"])
    order_handler("refunds_synced")(
        order=order,
        payment=payment,
        fully_refunded=fully_refunded,
        refunded_more=stripe_refunded > refunded_before,
        amount_refunded_minor=amount_refunded_minor,
        amount_captured_minor=amount_captured_minor,
        currency=currency,
    )
    return payment


def _minor_int(value) -> int | None:
    """Stripe sends integers; the fake may send numeric strings. Anything else is None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def payment_intent_in_flight_for_order(*, order) -> bool:
    """Whether money for this card order may already be moving on Stripe (an open intent that
    Stripe reports as processing, awaiting capture or succeeded, the webhook not yet here).

    Asks Stripe about each open intent. When Stripe cannot tell us, answers False: a payment
    that did go through for an order cancelled meanwhile is refunded by the webhook anyway.
    """
    payments = Payment.objects.filter(order=order, provider=Payment.Provider.STRIPE, status__in=OPEN_STATUSES)
    for payment in payments:
        if _intent_status_or_none(payment.payment_intent_id) in _IN_FLIGHT_INTENT_STATUSES:
            return True
    return False
