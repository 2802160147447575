"""Current and power for restrictions: line phases summed, or the overall value, never both."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from evbilling.charging.metering import Reading, SessionEvidence, periods_for
from evbilling.rating.engine import ChargingPeriodInput, rate_session
from evbilling.tariffs.domain import dumps_ocpi, loads_ocpi, parse_tariff

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def period_with(*sampled: dict[str, str]) -> ChargingPeriodInput:
    """The period of a reading at minute 10 carrying `sampled` (plus the energy register)."""
    reading = Reading(
        timestamp=T0 + timedelta(minutes=10),
        sampled_values=[
            {"value": "2000", "measurand": "Energy.Active.Import.Register", "unit": "Wh"},
            *sampled,
        ],
    )
    evidence = SessionEvidence(
        started_at=T0,
        ended_at=T0 + timedelta(minutes=20),
        meter_start_wh=0,
        meter_end_wh=4000,
        readings=[reading],
    )
    return periods_for(evidence)[1]


def power(value: str, **extra: str) -> dict[str, str]:
    return {"value": value, "measurand": "Power.Active.Import", **extra}


def current(value: str, **extra: str) -> dict[str, str]:
    return {"value": value, "measurand": "Current.Import", "unit": "A", **extra}


class TestPower:
    def test_the_overall_power_is_the_power(self) -> None:
        assert period_with(power("11000", unit="W")).max_power == Decimal(11)

    def test_per_phase_powers_add_up_when_no_overall_value_is_reported(self) -> None:
        period = period_with(
            power("3.7", unit="kW", phase="L1-N"),
            power("3.7", unit="kW", phase="L2-N"),
            power("3.6", unit="kW", phase="L3-N"),
        )

        assert period.max_power == Decimal("11.0")

    def test_an_overall_power_is_never_added_to_the_phase_powers(self) -> None:
        period = period_with(
            power("11000", unit="W"),
            power("3700", unit="W", phase="L1"),
            power("3700", unit="W", phase="L2"),
            power("3600", unit="W", phase="L3"),
        )

        assert period.max_power == Decimal(11)

    def test_one_line_reported_twice_counts_once(self) -> None:
        period = period_with(power("3700", phase="L1"), power("3700", phase="L1-N"))

        assert period.max_power == Decimal("3.7")

    @pytest.mark.parametrize("phase", ["N", "L1-L2"])
    def test_neutral_and_line_to_line_values_do_not_count(self, phase: str) -> None:
        period = period_with(power("3700", phase="L1"), power("500", phase=phase))

        assert period.max_power == Decimal("3.7")

    def test_the_stations_grid_inlet_is_not_the_car(self) -> None:
        period = period_with(power("40000", location="Inlet"), power("7000", location="Outlet"))

        assert period.max_power == Decimal(7)


class TestCurrent:
    def test_phase_currents_add_up(self) -> None:
        period = period_with(
            current("16", phase="L1"), current("16", phase="L2"), current("15", phase="L3")
        )

        assert period.max_current == Decimal(47)

    def test_an_overall_current_alone_is_the_current(self) -> None:
        assert period_with(current("32")).max_current == Decimal(32)

    def test_an_overall_current_beside_phases_is_not_added(self) -> None:
        period = period_with(current("16"), current("16", phase="L1"), current("16", phase="L2"))

        assert period.max_current == Decimal(32)

    def test_a_current_in_another_unit_is_ignored(self) -> None:
        assert period_with(current("16", unit="mA")).max_current is None


class TestRestrictionsChooseByTheRightValue:
    def test_a_three_phase_16_a_charge_is_priced_as_48_a_not_64(self) -> None:
        # Below 63 A (all phases) costs 0.30/kWh; from 63 A 0.50. The station reports the
        # overall 48 A and its three phases: adding them would wrongly give 96 A.
        data = {
            "country_code": "DE",
            "party_id": "EVB",
            "id": "A",
            "currency": "EUR",
            "elements": [
                {
                    "price_components": [
                        {"type": "ENERGY", "price": Decimal("0.30"), "step_size": 1}
                    ],
                    "restrictions": {"max_current": 63},
                },
                {
                    "price_components": [
                        {"type": "ENERGY", "price": Decimal("0.50"), "step_size": 1}
                    ]
                },
            ],
        }
        tariff = parse_tariff(loads_ocpi(dumps_ocpi(data)))
        sampled = [current("48")] + [current("16", phase=f"L{n}") for n in (1, 2, 3)]
        reading = Reading(
            timestamp=T0,
            sampled_values=[
                {"value": "0", "measurand": "Energy.Active.Import.Register", "unit": "Wh"},
                *sampled,
            ],
        )
        evidence = SessionEvidence(
            started_at=T0 - timedelta(seconds=1),
            ended_at=T0 + timedelta(minutes=30),
            meter_start_wh=0,
            meter_end_wh=10_000,
            readings=[reading],
        )
        periods = periods_for(evidence)

        rated = rate_session(tariff=tariff, periods=periods, end=evidence.ended_at, time_zone="UTC")

        assert [period.max_current for period in periods] == [None, Decimal(48)]
        assert rated.total_energy_cost.excl_vat == Decimal("3.00")
