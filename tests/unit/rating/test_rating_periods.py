"""Building rating periods from meter samples, power samples and connector status."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from evbilling.rating.engine import (
    ChargingPeriodInput,
    CurrentSample,
    IdleInterval,
    InvalidMeterData,
    MeterSample,
    PeriodKind,
    PowerSample,
    build_periods,
    rate_session,
)
from evbilling.tariffs.domain import loads_ocpi, parse_tariff

START = datetime(2025, 3, 4, 10, 0, tzinfo=UTC)


def minutes(count: float) -> datetime:
    return START + timedelta(minutes=count)


def meter(*readings: tuple[float, int]) -> list[MeterSample]:
    """(minute, register Wh) pairs."""
    return [MeterSample(at=minutes(minute), energy_wh=wh) for minute, wh in readings]


def shape(periods: list[ChargingPeriodInput]) -> list[tuple[datetime, PeriodKind, Decimal]]:
    return [(period.start, period.kind, period.energy_kwh) for period in periods]


class TestBuildPeriods:
    def test_turns_register_differences_into_charging_periods(self) -> None:
        samples = meter((0, 1000), (15, 4000), (30, 7500))

        periods = build_periods(meter_samples=samples, end=minutes(30))

        assert shape(periods) == [
            (minutes(0), PeriodKind.CHARGING, Decimal("3")),
            (minutes(15), PeriodKind.CHARGING, Decimal("3.5")),
        ]

    def test_counts_time_after_the_last_energy_increase_as_parking(self) -> None:
        samples = meter((0, 0), (30, 10000), (45, 10000), (60, 10000))

        periods = build_periods(meter_samples=samples, end=minutes(75))

        assert [period.kind for period in periods] == [
            PeriodKind.CHARGING,
            PeriodKind.PARKING,
            PeriodKind.PARKING,
            PeriodKind.PARKING,
        ]

    def test_counts_time_before_energy_flows_and_unreported_pauses_as_charging(self) -> None:
        samples = meter((0, 0), (5, 0), (20, 3000), (25, 3000), (40, 6000))

        periods = build_periods(meter_samples=samples, end=minutes(40))

        assert [period.kind for period in periods] == [PeriodKind.CHARGING] * 4

    def test_counts_a_reported_idle_status_as_parking_and_moves_its_energy(self) -> None:
        samples = meter((0, 0), (20, 4000), (40, 4000))
        suspended = [IdleInterval(start=minutes(10), end=minutes(25))]

        periods = build_periods(meter_samples=samples, idle_intervals=suspended, end=minutes(40))

        assert shape(periods) == [
            (minutes(0), PeriodKind.CHARGING, Decimal("4")),
            (minutes(10), PeriodKind.PARKING, Decimal("0")),
            (minutes(20), PeriodKind.PARKING, Decimal("0")),
        ]

    def test_shares_energy_between_non_idle_parts_by_duration(self) -> None:
        samples = meter((0, 0), (30, 3000))
        suspended = [IdleInterval(start=minutes(10), end=minutes(20))]

        periods = build_periods(meter_samples=samples, idle_intervals=suspended, end=minutes(30))

        assert shape(periods) == [
            (minutes(0), PeriodKind.CHARGING, Decimal("1.5")),
            (minutes(10), PeriodKind.PARKING, Decimal("0")),
            (minutes(20), PeriodKind.CHARGING, Decimal("1.5")),
        ]

    def test_keeps_energy_in_a_wholly_idle_interval(self) -> None:
        samples = meter((0, 0), (10, 500))
        suspended = [IdleInterval(start=minutes(0), end=minutes(10))]

        periods = build_periods(meter_samples=samples, idle_intervals=suspended, end=minutes(10))

        assert shape(periods) == [(minutes(0), PeriodKind.PARKING, Decimal("0.5"))]

    def test_takes_power_and_current_extremes_within_each_period(self) -> None:
        samples = meter((0, 0), (10, 1000), (20, 3000))
        power = [
            PowerSample(at=minutes(minute), kw=Decimal(kw))
            for minute, kw in ((0, 6), (5, 7), (10, 11), (15, 12), (20, 0))
        ]
        current = [CurrentSample(at=minutes(12), amperes=Decimal("16"))]

        periods = build_periods(
            meter_samples=samples, power_samples=power, current_samples=current, end=minutes(20)
        )

        assert [(p.min_power, p.max_power) for p in periods] == [
            (Decimal(6), Decimal(7)),
            (Decimal(11), Decimal(12)),
        ]
        assert [(p.min_current, p.max_current) for p in periods] == [
            (None, None),
            (Decimal(16), Decimal(16)),
        ]

    def test_leads_with_a_reservation_period(self) -> None:
        periods = build_periods(
            meter_samples=meter((0, 0), (10, 1000)),
            end=minutes(10),
            reservation_start=minutes(-15),
        )

        assert shape(periods) == [
            (minutes(-15), PeriodKind.RESERVATION, Decimal(0)),
            (minutes(0), PeriodKind.CHARGING, Decimal(1)),
        ]

    def test_keeps_the_later_reading_of_a_repeated_timestamp(self) -> None:
        samples = meter((0, 0), (10, 1000), (10, 1200), (20, 2000))

        periods = build_periods(meter_samples=samples, end=minutes(20))

        assert [p.energy_kwh for p in periods] == [Decimal("1.2"), Decimal("0.8")]

    @pytest.mark.parametrize(
        ("samples", "end", "message"),
        [
            ([], minutes(10), "at least one meter sample"),
            (meter((0, 10), (5, 5)), minutes(10), "went backwards"),
            (meter((5, 0), (0, 10)), minutes(10), "earlier than the sample before it"),
            (meter((0, 0), (10, 10)), minutes(5), "end is before the last meter sample"),
            (
                [MeterSample(at=datetime(2025, 1, 1), energy_wh=0)],  # noqa: DTZ001 - the point
                minutes(5),
                "must be timezone-aware",
            ),
        ],
    )
    def test_refuses_meter_data_that_is_not_a_session(
        self, samples: list[MeterSample], end: datetime, message: str
    ) -> None:
        with pytest.raises(InvalidMeterData, match=message):
            build_periods(meter_samples=samples, end=end)


class TestRateBuiltPeriods:
    def test_charges_idle_fee_after_grace_period(self) -> None:
        idle_fee = parse_tariff(
            loads_ocpi(
                """
                {"country_code": "NL", "party_id": "EVB", "id": "idle", "currency": "EUR",
                 "elements": [
                   {"price_components": [{"type": "ENERGY", "price": 0.30, "vat": 21.0,
                                          "step_size": 1}]},
                   {"price_components": [{"type": "PARKING_TIME", "price": 6.00, "vat": 21.0,
                                          "step_size": 60}],
                    "restrictions": {"min_duration": 3600}}
                 ]}
                """
            )
        )
        samples = meter((0, 0), (30, 11000), (50, 20000), (80, 20000), (95, 20000))

        periods = build_periods(meter_samples=samples, end=minutes(95))
        rated = rate_session(tariff=idle_fee, periods=periods, end=minutes(95), time_zone="UTC")

        assert [
            (line.kind.value, str(line.quantity), str(line.amount_excl_vat)) for line in rated.lines
        ] == [
            ("ENERGY", "20", "6.00"),
            ("PARKING_TIME", "0.583333", "3.50"),
        ]
        assert rated.total_parking_time == Decimal("0.750000")
