"""MeterValues: every sampled value stored as sent, the session's energy register checked.

The hot path of a busy server: a few Core statements per message (built once in the
repository), no ORM loads.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from evbilling.charging.domain import (
    ENERGY_REGISTER,
    Anomaly,
    AnomalyKind,
    RegisterReading,
    check_register_step,
    reading_key,
    register_resolution_wh,
    register_wh,
)
from evbilling.charging.repository import ChargingRepository, OpenSession
from evbilling.charging.station_events import StationRef
from evbilling.infra.logging import get_logger

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

    A transactionId of another station (or unknown) attaches nothing to any session.
    """
    repo = ChargingRepository(db)
    session: OpenSession | None = None
    if transaction_id is not None:
        session = await repo.seen_session(
            station_id=station.id, transaction_id=transaction_id, now=now
        )
    await store_samples(
        repo,
        station=station,
        connector_id=connector_id,
        session=session,
        meter_values=meter_values,
        now=now,
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
    """Store the readings; for a session, advance its register and record anomalies.
    Returns the session's latest trusted register reading."""
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
        for sampled in meter_value.sampled_values:
            if _is_energy_register(sampled):
                wh = register_wh(value=sampled.value, unit=sampled.unit)
                reading = (
                    RegisterReading(
                        timestamp=meter_value.timestamp,
                        wh=wh,
                        resolution_wh=register_resolution_wh(
                            value=sampled.value, unit=sampled.unit
                        ),
                    )
                    if isinstance(wh, int)
                    else wh
                )
                registers.append((reading, meter_value.timestamp))
    # Replays insert nothing (natural keys); a replayed register reading is no newer than the
    # session's latest, and a replayed anomaly has the same key, so neither counts twice.
    await repo.add_meter_values(rows)
    if session is None:
        return None
    latest = (
        RegisterReading(timestamp=session.last_register_at, wh=session.last_register_wh)
        if session.last_register_at is not None and session.last_register_wh is not None
        else None
    )
    anomalies: list[tuple[Anomaly, datetime]] = []
    advanced = False
    for reading, at in sorted(registers, key=lambda item: item[1]):
        if isinstance(reading, Anomaly):
            anomalies.append((reading, at))
            continue
        if latest is not None and reading.timestamp <= latest.timestamp:
            continue  # late sample; the newer reading already stands
        anomaly = check_register_step(
            previous=latest, current=reading, max_power_w=session.max_power_w
        )
        if anomaly is not None:
            anomalies.append((anomaly, at))
            if anomaly.kind is AnomalyKind.REGISTER_DECREASED:
                continue  # keep the highest trusted reading
        elif latest is not None and reading.wh < latest.wh:
            continue  # lower only within the meter's precision: keep the higher reading
        latest = reading
        advanced = True
    if advanced and latest is not None:
        await repo.set_last_register(session_id=session.id, wh=latest.wh, at=latest.timestamp)
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
        key = reading_key(
            station_id=station.id,
            connector_id=0,
            session_id=session_id,
            timestamp=at,
            content=f"{anomaly.kind.value}|{anomaly.value}",
        )
        rows.append(
            {
                "station_id": station.id,
                "session_id": session_id,
                "anomaly_key": key,
                "kind": anomaly.kind.value,
                "detail": anomaly.detail[:500],
                "sample_timestamp": at,
                "value": anomaly.value,
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
