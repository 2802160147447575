"""Money <-> provider minor units: Stripe's table (docs.stripe.com/currencies)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from evbilling.money import Money
from evbilling.payments.psp.currencies import (
    SANDBOX_CURRENCIES,
    STRIPE_CURRENCIES,
    MinorUnitRounding,
    UnrepresentableAmount,
)
from evbilling.payments.psp.port import ProviderError

stripe = STRIPE_CURRENCIES


class TestStripeMinorUnits:
    @pytest.mark.parametrize(
        ("amount", "currency", "units"),
        [
            ("10.00", "EUR", 1000),
            ("0.01", "USD", 1),
            ("500", "JPY", 500),
            ("1", "KRW", 1),
            ("5.120", "KWD", 5120),
            ("0.010", "BHD", 10),
            ("12.340", "JOD", 12340),
            ("5", "ISK", 500),
            ("5", "UGX", 500),
            ("10.45", "HUF", 1045),
            ("800.45", "TWD", 80045),
        ],
    )
    def test_converts_to_stripe_units(self, amount: str, currency: str, units: int) -> None:
        assert stripe.to_minor(Money.of(amount, currency)) == units

    @pytest.mark.parametrize(
        ("units", "currency", "amount"),
        [(1000, "EUR", "10.00"), (500, "JPY", "500"), (5120, "KWD", "5.120"), (500, "ISK", "5")],
    )
    def test_converts_back_to_iso_money(self, units: int, currency: str, amount: str) -> None:
        assert stripe.from_minor(units, currency) == Money.of(amount, currency)

    @pytest.mark.parametrize(
        ("amount", "currency"),
        [
            ("5.124", "KWD"),  # three-decimal amounts must end in 0
            ("0.001", "OMR"),
            ("10.005", "EUR"),  # finer than a cent
            ("0.5", "JPY"),
            ("5.5", "ISK"),  # ISO would allow none; Stripe writes 550, which it refuses
        ],
    )
    def test_refuses_amounts_stripe_cannot_charge(self, amount: str, currency: str) -> None:
        with pytest.raises(UnrepresentableAmount) as refused:
            stripe.to_minor(Money.of(amount, currency))
        assert isinstance(refused.value, ProviderError)
        assert refused.value.code == "amount_not_representable"

    def test_refuses_units_finer_than_iso_allows(self) -> None:
        with pytest.raises(UnrepresentableAmount):
            stripe.from_minor(550, "ISK")

    def test_refuses_negative_amounts(self) -> None:
        with pytest.raises(UnrepresentableAmount):
            stripe.to_minor(Money.of("-1.00", "EUR"))

    def test_refuses_amounts_above_eight_digits(self) -> None:
        assert stripe.to_minor(Money.of("999999.99", "EUR")) == 99_999_999
        with pytest.raises(UnrepresentableAmount):
            stripe.to_minor(Money.of("1000000.00", "EUR"))


class TestRoundingDown:
    @pytest.mark.parametrize(
        ("amount", "currency", "units"),
        [("5.129", "KWD", 5120), ("10.009", "EUR", 1000), ("5.99", "ISK", 500), ("7.9", "JPY", 7)],
    )
    def test_rounds_toward_zero_when_named(self, amount: str, currency: str, units: int) -> None:
        money = Money.of(amount, currency)
        assert stripe.to_minor(money, rounding=MinorUnitRounding.DOWN) == units

    def test_round_down_gives_money_never_above_the_amount(self) -> None:
        assert stripe.round_down(Money.of("12.345", "KWD")) == Money.of("12.340", "KWD")
        assert stripe.round_down(Money.of("12.340", "KWD")) == Money.of("12.340", "KWD")

    @given(
        st.decimals(min_value=Decimal(0), max_value=Decimal(99999), places=3),
        st.sampled_from(["EUR", "JPY", "KWD", "ISK", "UGX", "BHD"]),
    )
    def test_never_rounds_up(self, value: Decimal, currency: str) -> None:
        money = Money(amount=value, currency=currency)
        rounded = stripe.round_down(money)
        assert rounded.amount <= money.amount
        assert money.amount - rounded.amount < stripe.unit(currency).amount
        assert stripe.to_minor(rounded) % stripe.rule(currency).step == 0


class TestMinimumCharge:
    @pytest.mark.parametrize(
        ("currency", "minimum"),
        [("EUR", "0.50"), ("USD", "0.50"), ("GBP", "0.30"), ("JPY", "50"), ("HUF", "175.00")],
    )
    def test_follows_stripes_table(self, currency: str, minimum: str) -> None:
        assert stripe.minimum_charge(currency) == Money.of(minimum, currency)

    def test_a_currency_outside_the_table_answers_its_smallest_step(self) -> None:
        assert stripe.minimum_charge("KWD") == Money.of("0.010", "KWD")
        assert stripe.minimum_charge("ISK") == Money.of("1", "ISK")

    def test_the_sandbox_uses_the_same_table(self) -> None:
        assert SANDBOX_CURRENCIES.minimum_charge("GBP") == Money.of("0.30", "GBP")
        assert SANDBOX_CURRENCIES.to_minor(Money.of("5.120", "KWD")) == 5120
