"""The rating engine against the OCPI 2.2.1 worked examples and its own documented rules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from itertools import pairwise
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from evbilling.rating.engine import (
    CdrDimension,
    CdrDimensionType,
    ChargingPeriodInput,
    InvalidCdr,
    InvalidSession,
    InvalidTimeZone,
    LineKind,
    PeriodKind,
    RatedCdr,
    TariffNotApplicable,
    apportion,
    rate_ocpi_cdr,
    rate_session,
    rated_cdr_to_ocpi,
)
from evbilling.tariffs.domain import (
    InvalidTariff,
    Price,
    Tariff,
    dumps_ocpi,
    loads_ocpi,
    parse_tariff,
    tariff_to_ocpi,
)
from tests.fixtures import OCPI_EXAMPLES

BERLIN = "Europe/Berlin"


EXAMPLES = OCPI_EXAMPLES


def spec_tariff(name: str) -> Tariff:
    return parse_tariff(loads_ocpi((EXAMPLES / name).read_text()))


def tariff(*elements: dict[str, Any], **fields: Any) -> Tariff:
    """A tariff from OCPI JSON text fragments; numbers written as in JSON."""
    data = {
        "country_code": "DE",
        "party_id": "EVB",
        "id": "T",
        "currency": fields.pop("currency", "EUR"),
        "elements": list(elements),
        **fields,
    }
    return parse_tariff(loads_ocpi(dumps_ocpi(data)))


def component(kind: str, price: str, *, vat: str | None = "20", step: int = 1) -> dict[str, Any]:
    data: dict[str, Any] = {"type": kind, "price": Decimal(price), "step_size": step}
    if vat is not None:
        data["vat"] = Decimal(vat)
    return data


def element(*components: dict[str, Any], **restrictions: Any) -> dict[str, Any]:
    data: dict[str, Any] = {"price_components": list(components)}
    if restrictions:
        data["restrictions"] = restrictions
    return data


def berlin(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=ZoneInfo(BERLIN)).astimezone(UTC)


def utc(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def charging(
    start: datetime,
    kwh: str = "0",
    *,
    min_current: str | None = None,
    max_current: str | None = None,
    min_power: str | None = None,
    max_power: str | None = None,
) -> ChargingPeriodInput:
    def number(value: str | None) -> Decimal | None:
        return None if value is None else Decimal(value)

    return ChargingPeriodInput(
        start=start,
        energy_kwh=Decimal(kwh),
        min_current=number(min_current),
        max_current=number(max_current),
        min_power=number(min_power),
        max_power=number(max_power),
    )


def parking(start: datetime) -> ChargingPeriodInput:
    return ChargingPeriodInput(start=start, kind=PeriodKind.PARKING)


def reservation(start: datetime) -> ChargingPeriodInput:
    return ChargingPeriodInput(start=start, kind=PeriodKind.RESERVATION)


def rate(
    rated_tariff: Tariff,
    periods: list[ChargingPeriodInput],
    end: datetime,
    time_zone: str = BERLIN,
) -> RatedCdr:
    return rate_session(tariff=rated_tariff, periods=periods, end=end, time_zone=time_zone)


def totals(rated: RatedCdr) -> tuple[str, str | None]:
    cost = rated.total_cost
    return str(cost.excl_vat), None if cost.incl_vat is None else str(cost.incl_vat)


def line_amounts(rated: RatedCdr) -> list[tuple[str, int | None, str]]:
    return [
        (line.kind.value, line.element_index, str(line.amount_excl_vat)) for line in rated.lines
    ]


MONDAY = berlin(2019, 1, 7, 9, 0)  # before tariff_6's end date


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
        periods = [charging(berlin(2019, 1, 7, 16, 35))]

        rated = rate(spec_tariff("tariff_14_step_size.json"), periods, berlin(2019, 1, 7, 17, 10))

        assert totals(rated) == ("1.30", None)
        assert line_amounts(rated) == [("TIME", 0, "0.50"), ("TIME", 1, "0.80")]

    def test_bills_parking_before_free_parking_starts_with_its_own_step(self) -> None:
        periods = [charging(berlin(2019, 1, 7, 19, 55)), parking(berlin(2019, 1, 7, 20, 5))]

        rated = rate(spec_tariff("tariff_14_step_size.json"), periods, berlin(2019, 1, 7, 20, 7))

        assert totals(rated) == ("0.60", None)
        assert rated.total_parking_cost.excl_vat == Decimal("0.00")

    def test_rounds_parking_separately_from_charging_unlike_tariff_14_example_1(self) -> None:
        # The spec says 0.50, hiding the parking in the rounded charging time; its tariff_4
        # example rounds both separately. We follow tariff_4 (docs/pricing.md).
        periods = [charging(berlin(2019, 1, 7, 16, 55)), parking(berlin(2019, 1, 7, 17, 5))]

        rated = rate(spec_tariff("tariff_14_step_size.json"), periods, berlin(2019, 1, 7, 17, 7))

        assert line_amounts(rated) == [
            ("TIME", 0, "0.10"),
            ("TIME", 1, "0.40"),
            ("PARKING_TIME", 1, "0.25"),
        ]
        assert totals(rated) == ("0.75", None)

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


class TestPriceBoundsAndVat:
    def test_keeps_the_vat_ratio_for_a_minimum_without_incl_vat(self) -> None:
        minimum = tariff(
            element(component("ENERGY", "0.30")), min_price={"excl_vat": Decimal("1.00")}
        )

        rated = rate(minimum, [charging(MONDAY, "2")], MONDAY + timedelta(minutes=20))

        assert totals(rated) == ("1.00", "1.20")
        assert rated.lines[-1].kind is LineKind.MIN_PRICE

    def test_does_not_know_vat_when_a_component_has_none(self) -> None:
        no_vat = tariff(element(component("ENERGY", "0.25", vat=None)))

        rated = rate(no_vat, [charging(MONDAY, "20")], MONDAY + timedelta(hours=1))

        assert totals(rated) == ("5.00", None)
        assert rated.lines[0].amount_incl_vat is None
        assert rated.total_energy_cost == Price(Decimal("5.00"), None)

    def test_caps_excl_and_incl_vat_independently(self) -> None:
        # VAT 50 %: the incl. cap (11.00) bites before the excl. cap (10.00) does.
        capped = tariff(
            element(component("ENERGY", "1.00", vat="50")),
            max_price={"excl_vat": Decimal("10.00"), "incl_vat": Decimal("11.00")},
        )

        rated = rate(capped, [charging(MONDAY, "8")], MONDAY + timedelta(hours=1))

        assert totals(rated) == ("8.00", "11.00")
        assert (rated.lines[-1].amount_excl_vat, rated.lines[-1].amount_incl_vat) == (
            Decimal("0.00"),
            Decimal("-1.00"),
        )

    @pytest.mark.parametrize(
        ("currency", "price", "kwh", "expected"),
        [
            ("JPY", "35", "7.3", ("256", "281")),
            ("KWD", "0.0875", "3.3", ("0.289", "0.318")),
        ],
    )
    def test_rounds_to_the_currency_minor_unit(
        self, currency: str, price: str, kwh: str, expected: tuple[str, str]
    ) -> None:
        priced = tariff(element(component("ENERGY", price, vat="10")), currency=currency)

        rated = rate(priced, [charging(MONDAY, kwh)], MONDAY + timedelta(hours=1))

        assert totals(rated) == expected
        assert str(rated.lines[0].amount_excl_vat) == expected[0]


class TestApportion:
    def test_gives_missing_minor_units_to_the_largest_remainders(self) -> None:
        total, lines = apportion(
            [Decimal("2.875"), Decimal("3.000"), Decimal("4.125")], currency="EUR"
        )

        assert total == Decimal("10.00")
        assert lines == [Decimal("2.88"), Decimal("3.00"), Decimal("4.12")]

    def test_handles_negative_adjustments(self) -> None:
        total, lines = apportion([Decimal("13.75"), Decimal("-2.746")], currency="EUR")

        assert total == Decimal("11.00")
        assert sum(lines) == total
        assert lines == [Decimal("13.75"), Decimal("-2.75")]

    def test_returns_zero_for_no_lines(self) -> None:
        assert apportion([], currency="JPY") == (Decimal("0"), [])


class TestRatedCdrShape:
    def combination(self) -> RatedCdr:
        tou = tariff(
            element(component("ENERGY", "0.45"), start_time="17:00", end_time="21:00"),
            element(
                component("FLAT", "1.00"), component("ENERGY", "0.25"), component("TIME", "0.60")
            ),
            element(component("PARKING_TIME", "3.00", step=300)),
        )
        periods = [
            charging(berlin(2025, 3, 4, 16, 0), "7", min_power="6", max_power="8"),
            charging(berlin(2025, 3, 4, 16, 50), "4"),
            parking(berlin(2025, 3, 4, 17, 20)),
        ]
        return rate(tou, periods, berlin(2025, 3, 4, 17, 42))

    def test_covers_the_session_with_contiguous_periods(self) -> None:
        rated = self.combination()

        periods = rated.charging_periods
        assert periods[0].start_date_time == rated.start_date_time
        assert periods[-1].end_date_time == rated.end_date_time
        assert all(a.end_date_time == b.start_date_time for a, b in pairwise(periods))
        assert sum(p.energy_kwh for p in periods) == rated.total_energy == Decimal(11)

    def test_describes_each_period_with_ocpi_dimensions(self) -> None:
        rated = self.combination()

        assert rated.charging_periods[0].dimensions == (
            CdrDimension(CdrDimensionType.ENERGY, Decimal("7")),
            CdrDimension(CdrDimensionType.TIME, Decimal("0.833333")),
            CdrDimension(CdrDimensionType.MIN_POWER, Decimal("6")),
            CdrDimension(CdrDimensionType.MAX_POWER, Decimal("8")),
        )
        assert rated.charging_periods[-1].dimensions[-1].type is CdrDimensionType.PARKING_TIME

    def test_adds_lines_up_to_every_total(self) -> None:
        rated = self.combination()

        assert sum(line.amount_excl_vat for line in rated.lines) == rated.total_cost.excl_vat
        assert sum(line.amount_incl_vat or 0 for line in rated.lines) == rated.total_cost.incl_vat
        categories = (
            rated.total_fixed_cost,
            rated.total_energy_cost,
            rated.total_time_cost,
            rated.total_parking_cost,
            rated.total_reservation_cost,
            rated.total_price_adjustment,
        )
        assert sum(price.excl_vat for price in categories) == rated.total_cost.excl_vat

    def test_re_rates_its_own_cdr_to_the_same_totals(self) -> None:
        rated = self.combination()
        tou = tariff(
            element(component("ENERGY", "0.45"), start_time="17:00", end_time="21:00"),
            element(
                component("FLAT", "1.00"), component("ENERGY", "0.25"), component("TIME", "0.60")
            ),
            element(component("PARKING_TIME", "3.00", step=300)),
        )

        cdr = loads_ocpi(dumps_ocpi(rated_cdr_to_ocpi(rated)))
        again = rate_ocpi_cdr(tariff_json=tariff_to_ocpi(tou), cdr_json=cdr, time_zone=BERLIN)

        assert again["total_cost"] == cdr["total_cost"]
        assert again["audit"]["matches"] is True
        assert again["breakdown"] == cdr["breakdown"]


class TestTimestamps:
    def test_accepts_aware_datetimes_in_any_zone_and_reports_utc(self) -> None:
        eastern = ZoneInfo("America/New_York")
        start = datetime(2025, 3, 4, 5, 0, tzinfo=eastern)

        rated = rate(
            spec_tariff("tariff_1_simple_2hour.json"),
            [charging(start, "10")],
            datetime(2025, 3, 4, 7, 30, tzinfo=eastern),
        )

        assert rated.start_date_time == utc(2025, 3, 4, 10, 0)
        assert rated.start_date_time.tzinfo is UTC
        assert rated.end_date_time == utc(2025, 3, 4, 12, 30)
        assert totals(rated) == ("5.00", "5.50")


class TestInvalidSessions:
    @pytest.mark.parametrize(
        ("periods", "end", "message"),
        [
            ([], MONDAY, "a session needs at least one period"),
            (
                [ChargingPeriodInput(start=datetime(2025, 1, 1))],  # noqa: DTZ001 - the point
                MONDAY,
                "periods[0].start must be timezone-aware",
            ),
            (
                [charging(MONDAY), charging(MONDAY)],
                MONDAY + timedelta(hours=1),
                "periods[1] must start after periods[0]",
            ),
            ([charging(MONDAY)], MONDAY, "end must be after the start of the last period"),
            (
                [charging(MONDAY, "-1")],
                MONDAY + timedelta(hours=1),
                "periods[0].energy_kwh must be a finite Decimal >= 0",
            ),
            (
                [charging(MONDAY), reservation(MONDAY + timedelta(minutes=5))],
                MONDAY + timedelta(hours=1),
                "periods[1]: reservation periods must come first",
            ),
        ],
    )
    def test_refuses_periods_that_are_not_a_session(
        self, periods: list[ChargingPeriodInput], end: datetime, message: str
    ) -> None:
        with pytest.raises(InvalidSession, match=message.replace("[", r"\[").replace("]", r"\]")):
            rate(spec_tariff("tariff_8_simple_025kwh.json"), periods, end)

    def test_refuses_an_unknown_time_zone(self) -> None:
        with pytest.raises(InvalidTimeZone):
            rate(
                spec_tariff("tariff_8_simple_025kwh.json"),
                [charging(MONDAY)],
                MONDAY + timedelta(hours=1),
                "Mars/Olympus",
            )

    def test_refuses_a_session_after_the_tariff_ended(self) -> None:
        late = utc(2019, 7, 1, 0, 0)

        with pytest.raises(TariffNotApplicable):
            rate(
                spec_tariff("tariff_6_025kwh_start_max_price.json"),
                [charging(late)],
                late + timedelta(hours=1),
            )


class TestRateOcpiCdr:
    def cdr(self, *periods: dict[str, Any], end: str = "2025-03-04T12:00:00Z") -> dict[str, Any]:
        return {
            "currency": "EUR",
            "start_date_time": periods[0]["start_date_time"],
            "end_date_time": end,
            "charging_periods": list(periods),
        }

    def test_needs_a_time_zone_for_local_time_restrictions(self) -> None:
        cdr = self.cdr(
            {
                "start_date_time": "2025-03-04T10:00:00Z",
                "dimensions": [{"type": "TIME", "volume": 2}],
            }
        )

        with pytest.raises(InvalidCdr, match="time_zone"):
            rate_ocpi_cdr(
                tariff_json=loads_ocpi((EXAMPLES / "tariff_14_step_size.json").read_text()),
                cdr_json=cdr,
                time_zone=None,
            )

    def test_splits_a_period_reporting_both_charging_and_parking_time(self) -> None:
        cdr = self.cdr(
            {
                "start_date_time": "2025-03-04T10:00:00Z",
                "dimensions": [
                    {"type": "ENERGY", "volume": Decimal("20")},
                    {"type": "TIME", "volume": Decimal("1.5")},
                    {"type": "PARKING_TIME", "volume": Decimal("0.5")},
                ],
            }
        )
        tariff_json = loads_ocpi((EXAMPLES / "tariff_13_simple_3hour_5parking.json").read_text())

        out = rate_ocpi_cdr(tariff_json=tariff_json, cdr_json=cdr, time_zone=None)

        assert out["total_time_cost"]["excl_vat"] == Decimal("4.50")
        assert out["total_parking_cost"]["excl_vat"] == Decimal("2.50")
        assert out["total_parking_time"] == Decimal("0.500000")

    def test_accepts_every_ocpi_221_dimension_type(self) -> None:
        cdr = self.cdr(
            {
                "start_date_time": "2025-03-04T10:00:00Z",
                "dimensions": [
                    {"type": "ENERGY", "volume": Decimal("10")},
                    {"type": "ENERGY_IMPORT", "volume": Decimal("10")},
                    {"type": "ENERGY_EXPORT", "volume": Decimal("0.5")},
                    {"type": "CURRENT", "volume": Decimal("-12.5")},
                    {"type": "POWER", "volume": Decimal("-3.2")},
                    {"type": "STATE_OF_CHARGE", "volume": Decimal("80")},
                    {"type": "MIN_CURRENT", "volume": Decimal("6")},
                    {"type": "MAX_CURRENT", "volume": Decimal("32")},
                    {"type": "MIN_POWER", "volume": Decimal("3")},
                    {"type": "MAX_POWER", "volume": Decimal("11")},
                    {"type": "TIME", "volume": Decimal("2")},
                ],
            }
        )
        tariff_json = loads_ocpi((EXAMPLES / "tariff_8_simple_025kwh.json").read_text())

        out = rate_ocpi_cdr(tariff_json=tariff_json, cdr_json=cdr, time_zone=None)

        assert out["total_energy"] == Decimal("10")
        assert out["total_cost"]["excl_vat"] == Decimal("2.50")

    def test_prices_energy_import_when_a_partner_reports_no_energy(self) -> None:
        cdr = self.cdr(
            {
                "start_date_time": "2025-03-04T10:00:00Z",
                "dimensions": [
                    {"type": "ENERGY_IMPORT", "volume": Decimal("8")},
                    {"type": "TIME", "volume": Decimal("2")},
                ],
            }
        )
        tariff_json = loads_ocpi((EXAMPLES / "tariff_8_simple_025kwh.json").read_text())

        out = rate_ocpi_cdr(tariff_json=tariff_json, cdr_json=cdr, time_zone=None)

        assert out["total_cost"]["excl_vat"] == Decimal("2.00")

    @pytest.mark.parametrize(
        ("power_kw", "price_per_kwh"),
        [(Decimal("11"), Decimal("0.20")), (Decimal("22"), Decimal("0.35"))],
    )
    def test_average_power_chooses_the_power_restricted_element(
        self, power_kw: Decimal, price_per_kwh: Decimal
    ) -> None:
        cdr = self.cdr(
            {
                "start_date_time": "2025-03-04T10:00:00Z",
                "dimensions": [
                    {"type": "ENERGY", "volume": Decimal("10")},
                    {"type": "POWER", "volume": power_kw},
                    {"type": "TIME", "volume": Decimal("2")},
                ],
            }
        )
        tariff_json = loads_ocpi(
            (EXAMPLES / "tariffrestriction_example_max_power.json").read_text()
        )

        out = rate_ocpi_cdr(tariff_json=tariff_json, cdr_json=cdr, time_zone=None)

        assert out["total_cost"]["excl_vat"] == 10 * price_per_kwh

    def test_a_tariff_without_an_id_is_the_one_the_periods_name(self) -> None:
        cdr = self.cdr(
            {
                "start_date_time": "2025-03-04T10:00:00Z",
                "tariff_id": "12",
                "dimensions": [{"type": "ENERGY", "volume": Decimal("4")}],
            }
        )
        tariff_json = dict(loads_ocpi((EXAMPLES / "tariff_8_simple_025kwh.json").read_text()))
        del tariff_json["id"]

        out = rate_ocpi_cdr(tariff_json=tariff_json, cdr_json=cdr, time_zone=None)

        assert out["total_cost"]["excl_vat"] == Decimal("1.00")
        assert out["warnings"] == ["tariff.id: missing; rated as '12'"]

    def test_malformed_identification_is_still_an_error(self) -> None:
        cdr = self.cdr(
            {
                "start_date_time": "2025-03-04T10:00:00Z",
                "dimensions": [{"type": "ENERGY", "volume": Decimal("4")}],
            }
        )
        tariff_json = dict(loads_ocpi((EXAMPLES / "tariff_8_simple_025kwh.json").read_text()))
        tariff_json["party_id"] = "TOO-LONG"

        with pytest.raises(InvalidTariff, match="party_id"):
            rate_ocpi_cdr(tariff_json=tariff_json, cdr_json=cdr, time_zone=None)

    def test_a_complete_tariff_gives_no_warnings(self) -> None:
        cdr = loads_ocpi((EXAMPLES / "cdr_example.json").read_text())

        out = rate_ocpi_cdr(tariff_json=cdr["tariffs"][0], cdr_json=cdr, time_zone=None)

        assert "warnings" not in out

    def test_only_current_and_power_may_be_negative(self) -> None:
        cdr = self.cdr(
            {
                "start_date_time": "2025-03-04T10:00:00Z",
                "dimensions": [
                    {"type": "ENERGY_EXPORT", "volume": Decimal("-1")},
                    {"type": "TIME", "volume": Decimal("2")},
                ],
            }
        )
        tariff_json = loads_ocpi((EXAMPLES / "tariff_8_simple_025kwh.json").read_text())

        with pytest.raises(InvalidCdr) as caught:
            rate_ocpi_cdr(tariff_json=tariff_json, cdr_json=cdr, time_zone=None)

        assert [str(error) for error in caught.value.errors] == [
            "charging_periods[0].dimensions[0].volume: must be a finite number >= 0"
        ]

    def test_lists_every_cdr_error_with_its_path(self) -> None:
        cdr = {
            "currency": "USD",
            "end_date_time": "soon",
            "charging_periods": [
                {
                    "start_date_time": "2025-03-04T10:00:00Z",
                    "tariff_id": "99",
                    "dimensions": [
                        {"type": "ENERGY", "volume": 1.5},
                        {"type": "SPEED", "volume": 1},
                    ],
                }
            ],
        }

        with pytest.raises(InvalidCdr) as caught:
            rate_ocpi_cdr(
                tariff_json=loads_ocpi((EXAMPLES / "tariff_8_simple_025kwh.json").read_text()),
                cdr_json=cdr,
                time_zone="UTC",
            )

        assert [str(error) for error in caught.value.errors] == [
            "currency: is 'USD', the tariff's is EUR",
            "end_date_time: must be an ISO 8601 DateTime in UTC",
            "charging_periods[0].tariff_id: is '99', not the rated tariff",
            "charging_periods[0].dimensions[0].volume: "
            "must be a decimal number (parse JSON with parse_float=Decimal)",
            "charging_periods[0].dimensions[1].type: is not a CdrDimensionType",
        ]

    def test_returns_json_ready_output(self) -> None:
        cdr = loads_ocpi((EXAMPLES / "cdr_example.json").read_text())

        out = rate_ocpi_cdr(
            tariff_json=cdr["tariffs"][0], cdr_json=cdr, time_zone="Europe/Brussels"
        )

        assert loads_ocpi(dumps_ocpi(out)) == out
        assert out["charging_periods"][0]["dimensions"][-1] == {
            "type": "TIME",
            "volume": Decimal("1.973056"),
        }
