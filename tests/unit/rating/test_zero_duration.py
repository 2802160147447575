"""A session that ends the moment it starts is priced: fixed fees and min_price apply."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from evbilling.rating.engine import (
    InvalidSession,
    LineKind,
    MeterSample,
    PeriodKind,
    build_periods,
)
from evbilling.tariffs.domain import Price
from tests.unit.rating.builders import (
    MONDAY,
    charging,
    component,
    element,
    parking,
    rate,
    tariff,
    totals,
)

FEE_ENERGY_TIME = tariff(
    element(
        component("FLAT", "1.50", vat="20"),
        component("ENERGY", "0.30", vat="20"),
        component("TIME", "2.00", vat="20", step=900),
        component("PARKING_TIME", "6.00", vat="20", step=900),
    )
)


class TestZeroDurationSessions:
    def test_a_session_ending_as_it_starts_pays_its_flat_fee_and_nothing_else(self) -> None:
        rated = rate(FEE_ENERGY_TIME, [charging(MONDAY)], MONDAY)

        assert [line.kind for line in rated.lines] == [LineKind.FLAT]
        assert totals(rated) == ("1.50", "1.80")
        assert rated.total_energy_cost == Price(Decimal("0.00"), Decimal("0.00"))
        assert rated.total_time_cost == Price(Decimal("0.00"), Decimal("0.00"))
        assert (rated.total_energy, rated.total_time) == (Decimal(0), Decimal("0.000000"))
        assert (rated.start_date_time, rated.end_date_time) == (MONDAY, MONDAY)
        assert len(rated.charging_periods) == 1
        assert rated.charging_periods[0].duration == timedelta(0)

    def test_min_price_applies_to_a_session_of_no_time(self) -> None:
        minimum = tariff(
            element(component("ENERGY", "0.30", vat="20")),
            min_price={"excl_vat": Decimal("1.00"), "incl_vat": Decimal("1.20")},
        )

        rated = rate(minimum, [charging(MONDAY)], MONDAY)

        assert totals(rated) == ("1.00", "1.20")
        assert [line.kind for line in rated.lines] == [LineKind.MIN_PRICE]

    def test_a_tariff_without_fixed_fees_prices_it_at_zero(self) -> None:
        energy_only = tariff(element(component("ENERGY", "0.30", vat="20")))

        rated = rate(energy_only, [charging(MONDAY)], MONDAY)

        assert totals(rated) == ("0.00", "0.00")
        assert rated.lines == ()

    def test_power_restrictions_do_not_divide_by_no_time(self) -> None:
        by_power = tariff(
            element(component("FLAT", "2.00", vat="20"), max_power=Decimal(11)),
            element(component("FLAT", "3.00", vat="20")),
        )

        rated = rate(by_power, [charging(MONDAY)], MONDAY)

        # No energy in no time: 0 kW, below 11 kW.
        assert totals(rated) == ("2.00", "2.40")

    def test_a_last_period_of_no_time_adds_nothing(self) -> None:
        periods = [charging(MONDAY, "10"), parking(MONDAY + timedelta(minutes=30))]

        rated = rate(FEE_ENERGY_TIME, periods, MONDAY + timedelta(minutes=30))

        assert totals(rated) == ("5.50", "6.60")  # 1.50 + 10 x 0.30 + 30 min x 2.00
        assert rated.total_parking_cost.excl_vat == Decimal("0.00")

    def test_an_end_before_the_start_is_still_refused(self) -> None:
        with pytest.raises(InvalidSession, match="end must not be before"):
            rate(FEE_ENERGY_TIME, [charging(MONDAY)], MONDAY - timedelta(microseconds=1))


class TestZeroDurationPeriods:
    def test_meter_samples_ending_as_they_start_make_one_period_of_no_time(self) -> None:
        periods = build_periods(meter_samples=[MeterSample(at=MONDAY, energy_wh=500)], end=MONDAY)

        assert [(p.start, p.kind, p.energy_kwh) for p in periods] == [
            (MONDAY, PeriodKind.CHARGING, Decimal(0))
        ]
        assert totals(rate(FEE_ENERGY_TIME, periods, MONDAY)) == ("1.50", "1.80")
