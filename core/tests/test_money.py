"""Minor-unit conversion for Stripe: two-, zero- and three-decimal currencies, rounding half up."""

from decimal import Decimal

import pytest

from core.money import from_minor_units, minor_unit_exponent, quantize_money, to_minor_units


@pytest.mark.parametrize(
    ("currency", "exponent"),
    [
        ("usd", 2),
        ("USD", 2),
        ("eur", 2),
        ("inr", 2),
        ("jpy", 0),
        ("JPY", 0),
        ("krw", 0),
        ("kwd", 3),
        ("bhd", 3),
    ],
)
def test_minor_unit_exponent(currency, exponent):
    assert minor_unit_exponent(currency) == exponent


@pytest.mark.parametrize(
    ("amount", "currency", "minor"),
    [
        ("59.99", "usd", 5999),
        ("0.01", "usd", 1),
        ("100", "usd", 10000),
        ("0", "usd", 0),
        ("1234567.89", "usd", 123456789),
        ("59.99", "USD", 5999),
        # half up at the currency's precision (banker's rounding would give 100, 0, 2)
        ("1.005", "usd", 101),
        ("0.004", "usd", 0),
        ("0.015", "usd", 2),
        ("0.025", "usd", 3),
        # zero-decimal: the amount is already in minor units
        ("500", "jpy", 500),
        ("499.5", "jpy", 500),
        ("499.49", "jpy", 499),
        ("2.5", "jpy", 3),
        # three-decimal
        ("1.234", "kwd", 1234),
        ("1.2345", "kwd", 1235),
        ("1.2344", "kwd", 1234),
        ("0.001", "kwd", 1),
    ],
)
def test_to_minor_units(amount, currency, minor):
    result = to_minor_units(Decimal(amount), currency)

    assert result == minor
    assert type(result) is int


@pytest.mark.parametrize(
    ("minor", "currency", "amount", "exponent"),
    [
        (5999, "usd", "59.99", -2),
        (5, "usd", "0.05", -2),
        (10000, "usd", "100.00", -2),
        (0, "usd", "0.00", -2),
        (500, "jpy", "500", 0),
        (1234, "kwd", "1.234", -3),
        (1, "kwd", "0.001", -3),
    ],
)
def test_from_minor_units(minor, currency, amount, exponent):
    result = from_minor_units(minor, currency)

    assert result == Decimal(amount)
    assert result.as_tuple().exponent == exponent
    assert str(result) == amount


@pytest.mark.parametrize("currency", ["usd", "jpy", "kwd"])
def test_round_trip(currency):
    for minor in (0, 1, 7, 99, 100, 101, 5999, 123456, 10**9 + 1):
        assert to_minor_units(from_minor_units(minor, currency), currency) == minor


@pytest.mark.parametrize(
    ("amount", "expected"),
    [
        ("2.675", "2.68"),
        ("2.665", "2.67"),
        ("10", "10.00"),
        ("0.004", "0.00"),
        ("0.005", "0.01"),
        ("59.99", "59.99"),
    ],
)
def test_quantize_money_half_up_to_cents(amount, expected):
    result = quantize_money(Decimal(amount))

    assert result == Decimal(expected)
    assert str(result) == expected
