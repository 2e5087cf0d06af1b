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

from collections.abc import Iterable, Sequence
from decimal import ROUND_HALF_UP, Decimal
from typing import NamedTuple

from django.conf import settings

from core.exceptions import AmountTooLarge
from core.money import CENT, from_minor_units, quantize_money, to_minor_units

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


def shipping_for(*, subtotal: Decimal, discount: Decimal = ZERO) -> Decimal:
    """Flat rate (`SHIPPING_FLAT_RATE`), free when `subtotal - discount` reaches
    `FREE_SHIPPING_THRESHOLD` (the threshold is judged after the discount); nothing to ship
    costs nothing."""
    if subtotal <= 0 or subtotal - discount >= settings.FREE_SHIPPING_THRESHOLD:
        return ZERO
    return quantize_money(settings.SHIPPING_FLAT_RATE)


def totals_for(line_totals: Iterable[Decimal], *, discount: Decimal = ZERO) -> Totals:
    """Subtotal, shipping and total of an order (or cart) with these line totals and this
    discount (`discount_for(...).total`): total = subtotal - discount + shipping, never below
    the shipping fee (a discount is at most the subtotal)."""
    sub = subtotal(line_totals)
    discount = min(quantize_money(discount), sub)
    shipping = shipping_for(subtotal=sub, discount=discount)
    return Totals(subtotal=sub, shipping=shipping, total=sub - discount + shipping)


# --- Discounts ----------------------------------------------------------------------------------

PERCENTAGE = "percentage"
FIXED = "fixed"
HUNDRED = Decimal("100")


def round_cents(amount: Decimal) -> Decimal:
    """Half up to the cent (the promotions rule; `quantize_money` is the same rounding)."""
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


class Discount(NamedTuple):
    eligible_subtotal: Decimal
    total: Decimal
    lines: list[Decimal]  # one share per line, in the order given; 0.00 for ineligible lines


def discount_amount(*, kind: str, value: Decimal, eligible_subtotal: Decimal) -> Decimal:
    """Percentage: eligible subtotal x value / 100, half up to the cent (value capped at 100);
    fixed: the smaller of value and the eligible subtotal. Never negative."""
    if eligible_subtotal <= 0 or value <= 0:
        return ZERO
    if kind == PERCENTAGE:
        amount = round_cents(eligible_subtotal * min(value, HUNDRED) / HUNDRED)
    elif kind == FIXED:
        amount = round_cents(value)
    else:
        raise ValueError(f"unknown discount kind {kind!r}")
    return min(amount, eligible_subtotal)


def allocate_discount(
    *, discount: Decimal, line_totals: Sequence[Decimal], eligible: Sequence[bool]
) -> list[Decimal]:
    """Share `discount` over the eligible lines in proportion to their line totals.

    Each share is rounded half up to the cent and the largest eligible line (the first one on a
    tie) takes the remainder, so the shares add up to `discount` exactly. With many small lines
    the rounded shares of the others can add up to a cent or two more (or less) than leaves the
    largest line between 0 and its line total; then those cents come back from (or go to) the
    lines whose share was rounded most in that direction, one cent each, so that every share
    stays within 0..line total. `discount` must not exceed the eligible lines' sum.
    """
    shares = [ZERO] * len(line_totals)
    idx = [i for i, ok in enumerate(eligible) if ok and line_totals[i] > 0]
    eligible_sum = sum((line_totals[i] for i in idx), ZERO)
    if discount <= 0 or not idx:
        return shares
    if discount > eligible_sum:
        raise ValueError("the discount exceeds the eligible subtotal")
    largest = max(idx, key=lambda i: (line_totals[i], -i))
    exact = {i: discount * line_totals[i] / eligible_sum for i in idx}
    for i in idx:
        if i != largest:
            shares[i] = round_cents(exact[i])
    remainder = discount - sum(shares, ZERO)
    others = [i for i in idx if i != largest]
    while remainder < 0:  # the others rounded up too much: take back a cent from the most rounded up
        i = max((i for i in others if shares[i] > 0), key=lambda i: (shares[i] - exact[i], -i))
        shares[i] -= CENT
        remainder += CENT
    while remainder > line_totals[largest]:  # rounded down too much: give a cent to the most rounded down
        i = min((i for i in others if shares[i] < line_totals[i]), key=lambda i: (shares[i] - exact[i], i))
        shares[i] += CENT
        remainder -= CENT
    shares[largest] = remainder
    return shares


def discount_for(
    *, kind: str, value: Decimal, line_totals: Sequence[Decimal], eligible: Sequence[bool]
) -> Discount:
    """The discount of a promotion over lines (`eligible[i]`: line i may be discounted)."""
    eligible_subtotal = subtotal(lt for lt, ok in zip(line_totals, eligible, strict=True) if ok)
    amount = discount_amount(kind=kind, value=value, eligible_subtotal=eligible_subtotal)
    lines = allocate_discount(discount=amount, line_totals=line_totals, eligible=eligible)
    return Discount(eligible_subtotal=eligible_subtotal, total=amount, lines=lines)


def no_discount(line_totals: Sequence[Decimal]) -> Discount:
    return Discount(eligible_subtotal=ZERO, total=ZERO, lines=[ZERO] * len(line_totals))


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


def line_net(*, line_total: Decimal, discount: Decimal = ZERO) -> Decimal:
    """What the customer pays for a line: its total less its share of the discount."""
    return max(line_total - discount, ZERO)


def line_refund(
    *,
    line_total: Decimal,
    shipping: Decimal,
    last_active_line: bool,
    refundable_left: Decimal,
    discount: Decimal = ZERO,
) -> Decimal:
    """The refund for cancelling one paid line: its net amount (line total - its discount),
    plus shipping when it is the last active line, capped by what is still refundable."""
    wanted = line_net(line_total=line_total, discount=discount) + (shipping if last_active_line else ZERO)
    return max(min(wanted, refundable_left), ZERO)


def line_refunded_amount(*, refund: Decimal, line_total: Decimal, discount: Decimal = ZERO) -> Decimal:
    """The part of a refund recorded against the line itself (shipping is not the line's)."""
    return min(quantize_money(refund), line_net(line_total=line_total, discount=discount))
