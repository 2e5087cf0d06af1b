"""The only code that turns lines into money.

Line totals, the subtotal, shipping, order totals, the amount refundable for an order or one of
its lines, and the bounds every one of those amounts must stay within. The cart (its output and
every write that grows it), checkout, re-totalling after a per-item cancel, refunds and the
storefront profile all call these functions; promotions add discounts here and nowhere else.

A plain module with no models and no imports from other apps: `cart`, `orders` and `web` depend
on it, it depends on `core` only.

Money bounds. Every amount is stored in a `DecimalField(max_digits=12, decimal_places=2)`
(`OrderItem.line_total`, `Order.subtotal/shipping_total/total/amount_refunded`,
`Payment.amount*`, `Refund.amount`), so nothing may exceed `MAX_STORABLE_AMOUNT`; a card order's
total must also fit Stripe's largest charge (`STRIPE_MAX_AMOUNT_MINOR` minor units). A cart that
would exceed the first, and a checkout that would exceed either, is refused with 409
`amount_too_large` before anything is written.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import NamedTuple

from django.conf import settings

from core.exceptions import AmountTooLarge
from core.money import from_minor_units, quantize_money, to_minor_units

ZERO = Decimal("0.00")

# The largest amount a `DecimalField(max_digits=12, decimal_places=2)` column holds.
MAX_STORABLE_AMOUNT = Decimal("9999999999.99")
# Stripe refuses a PaymentIntent above eight digits of minor units (999,999.99 USD).
STRIPE_MAX_AMOUNT_MINOR = 99_999_999


class Totals(NamedTuple):
    subtotal: Decimal
    shipping: Decimal
    total: Decimal


def unit_price(price: Decimal) -> Decimal:
    """A product's current price as the unit price of a line (cents)."""
    return quantize_money(price)


def line_total(*, price: Decimal, quantity: int) -> Decimal:
    """Unit price times quantity, rounded to cents."""
    return quantize_money(unit_price(price) * quantity)


def subtotal(line_totals: Iterable[Decimal]) -> Decimal:
    return quantize_money(sum(line_totals, Decimal("0")))


def shipping_for(*, subtotal: Decimal) -> Decimal:
    """Flat rate (`SHIPPING_FLAT_RATE`), free from `FREE_SHIPPING_THRESHOLD` up; nothing to ship
    costs nothing."""
    if subtotal <= 0 or subtotal >= settings.FREE_SHIPPING_THRESHOLD:
        return ZERO
    return quantize_money(settings.SHIPPING_FLAT_RATE)


def totals_for(line_totals: Iterable[Decimal]) -> Totals:
    """Subtotal, shipping and total of an order (or cart) with these line totals."""
    sub = subtotal(line_totals)
    shipping = shipping_for(subtotal=sub)
    return Totals(subtotal=sub, shipping=shipping, total=sub + shipping)


def check_storable(totals: Totals, *, card: bool = False, currency: str | None = None) -> Totals:
    """Refuse (409 `amount_too_large`) totals the database cannot store or, for a card order,
    Stripe cannot charge. Returns `totals` unchanged."""
    if totals.total > MAX_STORABLE_AMOUNT:
        raise AmountTooLarge(
            f"The total {totals.total} is above the largest amount an order can hold "
            f"({MAX_STORABLE_AMOUNT}); please order fewer items.",
            extra={"max_amount": str(MAX_STORABLE_AMOUNT)},
        )
    if card:
        currency = currency or settings.CURRENCY
        if to_minor_units(totals.total, currency) > STRIPE_MAX_AMOUNT_MINOR:
            limit = from_minor_units(STRIPE_MAX_AMOUNT_MINOR, currency)
            raise AmountTooLarge(
                f"A card payment can be at most {limit} {currency.upper()}; "
                "please order fewer items or pay cash on delivery.",
                extra={"max_amount": str(limit)},
            )
    return totals


def refundable(*, total: Decimal, refunded: Decimal, payment_left: Decimal) -> Decimal:
    """What may still go back on an order: never more than its total minus what we refunded,
    nor more than is left on the captured payment (refunds made on Stripe included)."""
    return max(min(total - refunded, payment_left), ZERO)


def line_refund(
    *, line_total: Decimal, shipping: Decimal, last_active_line: bool, refundable_left: Decimal
) -> Decimal:
    """The refund for cancelling one paid line: its total, plus shipping when it is the last
    active line, capped by what is still refundable."""
    wanted = line_total + (shipping if last_active_line else ZERO)
    return min(wanted, refundable_left)


def line_refunded_amount(*, refund: Decimal, line_total: Decimal) -> Decimal:
    """The part of a refund recorded against the line itself (shipping is not the line's)."""
    return min(quantize_money(refund), line_total)
