"""Evidence that runs on past the stop to when the car left: charged up to the stop, idle
(parking, no energy) from the stop to the end, whatever the connector's status said."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from evbilling.charging.metering import Reading, SessionEvidence, StatusChange, periods_for
from evbilling.rating.engine import PeriodKind

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def register(minutes: float, wh: int) -> Reading:
    sampled = {"value": str(wh), "measurand": "Energy.Active.Import.Register", "unit": "Wh"}
    return Reading(timestamp=at(minutes), sampled_values=[sampled])


class TestChargedUntil:
    def test_energy_ends_at_the_stop_and_the_rest_is_parking(self) -> None:
        evidence = SessionEvidence(
            started_at=at(0),
            ended_at=at(50),
            meter_start_wh=0,
            meter_end_wh=3000,
            readings=[register(10, 1000)],
            statuses=[StatusChange(at(0), "Charging")],
            charged_until=at(30),
        )

        periods = periods_for(evidence)

        assert [(p.start, p.kind, p.energy_kwh) for p in periods] == [
            (at(0), PeriodKind.CHARGING, Decimal(1)),
            (at(10), PeriodKind.CHARGING, Decimal(2)),
            (at(30), PeriodKind.PARKING, Decimal(0)),
        ]

    def test_a_session_without_energy_idles_from_its_stop(self) -> None:
        evidence = SessionEvidence(
            started_at=at(0),
            ended_at=at(20),
            meter_start_wh=500,
            meter_end_wh=500,
            charged_until=at(5),
        )

        periods = periods_for(evidence)

        assert [(p.start, p.kind) for p in periods] == [
            (at(0), PeriodKind.CHARGING),
            (at(5), PeriodKind.PARKING),
        ]

    def test_readings_after_the_stop_are_not_billed(self) -> None:
        evidence = SessionEvidence(
            started_at=at(0),
            ended_at=at(40),
            meter_start_wh=0,
            meter_end_wh=2000,
            readings=[register(35, 1500)],  # a reading after the stop, below the billed end
            charged_until=at(30),
        )

        periods = periods_for(evidence)

        assert [(p.start, p.energy_kwh) for p in periods] == [
            (at(0), Decimal(2)),
            (at(30), Decimal(0)),
        ]

    def test_without_it_the_evidence_ends_where_it_did(self) -> None:
        plain = SessionEvidence(
            started_at=at(0), ended_at=at(30), meter_start_wh=0, meter_end_wh=2000
        )
        same = SessionEvidence(
            started_at=at(0),
            ended_at=at(30),
            meter_start_wh=0,
            meter_end_wh=2000,
            charged_until=at(30),
        )

        assert periods_for(plain) == periods_for(same)
