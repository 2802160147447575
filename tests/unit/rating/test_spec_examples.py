"""The worked examples of the OCPI 2.2.1 Tariffs module, priced by the engine."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from evbilling.rating.engine import (
    rate_ocpi_cdr,
)
from evbilling.tariffs.domain import (
    Price,
    loads_ocpi,
)
from tests.unit.rating.builders import (
    EXAMPLES,
    MONDAY,
    berlin,
    charging,
    line_amounts,
    parking,
    rate,
    reservation,
    spec_tariff,
    totals,
)


class TestSpecWorkedExamples:
    """mod_tariffs.asciidoc states these totals; they must come out exactly."""

    @pytest.mark.parametrize(
        ("name", "kwh", "expected"),
        [
            ("tariff_8_simple_025kwh.json", "20", ("5.00", "5.50")),
            ("tariff_9_025kwh_start.json", "20", ("5.50", "6.10")),
            ("tariff_12_025kwh_min_price.json", "20", ("5.00", "5.50")),
            ("tariff_12_025kwh_min_price.json", "1.5", ("0.50", "0.55")),
            ("tariff_6_025kwh_start_max_price.json", "50", ("10.00", "11.00")),
            ("tariff_6_025kwh_start_max_price.json", "30", ("8.00", "8.85")),
        ],
    )
    def test_prices_energy_examples(self, name: str, kwh: str, expected: tuple[str, str]) -> None:
        rated = rate(spec_tariff(name), [charging(MONDAY, kwh)], MONDAY + timedelta(hours=1))

        assert totals(rated) == expected

    def test_bills_45_minutes_for_40_minutes_of_parking(self) -> None:
        periods = [charging(MONDAY, "20"), parking(MONDAY + timedelta(hours=1))]

        rated = rate(
            spec_tariff("tariff_10_025kwh_parking_start.json"),
            periods,
            MONDAY + timedelta(hours=1, minutes=40),
        )

        assert totals(rated) == ("7.00", "7.90")
        assert rated.total_parking_cost == Price(Decimal("1.50"), Decimal("1.80"))

    @pytest.mark.parametrize(
        ("name", "expected"),
        [
            ("tariff_1_simple_2hour.json", ("5.00", "5.50")),
            ("tariff_2_alt_text.json", ("4.75", "5.00")),
        ],
    )
    def test_prices_two_and_a_half_hours_of_charging(
        self, name: str, expected: tuple[str, str]
    ) -> None:
        rated = rate(spec_tariff(name), [charging(MONDAY, "20")], MONDAY + timedelta(hours=2.5))

        assert totals(rated) == expected

    def test_prices_150_minutes_charging_and_42_minutes_parking(self) -> None:
        periods = [charging(MONDAY, "20"), parking(MONDAY + timedelta(minutes=150))]

        rated = rate(
            spec_tariff("tariff_13_simple_3hour_5parking.json"),
            periods,
            MONDAY + timedelta(minutes=192),
        )

        assert totals(rated) == ("11.25", "12.75")
        assert rated.total_time_cost == Price(Decimal("7.50"), Decimal("8.25"))
        assert rated.total_parking_cost == Price(Decimal("3.75"), Decimal("4.50"))
        assert rated.total_time == Decimal("3.200000")
        assert rated.total_parking_time == Decimal("0.700000")

    def test_prices_the_complex_example_on_a_monday_morning(self) -> None:
        start = berlin(2019, 1, 7, 9, 30)
        periods = [
            charging(start, "20", max_current="16"),
            parking(start + timedelta(minutes=147)),
        ]

        rated = rate(spec_tariff("tariff_4_complex.json"), periods, start + timedelta(minutes=189))

        assert totals(rated) == ("8.75", "10.00")
        assert line_amounts(rated) == [
            ("FLAT", 0, "2.50"),
            ("TIME", 1, "2.50"),
            ("PARKING_TIME", 4, "3.75"),
        ]

    def test_prices_the_complex_example_on_a_saturday_afternoon(self) -> None:
        start = berlin(2019, 1, 12, 13, 30)
        periods = [
            charging(start, "20", min_current="43"),
            parking(start + timedelta(minutes=114)),
        ]

        rated = rate(spec_tariff("tariff_4_complex.json"), periods, start + timedelta(minutes=185))

        assert totals(rated) == ("12.50", "14.13")
        assert line_amounts(rated) == [
            ("FLAT", 0, "2.50"),
            ("TIME", 3, "2.50"),
            ("PARKING_TIME", 5, "7.50"),
        ]

    def test_rounds_the_total_step_at_the_last_element_when_switching(self) -> None:
        # tariff_14 "switching to different Tariff Element #2": 25 + 20 billable minutes.
        periods = [charging(berlin(2019, 1, 7, 16, 35))]

        rated = rate(spec_tariff("tariff_14_step_size.json"), periods, berlin(2019, 1, 7, 17, 10))

        assert totals(rated) == ("1.30", "1.30")
        assert line_amounts(rated) == [("TIME", 0, "0.50"), ("TIME", 1, "0.80")]

    def test_bills_parking_before_free_parking_starts_with_its_own_step(self) -> None:
        # tariff_14 "switching to Free-of-Charge Tariff Element": charging was priced last.
        periods = [charging(berlin(2019, 1, 7, 19, 55)), parking(berlin(2019, 1, 7, 20, 5))]

        rated = rate(spec_tariff("tariff_14_step_size.json"), periods, berlin(2019, 1, 7, 20, 7))

        assert totals(rated) == ("0.60", "0.60")
        assert line_amounts(rated) == [("TIME", 1, "0.20"), ("TIME", 2, "0.40")]
        assert rated.total_parking_cost.excl_vat == Decimal("0.00")

    def test_rounds_only_the_parking_that_ends_the_session_in_the_same_element(self) -> None:
        # tariff_14 "switching to different Tariff Element #1": 10 min charging from 16:55,
        # then 2 min parking, both priced by the 17:00 element. Its step_size applies to the
        # component in use at the end (parking: 15 min, 0.25); charging stays 5 + 5 minutes.
        periods = [charging(berlin(2019, 1, 7, 16, 55)), parking(berlin(2019, 1, 7, 17, 5))]

        rated = rate(spec_tariff("tariff_14_step_size.json"), periods, berlin(2019, 1, 7, 17, 7))

        assert line_amounts(rated) == [
            ("TIME", 0, "0.10"),
            ("TIME", 1, "0.20"),
            ("PARKING_TIME", 1, "0.25"),
        ]
        assert totals(rated) == ("0.55", "0.55")
        assert rated.lines[1].step_rounding == Decimal(0)
        assert rated.lines[2].step_rounding == Decimal("0.216667")

    def test_rounds_charging_when_parking_is_priced_by_another_element(self) -> None:
        # tariff_4 prices parking in elements without TIME: leaving the TIME element for
        # them rounds the charging time (147 -> 150 min) as well as the parking (42 -> 45).
        start = berlin(2019, 1, 7, 9, 30)
        periods = [charging(start, "20", max_current="16"), parking(start + timedelta(minutes=147))]

        rated = rate(spec_tariff("tariff_4_complex.json"), periods, start + timedelta(minutes=189))

        assert [line.step_rounding for line in rated.lines[1:]] == [
            Decimal("0.050000"),
            Decimal("0.050000"),
        ]

    def test_rounds_charging_again_when_the_session_ends_charging(self) -> None:
        # Parking in the middle of a session (same element) is not rounded on its own; the
        # charging that ends the session is.
        periods = [
            charging(berlin(2019, 1, 7, 16, 0)),
            parking(berlin(2019, 1, 7, 16, 10)),
            charging(berlin(2019, 1, 7, 16, 12)),
        ]

        rated = rate(spec_tariff("tariff_14_step_size.json"), periods, berlin(2019, 1, 7, 16, 22))

        assert line_amounts(rated) == [("TIME", 0, "0.60"), ("PARKING_TIME", 0, "0.03")]
        assert rated.lines[1].duration == timedelta(minutes=2)

    @pytest.mark.parametrize(
        ("name", "minutes_reserved", "expected"),
        [
            ("tariff_15_reservation_5_euro_per_hour.json", 15, ("6.75", "7.60")),
            ("tariff_16_reservation_2_euro_fee_5_euro_per_hour.json", 13, ("8.75", "10.00")),
            ("tariff_17_reservation_with_expire_fee.json", 22, ("6.50", "7.30")),
            ("tariff_18_reservation_with_expire_time.json", 22, ("7.00", "7.90")),
        ],
    )
    def test_prices_a_reservation_followed_by_a_session(
        self, name: str, minutes_reserved: int, expected: tuple[str, str]
    ) -> None:
        started = MONDAY + timedelta(minutes=minutes_reserved)
        periods = [reservation(MONDAY), charging(started, "20")]

        rated = rate(spec_tariff(name), periods, started + timedelta(hours=1))

        assert totals(rated) == expected
        assert rated.reservation_expired is False
        assert rated.total_time == Decimal("1.000000")

    @pytest.mark.parametrize(
        ("name", "hours", "expected"),
        [
            ("tariff_17_reservation_with_expire_fee.json", 1, ("6.00", "7.20")),
            ("tariff_18_reservation_with_expire_time.json", 1.5, ("9.00", "10.80")),
        ],
    )
    def test_prices_an_expired_reservation(
        self, name: str, hours: float, expected: tuple[str, str]
    ) -> None:
        rated = rate(spec_tariff(name), [reservation(MONDAY)], MONDAY + timedelta(hours=hours))

        assert totals(rated) == expected
        assert rated.reservation_expired is True
        assert rated.total_reservation_cost.excl_vat == Decimal(expected[0])

    def test_prices_energy_by_the_power_of_each_period(self) -> None:
        periods = [
            charging(MONDAY, "1", min_power="6", max_power="6"),
            charging(MONDAY + timedelta(minutes=10), "40", min_power="48", max_power="48"),
            charging(MONDAY + timedelta(minutes=60), "0.5", min_power="4", max_power="4"),
        ]

        rated = rate(
            spec_tariff("tariffrestriction_example_max_power.json"),
            periods,
            MONDAY + timedelta(minutes=68),
        )

        assert totals(rated)[0] == "20.30"
        assert line_amounts(rated) == [("ENERGY", 0, "0.30"), ("ENERGY", 2, "20.00")]

    def test_gives_the_first_30_minutes_free(self) -> None:
        periods = [charging(MONDAY, "5"), charging(MONDAY + timedelta(minutes=30), "1.2")]

        rated = rate(
            spec_tariff("tariffrestriction_example_max_duration.json"),
            periods,
            MONDAY + timedelta(minutes=40),
        )

        assert totals(rated)[0] == "0.30"

    def test_charges_nothing_with_the_free_of_charge_tariff(self) -> None:
        rated = rate(
            spec_tariff("tariff_5_free_of_charge.json"),
            [charging(MONDAY, "20")],
            MONDAY + timedelta(hours=1),
        )

        assert totals(rated) == ("0.00", "0.00")

    def test_re_rates_the_spec_cdr_example(self) -> None:
        cdr = loads_ocpi((EXAMPLES / "cdr_example.json").read_text())

        out = rate_ocpi_cdr(tariff_json=cdr["tariffs"][0], cdr_json=cdr, time_zone=None)

        assert out["total_cost"] == {"excl_vat": Decimal("4.00"), "incl_vat": Decimal("4.40")}
        assert out["total_time_cost"] == {"excl_vat": Decimal("4.00"), "incl_vat": Decimal("4.40")}
        assert out["audit"]["matches"] is True
        assert out["breakdown"][0]["quantity"] == Decimal("2.000000")
