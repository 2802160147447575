"""What a StopTransaction proves about its session's energy (docs/metering.md).

Its transactionData is best effort: every reading is stored as sent and checked like any
MeterValues reading, and none can fail the stop. meterStop is then judged against the
session's trusted register: a plausible one is billed, an implausible one (beyond what a
meter holds, below meterStart, a decrease, a jump the EVSE cannot deliver) is an anomaly and
the session is billed up to its last plausible reading instead. A second StopTransaction for
the same session changes nothing billed: an identical replay is ignored, another account is
recorded as an anomaly with both.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from evbilling.charging.domain import Anomaly, RegisterReading
from evbilling.charging.meter_service import MeterValueIn, record_anomalies, store_samples
from evbilling.charging.plausibility import conflicting_stop, judge_stop, stop_key
from evbilling.charging.repository import ChargingRepository
from evbilling.charging.station_events import StationRef
from evbilling.models import ChargingSession


@dataclass(frozen=True, slots=True)
class StopEvidence:
    # The register the session is billed up to, and the energy that makes (never negative).
    billed_end_wh: int
    energy_wh: int
    # Raised by meterStop (those of the transactionData are recorded like any reading's).
    # Whether the session goes to review is decided once, when it is priced (`ending`), from
    # every anomaly recorded for it.
    anomalies: tuple[Anomaly, ...]


async def settle_stop(
    repo: ChargingRepository,
    *,
    station: StationRef,
    session: ChargingSession,
    meter_stop_wh: int,
    timestamp: datetime,
    reported_timestamp: datetime,
    transaction_data: Sequence[MeterValueIn],
    now: datetime,
) -> StopEvidence:
    """Store and check the stop's evidence; set the session's trusted register to what it is
    billed up to (later readings are checked against it) and remember what the stop said.
    `timestamp` is the stop's time as believed (the clock-skew rule), `reported_timestamp` as
    the station sent it, which a replay repeats. The caller closes and prices the session with
    `billed_end_wh`."""
    open_session = await repo.seen_session(
        station_id=station.id, transaction_id=session.transaction_id, now=now
    )
    assert open_session is not None, "the caller loaded this station's session"
    trusted = await store_samples(
        repo,
        station=station,
        connector_id=session.connector_id,
        session=open_session,
        meter_values=transaction_data,
        now=now,
    )
    assert trusted is not None
    judgement = judge_stop(
        started_at=session.started_at,
        meter_start_wh=session.meter_start_wh,
        trusted=trusted,
        stop=RegisterReading(timestamp=timestamp, wh=meter_stop_wh),
        max_power_w=open_session.max_power_w,
    )
    await record_anomalies(
        repo,
        station=station,
        session_id=session.id,
        anomalies=[(anomaly, timestamp) for anomaly in judgement.anomalies],
        now=now,
    )
    # store_samples wrote the register with Core statements; load it before changing the row.
    await repo.db.refresh(session)
    billed_stop = judgement.billed_end_wh == meter_stop_wh and not judgement.anomalies
    session.last_register_wh = judgement.billed_end_wh
    session.last_register_at = timestamp
    session.last_register_resolution_wh = 1 if billed_stop else trusted.resolution_wh
    session.stop_key = stop_key(meter_stop_wh=meter_stop_wh, timestamp=reported_timestamp)
    return StopEvidence(
        billed_end_wh=judgement.billed_end_wh,
        energy_wh=max(judgement.billed_end_wh - session.meter_start_wh, 0),
        anomalies=judgement.anomalies,
    )


async def record_second_stop(
    repo: ChargingRepository,
    *,
    station: StationRef,
    session: ChargingSession,
    meter_stop_wh: int,
    timestamp: datetime,
    transaction_data: Sequence[MeterValueIn],
    now: datetime,
) -> bool:
    """A StopTransaction for a session that has already ended. An identical replay changes
    nothing; another account (meterStop or timestamp) is recorded as an anomaly with both,
    and its transactionData is stored and checked against the register the session was
    billed up to. Nothing billed changes. True when the stop conflicted."""
    key = stop_key(meter_stop_wh=meter_stop_wh, timestamp=timestamp)
    legacy_replay = (
        session.stop_key is None
        and session.meter_stop_wh == meter_stop_wh
        and session.stopped_at == timestamp
    )
    if session.stop_key == key or legacy_replay:
        return False
    open_session = await repo.seen_session(
        station_id=station.id, transaction_id=session.transaction_id, now=now
    )
    assert open_session is not None, "the caller loaded this station's session"
    await store_samples(
        repo,
        station=station,
        connector_id=session.connector_id,
        session=open_session,
        meter_values=transaction_data,
        now=now,
    )
    anomaly = conflicting_stop(
        ended_at=session.stopped_at,
        billed_stop_wh=session.meter_stop_wh,
        meter_stop_wh=meter_stop_wh,
        timestamp=timestamp,
    )
    await record_anomalies(
        repo, station=station, session_id=session.id, anomalies=[(anomaly, timestamp)], now=now
    )
    return True
