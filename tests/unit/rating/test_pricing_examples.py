"""Every worked example of docs/pricing.md, with the same tariffs, sessions and numbers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from evbilling.rating.engine import (
    ChargingPeriodInput,
    LineKind,
    PeriodKind,
    RatedCdr,
    rate_session,
)
from evbilling.tariffs.domain import loads_ocpi, parse_tariff

ZONE = "Europe/Amsterdam"


def local(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=ZoneInfo(ZONE)).astimezone(UTC)


def charging(start: datetime, kwh: str) -> ChargingPeriodInput:
    return ChargingPeriodInput(start=start, kind=PeriodKind.CHARGING, energy_kwh=Decimal(kwh))


def parking(start: datetime) -> ChargingPeriodInput:
    return ChargingPeriodInput(start=start, kind=PeriodKind.PARKING)


def rate(tariff_json: str, periods: list[ChargingPeriodInput], end: datetime) -> RatedCdr:
    tariff = parse_tariff(loads_ocpi(tariff_json))
    return rate_session(tariff=tariff, periods=periods, end=end, time_zone=ZONE)


def lines_of(rated: RatedCdr) -> list[tuple[str, str, str, str, str | None]]:
    """(kind, quantity, unit price, amount excl. VAT, amount incl. VAT) per line."""
    return [
        (
            line.kind.value,
            str(line.quantity),
            str(line.unit_price),
            str(line.amount_excl_vat),
            None if line.amount_incl_vat is None else str(line.amount_incl_vat),
        )
        for line in rated.lines
    ]


def totals(rated: RatedCdr) -> tuple[str, str | None]:
    cost = rated.total_cost
    return str(cost.excl_vat), None if cost.incl_vat is None else str(cost.incl_vat)


PER_KWH = """
{"country_code": "NL", "party_id": "EVB", "id": "per-kwh", "currency": "EUR",
 "elements": [{"price_components": [
   {"type": "ENERGY", "price": 0.35, "vat": 21.0, "step_size": 1}]}]}
"""

PER_MINUTE = """
{"country_code": "NL", "party_id": "EVB", "id": "per-minute", "currency": "EUR",
 "elements": [{"price_components": [
   {"type": "TIME", "price": 3.00, "vat": 21.0, "step_size": 60}]}]}
"""

PER_SESSION = """
{"country_code": "NL", "party_id": "EVB", "id": "per-session", "currency": "EUR",
 "elements": [{"price_components": [
   {"type": "FLAT", "price": 2.50, "vat": 21.0, "step_size": 1}]}]}
"""

IDLE_FEE = """
{"country_code": "NL", "party_id": "EVB", "id": "idle-fee", "currency": "EUR",
 "elements": [
   {"price_components": [{"type": "ENERGY", "price": 0.30, "vat": 21.0, "step_size": 1}]},
   {"price_components": [{"type": "PARKING_TIME", "price": 6.00, "vat": 21.0, "step_size": 60}],
    "restrictions": {"min_duration": 7200, "max_duration": 18000}}
 ]}
"""

TIME_OF_USE = """
{"country_code": "NL", "party_id": "EVB", "id": "time-of-use", "currency": "EUR",
 "elements": [
   {"price_components": [{"type": "ENERGY", "price": 0.45, "vat": 21.0, "step_size": 1}],
    "restrictions": {"start_time": "17:00", "end_time": "21:00"}},
   {"price_components": [{"type": "ENERGY", "price": 0.25, "vat": 21.0, "step_size": 1}]}
 ]}
"""

WEEKEND = """
{"country_code": "NL", "party_id": "EVB", "id": "weekend", "currency": "EUR",
 "elements": [
   {"price_components": [{"type": "ENERGY", "price": 0.29, "vat": 21.0, "step_size": 1}],
    "restrictions": {"day_of_week": ["SATURDAY", "SUNDAY"]}},
   {"price_components": [{"type": "ENERGY", "price": 0.39, "vat": 21.0, "step_size": 1}]}
 ]}
