"""Tariff restrictions: local time of day, days and dates; duration, energy, power, current."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from tests.unit.rating.builders import (
    MONDAY,
    berlin,
    charging,
    component,
    element,
    line_amounts,
    parking,
    rate,
    spec_tariff,
    tariff,
    totals,
    utc,
)


class TestRestrictionsInLocalTime:
    def test_applies_a_window_crossing_midnight_on_both_sides(self) -> None:
        night = tariff(
            element(component("ENERGY", "0.10"), start_time="22:00", end_time="06:00"),
            element(component("ENERGY", "0.30")),
        )
        periods = [charging(berlin(2025, 3, 4, 21, 0), "3")]

        rated = rate(night, periods, berlin(2025, 3, 5, 0, 0))

        assert line_amounts(rated) == [("ENERGY", 1, "0.30"), ("ENERGY", 0, "0.20")]

    def test_evaluates_day_of_week_in_the_station_time_zone(self) -> None:
        mondays = tariff(
            element(component("ENERGY", "0.10"), day_of_week=["MONDAY"]),
            element(component("ENERGY", "0.30")),
        )
        # Sunday 22:30 UTC is Sunday 23:30 in Berlin; Monday starts at 23:00 UTC.
        periods = [charging(utc(2025, 3, 9, 22, 30), "4")]

        rated = rate(mondays, periods, utc(2025, 3, 9, 23, 30))

        assert line_amounts(rated) == [("ENERGY", 1, "0.60"), ("ENERGY", 0, "0.20")]

    def test_uses_utc_when_told_so(self) -> None:
        mondays = tariff(
            element(component("ENERGY", "0.10"), day_of_week=["MONDAY"]),
            element(component("ENERGY", "0.30")),
        )

        rated = rate(
            mondays, [charging(utc(2025, 3, 9, 22, 30), "4")], utc(2025, 3, 9, 23, 30), "UTC"
        )

        assert line_amounts(rated) == [("ENERGY", 1, "1.20")]

    def test_treats_end_date_as_exclusive(self) -> None:
        promo = tariff(
            element(component("ENERGY", "0.00"), start_date="2025-04-01", end_date="2025-04-02"),
            element(component("ENERGY", "0.40")),
        )
        periods = [
            charging(berlin(2025, 3, 31, 23, 0), "2"),
            charging(berlin(2025, 4, 1, 1, 0)),
            charging(berlin(2025, 4, 1, 23, 0), "2"),
        ]

        rated = rate(promo, periods, berlin(2025, 4, 2, 1, 0))

        assert [
            (p.start_date_time, p.energy_kwh, p.energy_element) for p in rated.charging_periods
        ] == [
            (berlin(2025, 3, 31, 23, 0), Decimal(1), 1),
            (berlin(2025, 4, 1, 0, 0), Decimal(1), 0),
            (berlin(2025, 4, 1, 1, 0), Decimal(0), None),
            (berlin(2025, 4, 1, 23, 0), Decimal(1), 0),
            (berlin(2025, 4, 2, 0, 0), Decimal(1), 1),
        ]
        assert totals(rated) == ("0.80", "0.96")

    def test_follows_the_clock_when_it_springs_forward(self) -> None:
        # 2025-03-30 01:00 UTC: 02:00 CET becomes 03:00 CEST; 02:30 never happens that night.
        early = tariff(
            element(component("ENERGY", "0.50"), start_time="02:30", end_time="04:00"),
            element(component("ENERGY", "0.20")),
        )

        rated = rate(early, [charging(utc(2025, 3, 30, 0, 30), "6")], utc(2025, 3, 30, 1, 30))

        assert line_amounts(rated) == [("ENERGY", 1, "0.60"), ("ENERGY", 0, "1.50")]
        assert [p.energy_kwh for p in rated.charging_periods] == [Decimal(3), Decimal(3)]

    def test_follows_the_clock_when_it_falls_back(self) -> None:
        # 2025-10-26 01:00 UTC: 03:00 CEST becomes 02:00 CET; 02:00-02:30 happens twice.
        window = tariff(element(component("TIME", "6.00"), start_time="01:00", end_time="02:30"))

        rated = rate(window, [charging(utc(2025, 10, 26, 0, 0))], utc(2025, 10, 26, 2, 0))

        assert [(p.start_date_time, p.time_element) for p in rated.charging_periods] == [
            (utc(2025, 10, 26, 0, 0), 0),
            (utc(2025, 10, 26, 0, 30), None),
            (utc(2025, 10, 26, 1, 0), 0),
            (utc(2025, 10, 26, 1, 30), None),
        ]
        assert rated.lines[0].duration == timedelta(hours=1)
        assert totals(rated) == ("6.00", "7.20")


class TestRestrictionsOnTheSession:
    def test_cuts_a_period_at_max_duration(self) -> None:
        rated = rate(
            spec_tariff("tariffrestriction_example_max_duration.json"),
            [charging(MONDAY, "6.2")],
            MONDAY + timedelta(minutes=40),
        )

        assert [p.energy_kwh for p in rated.charging_periods] == [Decimal("4.65"), Decimal("1.55")]
        assert totals(rated) == ("0.39", "0.47")

    def test_cuts_charging_time_where_the_energy_crosses_max_kwh(self) -> None:
        by_energy = tariff(
            element(component("TIME", "1.00"), max_kwh=10),
            element(component("TIME", "2.00")),
        )

        rated = rate(by_energy, [charging(MONDAY, "20")], MONDAY + timedelta(hours=2))

        assert [(p.energy_kwh, p.duration) for p in rated.charging_periods] == [
            (Decimal(10), timedelta(hours=1)),
            (Decimal(10), timedelta(hours=1)),
        ]
        assert line_amounts(rated) == [("TIME", 0, "1.00"), ("TIME", 1, "2.00")]

    def test_uses_average_power_when_no_power_was_reported(self) -> None:
        power = spec_tariff("tariffrestriction_example_max_power.json")

        slow = rate(power, [charging(MONDAY, "11")], MONDAY + timedelta(hours=1))
        fast = rate(power, [charging(MONDAY, "40")], MONDAY + timedelta(hours=1))

        assert line_amounts(slow) == [("ENERGY", 0, "2.20")]
        assert line_amounts(fast) == [("ENERGY", 2, "20.00")]

    def test_skips_current_restrictions_when_no_current_was_reported(self) -> None:
        start = berlin(2019, 1, 7, 9, 30)
        periods = [charging(start, "20"), parking(start + timedelta(hours=2))]

        rated = rate(spec_tariff("tariff_4_complex.json"), periods, start + timedelta(minutes=150))

        assert line_amounts(rated) == [("FLAT", 0, "2.50"), ("PARKING_TIME", 4, "2.50")]

    def test_charges_a_flat_fee_once_the_session_reaches_min_duration(self) -> None:
        long_stay = tariff(
            element(component("FLAT", "5.00"), min_duration=3600),
            element(component("ENERGY", "0.30")),
        )

        short = rate(long_stay, [charging(MONDAY, "10")], MONDAY + timedelta(minutes=30))
        long = rate(long_stay, [charging(MONDAY, "10")], MONDAY + timedelta(minutes=90))

        assert line_amounts(short) == [("ENERGY", 1, "3.00")]
        assert line_amounts(long) == [("ENERGY", 1, "3.00"), ("FLAT", 0, "5.00")]

    def test_charges_only_the_first_matching_flat_fee(self) -> None:
        fees = tariff(
            element(component("FLAT", "1.00"), start_time="00:00", end_time="12:00"),
            element(component("FLAT", "2.00")),
        )

        rated = rate(fees, [charging(berlin(2025, 3, 4, 11, 0))], berlin(2025, 3, 4, 13, 0))

        assert line_amounts(rated) == [("FLAT", 0, "1.00")]

    def test_charges_nothing_when_no_element_applies(self) -> None:
        evening = tariff(element(component("TIME", "2.00"), start_time="17:00", end_time="20:00"))

        rated = rate(evening, [charging(berlin(2025, 3, 4, 10, 0), "5")], berlin(2025, 3, 4, 11, 0))

        assert rated.lines == ()
        assert totals(rated) == ("0.00", "0.00")

    @pytest.mark.parametrize(
        ("step", "exact"),
        [(1, "0.029"), (25, "0.03125"), (500, "0.125")],
    )
    def test_rounds_energy_up_to_the_step_in_wh(self, step: int, exact: str) -> None:
        per_wh = tariff(element(component("ENERGY", "0.25", step=step)))

        rated = rate(per_wh, [charging(MONDAY, "0.1152")], MONDAY + timedelta(minutes=5))

        assert rated.lines[0].exact_amount_excl_vat == Decimal(exact)
