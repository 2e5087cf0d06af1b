"""Discount arithmetic (`pricing.totals`): exact Decimal amounts, allocation over the eligible
lines that adds up to the discount to the cent, shipping judged after the discount. Property
tests over random carts and promotions (Hypothesis, bounded) plus the worked examples."""

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from pricing import totals as pricing

D = Decimal

cents = st.integers(min_value=1, max_value=10_000_000).map(lambda c: D(c) / 100)
lines_st = st.lists(st.tuples(cents, st.booleans()), min_size=1, max_size=25)
percent_st = st.integers(min_value=1, max_value=10_000).map(lambda c: D(c) / 100)  # 0.01..100.00
fixed_st = st.integers(min_value=1, max_value=20_000_000).map(lambda c: D(c) / 100)
promo_st = st.one_of(
    st.tuples(st.just(pricing.PERCENTAGE), percent_st), st.tuples(st.just(pricing.FIXED), fixed_st)
)
BOUNDED = hsettings(max_examples=200, deadline=None)


@pytest.fixture(autouse=True)
def _shop(settings):
    settings.SHIPPING_FLAT_RATE = D("5.00")
    settings.FREE_SHIPPING_THRESHOLD = D("50.00")


def _discount(lines, promo):
    kind, value = promo
    return pricing.discount_for(
        kind=kind, value=value, line_totals=[lt for lt, _ in lines], eligible=[ok for _, ok in lines]
    )


@BOUNDED
@given(lines=lines_st, promo=promo_st)
def test_allocation_is_exact_and_within_each_line(lines, promo):
    result = _discount(lines, promo)
    assert sum(result.lines, D("0")) == result.total
    for (line_total, eligible), share in zip(lines, result.lines, strict=True):
        assert share == share.quantize(D("0.01"))
        assert D("0") <= share <= line_total
        if not eligible:
            assert share == 0
    assert D("0") <= result.total <= result.eligible_subtotal


@BOUNDED
@given(lines=lines_st, promo=promo_st)
def test_discount_amount_follows_the_rule(lines, promo):
    kind, value = promo
    result = _discount(lines, promo)
    eligible = sum((lt for lt, ok in lines if ok), D("0"))
    assert result.eligible_subtotal == eligible
    if kind == pricing.PERCENTAGE:
        expected = (eligible * value / 100).quantize(D("0.01"), rounding="ROUND_HALF_UP")
    else:
        expected = min(value, eligible)
    assert result.total == min(expected, eligible)


@BOUNDED
@given(lines=lines_st, promo=promo_st)
def test_total_never_below_shipping_and_threshold_after_discount(lines, promo):
    result = _discount(lines, promo)
    line_totals = [lt for lt, _ in lines]
    totals = pricing.totals_for(line_totals, discount=result.total)
    assert totals.total >= totals.shipping >= 0
    assert totals.total == totals.subtotal - result.total + totals.shipping
    net = totals.subtotal - result.total
    assert totals.shipping == (D("0.00") if net >= D("50.00") else D("5.00"))


@BOUNDED
@given(lines=lines_st, promo=promo_st, data=st.data())
def test_line_refunds_never_exceed_what_was_paid(lines, promo, data):
    """Cancelling the lines of a paid order one by one (in any order) refunds each line's net
    amount (the last one with shipping) and never more than the order's total."""
    result = _discount(lines, promo)
    line_totals = [lt for lt, _ in lines]
    totals = pricing.totals_for(line_totals, discount=result.total)
    order = data.draw(st.permutations(range(len(lines))))
    refunded = D("0.00")
    for position, i in enumerate(order):
        amount = pricing.line_refund(
            line_total=line_totals[i],
            discount=result.lines[i],
            shipping=totals.shipping,
            last_active_line=position == len(order) - 1,
            refundable_left=pricing.refundable(
                total=totals.total, refunded=refunded, payment_left=totals.total - refunded
            ),
        )
        assert D("0") <= amount <= line_totals[i] - result.lines[i] + totals.shipping
        refunded += amount
        assert refunded <= totals.total
    assert refunded == totals.total  # every line cancelled: everything paid went back


def test_worked_example_33_33_percent():
    """docs/promotions.md: 33.33% over 0.99 + 1.99 + 2.99."""
    result = pricing.discount_for(
        kind=pricing.PERCENTAGE,
        value=D("33.33"),
        line_totals=[D("0.99"), D("1.99"), D("2.99")],
        eligible=[True, True, True],
    )
    # 5.97 x 33.33% = 1.989801 -> 1.99; 0.99 x 1.99 / 5.97 = 0.33, 1.99 x 1.99 / 5.97 = 0.663.. -> 0.66,
    # the largest line takes the rest: 1.99 - 0.33 - 0.66 = 1.00 (exactly 0.99666..).
    assert result.eligible_subtotal == D("5.97")
    assert result.total == D("1.99")
    assert result.lines == [D("0.33"), D("0.66"), D("1.00")]


def test_hundred_percent_discounts_every_line_fully():
    result = pricing.discount_for(
        kind=pricing.PERCENTAGE, value=D("100"), line_totals=[D("3.00"), D("7.01")], eligible=[True, True]
    )
    assert result.lines == [D("3.00"), D("7.01")]
    totals = pricing.totals_for([D("3.00"), D("7.01")], discount=result.total)
    assert totals.total == totals.shipping == D("5.00")


def test_remainder_that_would_go_negative_moves_to_other_lines():
    """Four equal lines and 0.02: each exact share is 0.005, which rounds up to 0.01; three of
    them would leave -0.01 for the largest line. The cents are taken back instead."""
    result = pricing.discount_for(
        kind=pricing.FIXED, value=D("0.02"), line_totals=[D("1.00")] * 4, eligible=[True] * 4
    )
    assert sum(result.lines) == D("0.02")
    assert all(share >= 0 for share in result.lines)


def test_ineligible_lines_get_nothing_and_fixed_is_capped():
    result = pricing.discount_for(
        kind=pricing.FIXED, value=D("10.00"), line_totals=[D("4.00"), D("50.00")], eligible=[True, False]
    )
    assert result.total == D("4.00")
    assert result.lines == [D("4.00"), D("0.00")]


def test_free_shipping_threshold_is_judged_after_the_discount():
    assert pricing.totals_for([D("55.00")]).shipping == D("0.00")
    after = pricing.totals_for([D("55.00")], discount=D("10.00"))
    assert after.shipping == D("5.00")
    assert after.total == D("50.00")