"""

FIRST_KWH_FREE = """
{"country_code": "NL", "party_id": "EVB", "id": "first-5-kwh-free", "currency": "EUR",
 "elements": [
   {"price_components": [{"type": "ENERGY", "price": 0.00, "vat": 21.0, "step_size": 1}],
    "restrictions": {"max_kwh": 5}},
   {"price_components": [{"type": "ENERGY", "price": 0.40, "vat": 21.0, "step_size": 1}]}
 ]}
"""

MIN_MAX = """
{"country_code": "NL", "party_id": "EVB", "id": "min-max", "currency": "EUR",
 "min_price": {"excl_vat": 1.00, "incl_vat": 1.21},
 "max_price": {"excl_vat": 20.00, "incl_vat": 24.20},
 "elements": [{"price_components": [
   {"type": "ENERGY", "price": 0.30, "vat": 21.0, "step_size": 1}]}]}
"""

COMBINATION = """
{"country_code": "NL", "party_id": "EVB", "id": "combination", "currency": "EUR",
 "max_price": {"excl_vat": 40.00, "incl_vat": 48.40},
 "elements": [
   {"price_components": [{"type": "ENERGY", "price": 0.39, "vat": 21.0, "step_size": 1}],
    "restrictions": {"start_time": "17:00", "end_time": "21:00",
                     "day_of_week": ["MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY"]}},
   {"price_components": [{"type": "FLAT", "price": 1.00, "vat": 21.0, "step_size": 1},
                         {"type": "ENERGY", "price": 0.29, "vat": 21.0, "step_size": 1}]},
   {"price_components": [{"type": "PARKING_TIME", "price": 6.00, "vat": 21.0, "step_size": 300}],
    "restrictions": {"min_duration": 10800}}
 ]}
