"""MeterValues: every sampled value stored as sent, the session's energy register checked
(docs/metering.md).

The hot path of a busy server: a few Core statements per message (built once in the
repository), no ORM loads.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from evbilling.charging.costs import enforce_spending_limit
from evbilling.charging.domain import (
    ENERGY_REGISTER,
    REVIEW_ANOMALY_KINDS,
    Anomaly,
    RegisterReading,
    reading_key,
    register_resolution_wh,
    register_wh,
)
from evbilling.charging.plausibility import advance_register, check_after_end, check_reading_time
from evbilling.charging.repository import ChargingRepository, OpenSession
from evbilling.charging.station_events import MAX_CONNECTOR_ID, StationRef, UnknownConnector
from evbilling.infra.logging import get_logger
from evbilling.kit.values import storable_text

log = get_logger(__name__)


@dataclass(frozen=True, slots=True)
class SampledValueIn:
    value: str
    context: str | None = None
    format: str | None = None
    measurand: str | None = None
    phase: str | None = None
    location: str | None = None
    unit: str | None = None


@dataclass(frozen=True, slots=True)
class MeterValueIn:
    timestamp: datetime
    sampled_values: tuple[SampledValueIn, ...]


_SAMPLED_FIELDS = ("value", "context", "format", "measurand", "phase", "location", "unit")


def _as_stored(sampled: SampledValueIn) -> dict[str, str]:
    """A sampled value with the fields the station sent (OCPP names)."""
    return {
        name: value for name in _SAMPLED_FIELDS if (value := getattr(sampled, name)) is not None
    }


def _is_energy_register(sampled: SampledValueIn) -> bool:
    # OCPP 1.6 defaults: measurand Energy.Active.Import.Register, location Outlet, format Raw.
    return (
        (sampled.measurand or ENERGY_REGISTER) == ENERGY_REGISTER
        and sampled.phase is None
        and (sampled.location or "Outlet") == "Outlet"
        and (sampled.format or "Raw") == "Raw"
    )


async def record_meter_values(
    *,
    db: AsyncSession,
    station: StationRef,
    connector_id: int,
    transaction_id: int | None,
    meter_values: Sequence[MeterValueIn],
    now: datetime,
) -> None:
    """Store every sampled value as sent; check the energy register of the session's meter.

    A transactionId of another station (or unknown) attaches nothing to any session. Readings
    of a session that has ended are checked against the register it was billed up to.
    """
    if not 0 <= connector_id <= MAX_CONNECTOR_ID:
        raise UnknownConnector(f"connectorId must be 0..{MAX_CONNECTOR_ID}, got {connector_id}")
    repo = ChargingRepository(db)
    session: OpenSession | None = None
    if transaction_id is not None:
        session = await repo.seen_session(
            station_id=station.id, transaction_id=transaction_id, now=now
        )
    latest = await store_samples(
        repo,
        station=station,
        connector_id=connector_id,
        session=session,
        meter_values=meter_values,
        now=now,
    )
    if (
        session is not None
        and latest is not None
        and session.spending_limit_minor is not None
        and session.limit_reached_at is None
        and session.stopped_at is None
    ):
        # Only sessions with a limit pay for the running cost (costs.enforce_spending_limit).
        await enforce_spending_limit(db=db, session_id=session.id, register=latest, now=now)


def trusted_register(session: OpenSession) -> RegisterReading:
    """The session's trusted register: its last plausible reading (meterStart at first); once
    the session has ended, the register it was billed up to."""
    if session.last_register_at is None or session.last_register_wh is None:
        return RegisterReading(timestamp=session.started_at, wh=session.meter_start_wh)
    return RegisterReading(
        timestamp=session.last_register_at,
        wh=session.last_register_wh,
        resolution_wh=session.last_register_resolution_wh or 1,
    )


def _register_of(sampled: SampledValueIn, *, at: datetime) -> RegisterReading | Anomaly:
    wh = register_wh(value=sampled.value, unit=sampled.unit)
    if not isinstance(wh, int):
        return wh
    return RegisterReading(
        timestamp=at,
        wh=wh,
        resolution_wh=register_resolution_wh(value=sampled.value, unit=sampled.unit),
    )


async def store_samples(
    repo: ChargingRepository,
    *,
    station: StationRef,
    connector_id: int,
    session: OpenSession | None,
    meter_values: Sequence[MeterValueIn],
    now: datetime,
) -> RegisterReading | None:
    """Store the readings as sent; for a session, check every energy register reading
    (plausibility module) and advance its trusted register past the plausible ones. Returns
    the session's trusted register."""
    session_id = session.id if session is not None else None
    rows: list[dict[str, Any]] = []
    registers: list[tuple[RegisterReading | Anomaly, datetime]] = []
    for meter_value in meter_values:
        stored = [_as_stored(sampled) for sampled in meter_value.sampled_values]
        rows.append(
            {
                "station_id": station.id,
                "connector_id": connector_id,
                "session_id": session_id,
                "value_key": reading_key(
                    station_id=station.id,
                    connector_id=connector_id,
                    session_id=session_id,
                    timestamp=meter_value.timestamp,
                    content=repr(stored),
                ),
                "timestamp": meter_value.timestamp,
                "sampled_values": stored,
                "received_at": now,
            }
        )
        if session is None:
            continue
        registers += [
            (_register_of(sampled, at=meter_value.timestamp), meter_value.timestamp)
            for sampled in meter_value.sampled_values
            if _is_energy_register(sampled)
        ]
    # Replays insert nothing (natural keys); a replayed register reading is no newer than the
    # session's latest, and a replayed anomaly has the same key, so neither counts twice.
    await repo.add_meter_values(rows)
    if session is None:
        return None
    trusted = trusted_register(session)
    anomalies: list[tuple[Anomaly, datetime]] = []
    latest = trusted
    for reading, at in sorted(registers, key=lambda item: item[1]):
        if isinstance(reading, Anomaly):
            anomalies.append((reading, at))
            continue
        anomaly = check_reading_time(timestamp=at, started_at=session.started_at, now=now)
        if anomaly is None and session.stopped_at is not None:
            anomaly = check_after_end(end=trusted, reading=reading)
        elif anomaly is None:
            latest, anomaly = advance_register(
                trusted=latest, reading=reading, max_power_w=session.max_power_w
            )
        if anomaly is not None:
            anomalies.append((anomaly, at))
    if latest != trusted:
        await repo.set_last_register(
            session_id=session.id,
            wh=latest.wh,
            at=latest.timestamp,
            resolution_wh=latest.resolution_wh,
        )
    await record_anomalies(
        repo, station=station, session_id=session.id, anomalies=anomalies, now=now
    )
    return latest


async def record_anomalies(
    repo: ChargingRepository,
    *,
    station: StationRef,
    session_id: int,
    anomalies: Sequence[tuple[Anomaly, datetime]],
    now: datetime,
) -> None:
    """Store the anomalies for review (once each: natural keys) and log them."""
    rows = []
    for anomaly, at in anomalies:
        value = storable_text(anomaly.value, limit=100) if anomaly.value is not None else None
        key = reading_key(
            station_id=station.id,
            connector_id=0,
            session_id=session_id,
            timestamp=at,
            content=f"{anomaly.kind.value}|{value}",
        )
        rows.append(
            {
                "station_id": station.id,
                "session_id": session_id,
                "anomaly_key": key,
                "kind": anomaly.kind.value,
                "detail": storable_text(anomaly.detail, limit=500),
                "sample_timestamp": at,
                "value": value,
                "detected_at": now,
            }
        )
        log.warning(
            "metering.anomaly",
            station=station.identity,
            transaction_id=session_id,
            kind=anomaly.kind.value,
            detail=anomaly.detail,
        )
    await repo.add_anomalies(rows)
    if any(anomaly.kind in REVIEW_ANOMALY_KINDS for anomaly, _ in anomalies):
        await repo.review_if_priced(session_id=session_id)
