"""What stations report becomes the rating engine's periods."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from evbilling.charging.metering import (
    Reading,
    SessionEvidence,
    StatusChange,
    decode_periods,
    encode_periods,
    idle_intervals,
    periods_for,
)
from evbilling.rating.engine import PeriodKind

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def register(minutes: float, wh: int, **extra: str) -> Reading:
    sampled = {"value": str(wh), "measurand": "Energy.Active.Import.Register", "unit": "Wh"}
    return Reading(timestamp=at(minutes), sampled_values=[{**sampled, **extra}])


class TestPeriodsFor:
    def test_energy_between_readings_lands_in_each_period(self) -> None:
        evidence = SessionEvidence(
            started_at=at(0),
            ended_at=at(30),
            meter_start_wh=1000,
            meter_end_wh=4000,
            readings=[register(10, 2000), register(20, 3500)],
        )

        periods = periods_for(evidence)

        assert [p.energy_kwh for p in periods] == [Decimal(1), Decimal("1.5"), Decimal("0.5")]
        assert all(p.kind is PeriodKind.CHARGING for p in periods)

    def test_a_reading_below_the_highest_so_far_is_not_billed(self) -> None:
        evidence = SessionEvidence(
            started_at=at(0),
            ended_at=at(30),
            meter_start_wh=0,
            meter_end_wh=3000,
            readings=[register(10, 2000), register(20, 1500)],
        )

        periods = periods_for(evidence)

        assert sum(p.energy_kwh for p in periods) == Decimal(3)
        assert [p.start for p in periods] == [at(0), at(10)]

    def test_time_in_suspended_ev_is_parking(self) -> None:
        evidence = SessionEvidence(
            started_at=at(0),
            ended_at=at(60),
            meter_start_wh=0,
            meter_end_wh=5000,
            readings=[register(30, 5000)],
            statuses=[
                StatusChange(timestamp=at(-1), status="Preparing"),
                StatusChange(timestamp=at(0), status="Charging"),
                StatusChange(timestamp=at(30), status="SuspendedEV"),
            ],
        )

        periods = periods_for(evidence)

        assert [(p.start, p.kind) for p in periods] == [
            (at(0), PeriodKind.CHARGING),
            (at(30), PeriodKind.PARKING),
        ]

    def test_power_and_phase_currents_feed_restrictions(self) -> None:
        reading = Reading(
            timestamp=at(10),
            sampled_values=[
                {"value": "2000", "measurand": "Energy.Active.Import.Register"},
                {"value": "11000", "measurand": "Power.Active.Import", "unit": "W"},
                {"value": "16", "measurand": "Current.Import", "phase": "L1", "unit": "A"},
                {"value": "15", "measurand": "Current.Import", "phase": "L2", "unit": "A"},
            ],
        )
        evidence = SessionEvidence(
            started_at=at(0),
            ended_at=at(20),
            meter_start_wh=0,
            meter_end_wh=4000,
            readings=[reading],
        )

        periods = periods_for(evidence)

        assert periods[1].max_power == Decimal(11)
        assert periods[1].max_current == Decimal(31)

    @staticmethod
    def _current_of(*currents: dict[str, str]) -> Decimal | None:
        reading = Reading(
            timestamp=at(10),
            sampled_values=[
                {"value": "2000", "measurand": "Energy.Active.Import.Register"},
                *({"measurand": "Current.Import", "unit": "A", **c} for c in currents),
            ],
        )
        evidence = SessionEvidence(
            started_at=at(0),
            ended_at=at(20),
            meter_start_wh=0,
            meter_end_wh=4000,
            readings=[reading],
        )
        return periods_for(evidence)[1].max_current

    def test_an_overall_current_is_never_added_to_the_phase_currents(self) -> None:
        current = self._current_of(
            {"value": "48"},
            {"value": "16", "phase": "L1"},
            {"value": "16", "phase": "L2"},
            {"value": "16", "phase": "L3"},
        )

        assert current == Decimal(48)

    def test_an_overall_current_alone_is_the_current(self) -> None:
        assert self._current_of({"value": "32"}) == Decimal(32)

    def test_the_neutral_conductor_is_not_counted(self) -> None:
        current = self._current_of({"value": "16", "phase": "L1"}, {"value": "3", "phase": "N"})

        assert current == Decimal(16)

    def test_a_jump_beyond_the_evse_power_is_not_billed_where_it_was_read(self) -> None:
        # 1,000 kWh in 2 minutes on a 22 kW EVSE; the session is billed up to 6,000 Wh.
        evidence = SessionEvidence(
            started_at=at(0),
            ended_at=at(40),
            meter_start_wh=1000,
            meter_end_wh=6000,
            readings=[register(30, 6000), register(32, 1_006_000), register(35, 6000)],
            max_power_w=22_000,
        )

        periods = periods_for(evidence)

        assert [(p.start, p.energy_kwh) for p in periods] == [
            (at(0), Decimal(5)),
            (at(30), Decimal(0)),
            (at(35), Decimal(0)),
        ]

    def test_a_reading_grown_too_fast_is_skipped_even_below_the_billed_end(self) -> None:
        # 5 kWh in one minute is beyond 22 kW; the stop at 40 minutes is plausible.
        evidence = SessionEvidence(
            started_at=at(0),
            ended_at=at(40),
            meter_start_wh=0,
            meter_end_wh=6000,
            readings=[register(1, 5000), register(20, 5500)],
            max_power_w=22_000,
        )

        periods = periods_for(evidence)

        assert [(p.start, p.energy_kwh) for p in periods] == [
            (at(0), Decimal("5.5")),
            (at(20), Decimal("0.5")),
        ]

    def test_registers_no_meter_can_hold_are_never_billed(self) -> None:
        evidence = SessionEvidence(
            started_at=at(0),
            ended_at=at(30),
            meter_start_wh=0,
            meter_end_wh=3000,
            readings=[
                Reading(timestamp=at(10), sampled_values=[{"value": "1e300"}]),
                Reading(timestamp=at(12), sampled_values=[{"value": "-5", "unit": "kWh"}]),
                Reading(timestamp=at(15), sampled_values=[{"value": "NaN"}]),
                register(20, 2000),
            ],
            max_power_w=22_000,
        )

        periods = periods_for(evidence)

        assert [(p.start, p.energy_kwh) for p in periods] == [
            (at(0), Decimal(2)),
            (at(20), Decimal(1)),
        ]

    def test_meter_stop_below_meter_start_bills_no_energy(self) -> None:
        evidence = SessionEvidence(
            started_at=at(0), ended_at=at(10), meter_start_wh=5000, meter_end_wh=10
        )

        periods = periods_for(evidence)

        assert sum(p.energy_kwh for p in periods) == 0


class TestIdleIntervals:
    def test_clips_idle_statuses_to_the_session(self) -> None:
        statuses = [
            StatusChange(timestamp=at(-5), status="SuspendedEVSE"),
            StatusChange(timestamp=at(5), status="Charging"),
            StatusChange(timestamp=at(50), status="Finishing"),
        ]

        intervals = idle_intervals(statuses=statuses, start=at(0), end=at(60))

        assert [(i.start, i.end) for i in intervals] == [(at(0), at(5)), (at(50), at(60))]


class TestKeptPeriods:
    def test_periods_survive_their_stored_form_exactly(self) -> None:
        evidence = SessionEvidence(
            started_at=at(0),
            ended_at=at(60),
            meter_start_wh=0,
            meter_end_wh=5001,
            readings=[register(30, 5001)],
            statuses=[StatusChange(timestamp=at(30), status="SuspendedEV")],
        )
        periods = periods_for(evidence)

        restored = decode_periods(json.loads(json.dumps(encode_periods(periods))))

        assert restored == periods
