"""The pure rules of card payments: hold size, safety margin, spending limit, what is
captured, the order of states, how a refund is shared over revenue and VAT."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from evbilling.kit import InvalidRequest
from evbilling.money import Money
from evbilling.payments.domain import (
    HoldPolicy,
    PaymentStatus,
    Portion,
    ShortfallReason,
    UnitPrices,
    capture_plan,
    check_refund,
    parse_caps,
    refund_split,
    safety_margin,
    size_hold,
    spending_limit,
)
from evbilling.payments.errors import NotRefundable, RefundTooLarge

EUR = "EUR"
PRICES = UnitPrices(currency=EUR, energy_per_kwh=Decimal("0.476"), flat=Decimal("1.19"))


def eur(amount: str) -> Money:
    return Money.of(amount, EUR)


class TestHoldSize:
    def test_covers_the_hold_window_at_full_power_plus_the_session_fee(self) -> None:
        # 1.19 + 0.476 x 11 kW x 1 h = 6.426 -> 6.43 (rounded up)
        assert size_hold(prices=PRICES, power_w=11_000, policy=HoldPolicy()) == eur("6.43")

    def test_is_capped_per_currency(self) -> None:
        assert size_hold(prices=PRICES, power_w=150_000, policy=HoldPolicy()) == eur("50.00")

    def test_a_currency_without_a_cap_is_held_at_its_estimate(self) -> None:
        prices = UnitPrices(currency="CHF", energy_per_kwh=Decimal("0.50"))
        held = size_hold(prices=prices, power_w=150_000, policy=HoldPolicy())
        assert held == Money.of("75.00", "CHF")

    def test_never_exceeds_the_tariffs_max_price(self) -> None:
        prices = UnitPrices(currency=EUR, energy_per_kwh=Decimal("0.50"), max_price=Decimal(20))
        assert size_hold(prices=prices, power_w=50_000, policy=HoldPolicy()) == eur("20.00")

    def test_includes_the_idle_fee_cap(self) -> None:
        prices = UnitPrices(currency=EUR, parking_per_hour=Decimal("6.00"))
        policy = HoldPolicy(idle_cap=timedelta(minutes=30))
        assert size_hold(prices=prices, power_w=11_000, policy=policy) == eur("3.00")

    def test_a_free_tariff_holds_one_minor_unit(self) -> None:
        free = UnitPrices(currency="JPY")
        assert size_hold(prices=free, power_w=11_000, policy=HoldPolicy()) == Money.of(1, "JPY")


class TestSpendingLimit:
    def test_margin_is_price_times_power_over_meter_interval_and_stop_latency_plus_idle_cap(
        self,
    ) -> None:
        prices = UnitPrices(
            currency=EUR, energy_per_kwh=Decimal("0.60"), parking_per_hour=Decimal(3)
        )
        policy = HoldPolicy(
            meter_interval=timedelta(seconds=60),
            stop_latency=timedelta(seconds=30),
            idle_cap=timedelta(minutes=20),
        )
        # 0.60 x 50 kW x 90 s / 3600 = 0.75; idle 3.00 x 1/3 h = 1.00
        assert safety_margin(prices=prices, power_w=50_000, policy=policy) == eur("1.75")

    def test_is_what_was_authorized_minus_the_margin(self) -> None:
        assert spending_limit(authorized=eur("20.00"), margin=eur("1.75")) == eur("18.25")

    def test_is_none_when_the_hold_does_not_cover_the_margin(self) -> None:
        assert spending_limit(authorized=eur("1.75"), margin=eur("1.75")) is None


class TestCapturePlan:
    def test_captures_the_cost_when_the_hold_covers_it(self) -> None:
        plan = capture_plan(cost=eur("9.52"), capturable=eur("50"), minimum=eur("0.50"))
        assert (plan.capture, plan.receivable, plan.reason) == (
            eur("9.52"),
            eur("0.00"),
            ShortfallReason.NONE,
        )

    def test_captures_what_is_capturable_and_leaves_the_rest_owed(self) -> None:
        plan = capture_plan(cost=eur("61.00"), capturable=eur("50"), minimum=eur("0.50"))
        assert (plan.capture, plan.receivable, plan.reason) == (
            eur("50"),
            eur("11.00"),
            ShortfallReason.ABOVE_HOLD,
        )

    def test_below_the_providers_minimum_releases_and_leaves_it_all_owed(self) -> None:
        plan = capture_plan(cost=eur("0.30"), capturable=eur("50"), minimum=eur("0.50"))
        assert (plan.capture.is_zero(), plan.receivable, plan.reason) == (
            True,
            eur("0.30"),
            ShortfallReason.BELOW_MINIMUM,
        )

    def test_a_zero_cost_releases_the_hold_owing_nothing(self) -> None:
        plan = capture_plan(cost=eur("0"), capturable=eur("50"), minimum=eur("0.50"))
        assert plan.capture.is_zero()
        assert plan.receivable.is_zero()

    def test_without_a_hold_everything_is_owed(self) -> None:
        plan = capture_plan(cost=eur("5"), capturable=eur("0"), minimum=eur("0.50"))
        assert plan.reason is ShortfallReason.NO_HOLD
        assert plan.receivable == eur("5")

    def test_refuses_a_negative_cost(self) -> None:
        with pytest.raises(InvalidRequest):
            capture_plan(cost=eur("-1"), capturable=eur("50"), minimum=eur("0.50"))

    @given(
        cost=st.integers(min_value=0, max_value=10**7),
        capturable=st.integers(min_value=0, max_value=10**7),
        minimum=st.integers(min_value=0, max_value=100),
    )
    def test_never_captures_more_than_held_and_never_loses_a_cent(
        self, cost: int, capturable: int, minimum: int
    ) -> None:
        plan = capture_plan(
            cost=Money.from_minor_units(cost, EUR),
            capturable=Money.from_minor_units(capturable, EUR),
            minimum=Money.from_minor_units(minimum, EUR),
        )
        assert plan.capture.minor_units() <= capturable
        assert plan.capture.minor_units() + plan.receivable.minor_units() == cost


class TestStatusOrder:
    @pytest.mark.parametrize(
        ("later", "earlier"),
        [
            (PaymentStatus.AUTHORIZED, PaymentStatus.PLANNED),
            (PaymentStatus.CAPTURED, PaymentStatus.AUTHORIZED),
            (PaymentStatus.RELEASED, PaymentStatus.AUTHORIZED),
            (PaymentStatus.REFUNDED, PaymentStatus.CAPTURED),
            (PaymentStatus.CAPTURED, PaymentStatus.RELEASED),
            (PaymentStatus.RELEASED, PaymentStatus.CAPTURED),
        ],
    )
    def test_never_moves_backwards_or_sideways_from_a_final_state(
        self, later: PaymentStatus, earlier: PaymentStatus
    ) -> None:
        assert not later.can_move(earlier)

    def test_moves_forward(self) -> None:
        assert PaymentStatus.PLANNED.can_move(PaymentStatus.AUTHORIZED)
        assert PaymentStatus.AUTHORIZED.can_move(PaymentStatus.CAPTURED)
        assert PaymentStatus.CAPTURED.can_move(PaymentStatus.REFUNDED)

    def test_staying_put_is_not_a_move(self) -> None:
        assert not PaymentStatus.AUTHORIZED.can_move(PaymentStatus.AUTHORIZED)


class TestRefunds:
    def test_refuses_more_than_captured_and_not_yet_refunded(self) -> None:
        with pytest.raises(RefundTooLarge):
            check_refund(amount_minor=501, captured_minor=1000, refunded_minor=500)

    def test_refuses_a_payment_that_captured_nothing(self) -> None:
        with pytest.raises(NotRefundable):
            check_refund(amount_minor=1, captured_minor=0, refunded_minor=0)

    def test_refuses_a_zero_amount(self) -> None:
        with pytest.raises(InvalidRequest):
            check_refund(amount_minor=0, captured_minor=10, refunded_minor=0)

    def test_a_full_refund_returns_each_portion_exactly(self) -> None:
        portions = [Portion(Decimal(19), 1000, 190), Portion(Decimal(7), 200, 14)]
        assert refund_split(amount_minor=1404, portions=portions) == portions

    @given(
        amount=st.integers(min_value=1, max_value=10**6),
        nets=st.lists(st.integers(min_value=0, max_value=10**6), min_size=1, max_size=4),
    )
    def test_shares_add_up_to_the_refund(self, amount: int, nets: list[int]) -> None:
        portions = [Portion(Decimal(19), net, net * 19 // 100) for net in nets]
        total = sum(p.net_minor + p.vat_minor for p in portions)
        if total < amount:
            return
        split = refund_split(amount_minor=amount, portions=portions)
        assert sum(p.net_minor + p.vat_minor for p in split) == amount
        assert all(s.net_minor >= 0 and s.vat_minor >= 0 for s in split)


class TestCaps:
    def test_parses_one_cap_per_currency(self) -> None:
        assert parse_caps("EUR:50, CHF:60.5") == {"EUR": Decimal(50), "CHF": Decimal("60.5")}

    @pytest.mark.parametrize("text", ["EUR", "EUR:0", "EUR:-5", "eur:50", "EUR:abc", "EUR:NaN"])
    def test_refuses_a_malformed_cap(self, text: str) -> None:
        with pytest.raises(InvalidRequest):
            parse_caps(text)