"""


class TestPayPerKwh:
    def test_charges_every_kwh_at_one_price(self) -> None:
        start = local(2025, 3, 11, 10, 0)

        rated = rate(PER_KWH, [charging(start, "22.5")], start + timedelta(minutes=70))

        assert lines_of(rated) == [("ENERGY", "22.5", "0.35", "7.88", "9.53")]
        assert totals(rated) == ("7.88", "9.53")


class TestPayPerMinute:
    def test_bills_started_minutes_of_charging_and_no_parking(self) -> None:
        start = local(2025, 3, 11, 10, 0)
        periods = [charging(start, "20"), parking(start + timedelta(minutes=47, seconds=20))]

        rated = rate(PER_MINUTE, periods, start + timedelta(minutes=57, seconds=20))

        assert lines_of(rated) == [("TIME", "0.800000", "3.00", "2.40", "2.90")]
        assert rated.lines[0].duration == timedelta(minutes=48)
        assert totals(rated) == ("2.40", "2.90")


class TestPayPerSession:
    def test_charges_the_start_fee_once_rounding_vat_half_up(self) -> None:
        start = local(2025, 3, 11, 10, 0)
        periods = [charging(start, "35"), parking(start + timedelta(hours=3))]

        rated = rate(PER_SESSION, periods, start + timedelta(hours=4))

        assert lines_of(rated) == [("FLAT", "1", "2.50", "2.50", "3.03")]
        assert totals(rated) == ("2.50", "3.03")


class TestIdleFee:
    def test_charges_idle_fee_after_grace_period_up_to_the_cap(self) -> None:
        start = local(2025, 3, 11, 10, 0)
        periods = [charging(start, "30"), parking(local(2025, 3, 11, 11, 30))]

        rated = rate(IDLE_FEE, periods, local(2025, 3, 11, 17, 0))

        assert lines_of(rated) == [
            ("ENERGY", "30", "0.30", "9.00", "10.89"),
            ("PARKING_TIME", "3.000000", "6.00", "18.00", "21.78"),
        ]
        assert totals(rated) == ("27.00", "32.67")
        assert rated.total_parking_time == Decimal("5.500000")

    def test_charges_no_idle_fee_within_the_grace_period(self) -> None:
        start = local(2025, 3, 11, 10, 0)
        periods = [charging(start, "12"), parking(local(2025, 3, 11, 10, 45))]

        rated = rate(IDLE_FEE, periods, local(2025, 3, 11, 11, 50))

        assert lines_of(rated) == [("ENERGY", "12", "0.30", "3.60", "4.36")]
        assert totals(rated) == ("3.60", "4.36")


class TestTimeOfUse:
    def test_splits_a_period_at_the_peak_boundary(self) -> None:
        periods = [charging(local(2025, 3, 11, 16, 30), "11")]

        rated = rate(TIME_OF_USE, periods, local(2025, 3, 11, 17, 30))

        assert lines_of(rated) == [
            ("ENERGY", "5.5", "0.25", "1.38", "1.66"),
            ("ENERGY", "5.5", "0.45", "2.47", "3.00"),
        ]
        assert totals(rated) == ("3.85", "4.66")
        assert [period.energy_element for period in rated.charging_periods] == [1, 0]


class TestWeekendPrices:
    def test_prices_energy_after_friday_midnight_at_the_weekend_rate(self) -> None:
        periods = [charging(local(2025, 3, 14, 23, 0), "16")]

        rated = rate(WEEKEND, periods, local(2025, 3, 15, 1, 0))

        assert lines_of(rated) == [
            ("ENERGY", "8", "0.39", "3.12", "3.77"),
            ("ENERGY", "8", "0.29", "2.32", "2.81"),
        ]
        assert totals(rated) == ("5.44", "6.58")


class TestFirstKwhFree:
    def test_gives_the_first_five_kwh_free(self) -> None:
        start = local(2025, 3, 11, 10, 0)

        rated = rate(FIRST_KWH_FREE, [charging(start, "18")], start + timedelta(hours=2))

        assert lines_of(rated) == [
            ("ENERGY", "5", "0.00", "0.00", "0.00"),
            ("ENERGY", "13", "0.40", "5.20", "6.29"),
        ]
        assert totals(rated) == ("5.20", "6.29")


class TestMinimumAndMaximumPrice:
    def test_lifts_a_small_session_to_the_minimum_price(self) -> None:
        start = local(2025, 3, 11, 10, 0)

        rated = rate(MIN_MAX, [charging(start, "2")], start + timedelta(minutes=20))

        assert lines_of(rated) == [
            ("ENERGY", "2", "0.30", "0.60", "0.73"),
            ("MIN_PRICE", "1", "0.40", "0.40", "0.48"),
        ]
        assert totals(rated) == ("1.00", "1.21")

    def test_caps_a_large_session_at_the_maximum_price(self) -> None:
        start = local(2025, 3, 11, 10, 0)

        rated = rate(MIN_MAX, [charging(start, "80")], start + timedelta(hours=2))

        assert lines_of(rated) == [
            ("ENERGY", "80", "0.30", "24.00", "29.04"),
            ("MAX_PRICE", "1", "-4.00", "-4.00", "-4.84"),
        ]
        assert totals(rated) == ("20.00", "24.20")
        assert rated.total_energy_cost.excl_vat == Decimal("24.00")
        assert rated.total_price_adjustment.excl_vat == Decimal("-4.00")


class TestCombination:
    def test_combines_start_fee_time_of_use_and_idle_fee(self) -> None:
        periods = [
            charging(local(2025, 3, 12, 15, 0), "11"),
            charging(local(2025, 3, 12, 16, 0), "16.5"),
            charging(local(2025, 3, 12, 17, 30), "4"),
            parking(local(2025, 3, 12, 18, 0)),
        ]

        rated = rate(COMBINATION, periods, local(2025, 3, 12, 18, 47))

        assert lines_of(rated) == [
            ("FLAT", "1", "1.00", "1.00", "1.21"),
            ("ENERGY", "22", "0.29", "6.38", "7.72"),
            ("ENERGY", "9.5", "0.39", "3.71", "4.48"),
            ("PARKING_TIME", "0.833333", "6.00", "5.00", "6.05"),
        ]
        assert totals(rated) == ("16.09", "19.46")
        assert rated.total_fixed_cost.excl_vat == Decimal("1.00")
        assert rated.total_energy_cost.excl_vat == Decimal("10.09")
        assert rated.total_parking_cost.excl_vat == Decimal("5.00")
        assert [line.kind for line in rated.lines][-1] is LineKind.PARKING_TIME
