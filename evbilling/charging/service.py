"""Charging use cases driven by stations: boot, status, authorize, start, meter values, stop.

Each function is one OCPP message's work inside the caller's transaction; the OCPP edge
commits before it answers the station.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from evbilling.charging.domain import (
    ENERGY_REGISTER,
    Anomaly,
    AnomalyKind,
    AuthorizationStatus,
    RegisterReading,
    SessionStatus,
    TokenFacts,
    TokenStatus,
    authorize_token,
    check_register_step,
    normalize_id_tag,
    reading_key,
    register_wh,
    start_key,
)
from evbilling.charging.pricing import SessionCost, cost_of, record_final_cost, tariff_of
from evbilling.charging.repository import ChargingRepository, OpenSession
from evbilling.infra.logging import get_logger
from evbilling.kit import EVBillingError
from evbilling.models import ChargingSession
from evbilling.rating.resolution import TariffSnapshot, resolve_tariff, station_time_zone
from evbilling.tariffs.price_text import price_text

log = get_logger(__name__)

# Connectors a station may report beyond its registered EVSEs are created on first sight with
# this power limit; operators correct it through the API.
DEFAULT_MAX_POWER_W = 22_000
MAX_CONNECTOR_ID = 32


class UnknownConnector(EVBillingError):
    """The connector id is outside what a station can have."""


@dataclass(frozen=True, slots=True)
class StationRef:
    id: int
    operator_id: int
    identity: str
    # Shows running and final costs on its display (OCA California pricing messages).
    pricing_display: bool = False


@dataclass(frozen=True, slots=True)
class IdTagInfo:
    status: AuthorizationStatus
    expiry_date: datetime | None = None
    parent_id_tag: str | None = None


@dataclass(frozen=True, slots=True)
class StartResult:
    transaction_id: int
    id_tag_info: IdTagInfo
    replayed: bool


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


@dataclass(frozen=True, slots=True)
class StationInfo:
    vendor: str
    model: str
    serial_number: str | None = None
    firmware_version: str | None = None
    iccid: str | None = None
    imsi: str | None = None
    meter_type: str | None = None
    meter_serial_number: str | None = None


async def station_login(*, db: AsyncSession, identity: str) -> tuple[StationRef, str] | None:
    """The station and its password hash, for authentication at the WebSocket upgrade."""
    login = await ChargingRepository(db).station_login(identity)
    if login is None or login.password_hash is None:
        return None  # unknown, or no password set yet: it cannot connect
    station = StationRef(
        id=login.id,
        operator_id=login.operator_id,
        identity=login.identity,
        pricing_display=login.pricing_display,
    )
    return station, login.password_hash


async def record_boot(
    *, db: AsyncSession, station: StationRef, info: StationInfo, now: datetime
) -> None:
    row = await ChargingRepository(db).station(station.id)
    if row is None:  # deleted while connected
        raise UnknownConnector(f"station {station.identity} no longer exists")
    row.vendor = info.vendor
    row.model = info.model
    row.serial_number = info.serial_number
    row.firmware_version = info.firmware_version
    row.iccid = info.iccid
    row.imsi = info.imsi
    row.meter_type = info.meter_type
    row.meter_serial_number = info.meter_serial_number
    row.registration_status = "Accepted"
    row.last_boot_at = now
    row.last_heartbeat_at = now
    row.updated_at = now
    await db.flush()


async def record_heartbeat(*, db: AsyncSession, station: StationRef, now: datetime) -> None:
    await ChargingRepository(db).touch_heartbeat(station_id=station.id, now=now)


async def _evse_for(
    repo: ChargingRepository, *, station: StationRef, connector_id: int, now: datetime
) -> int:
    if not 1 <= connector_id <= MAX_CONNECTOR_ID:
        raise UnknownConnector(f"connectorId must be 1..{MAX_CONNECTOR_ID}, got {connector_id}")
    evse = await repo.evse(station_id=station.id, connector_id=connector_id)
    if evse is None:
        evse = await repo.add_evse(
            station_id=station.id,
            connector_id=connector_id,
            max_power_w=DEFAULT_MAX_POWER_W,
            now=now,
        )
        log.info("evse.discovered", station=station.identity, connector_id=connector_id)
    return evse.id


async def record_status(
    *,
    db: AsyncSession,
    station: StationRef,
    connector_id: int,
    status: str,
    error_code: str,
    timestamp: datetime | None,
    info: str | None,
    vendor_id: str | None,
    vendor_error_code: str | None,
    now: datetime,
) -> None:
    """Keep the full history (parking and idle time are billed from it) and the latest state."""
    repo = ChargingRepository(db)
    at = timestamp or now
    if connector_id != 0:
        await _evse_for(repo, station=station, connector_id=connector_id, now=now)
        evse = await repo.evse(station_id=station.id, connector_id=connector_id)
        if evse is not None and (evse.status_at is None or evse.status_at <= at):
            evse.status = status
            evse.error_code = error_code
            evse.status_at = at
            evse.updated_at = now
    elif connector_id < 0:
        raise UnknownConnector("connectorId must not be negative")
    await repo.add_status_event(
        station_id=station.id,
        connector_id=connector_id,
        status=status,
        error_code=error_code,
        info=info,
        vendor_id=vendor_id,
        vendor_error_code=vendor_error_code,
        timestamp=at,
        received_at=now,
    )


async def authorize(
    *, db: AsyncSession, station: StationRef, id_tag: str, now: datetime
) -> IdTagInfo:
    repo = ChargingRepository(db)
    token = await repo.token(operator_id=station.operator_id, uid=normalize_id_tag(id_tag))
    facts = None
    if token is not None:
        facts = TokenFacts(
            status=TokenStatus(token.status),
            expires_at=token.expires_at,
            has_active_session=await repo.has_active_session(token_id=token.id),
        )
    status = authorize_token(token=facts, now=now)
    log.info(
        "token.authorize",
        station=station.identity,
        id_tag=id_tag,
        status=status.value,
    )
    return IdTagInfo(
        status=status,
        expiry_date=token.expires_at if token is not None else None,
        parent_id_tag=token.parent_id_tag if token is not None else None,
    )


async def start_transaction(
    *,
    db: AsyncSession,
    station: StationRef,
    connector_id: int,
    id_tag: str,
    meter_start_wh: int,
    timestamp: datetime,
    reservation_id: int | None,
    now: datetime,
) -> StartResult:
    """Open a session; a replay of the same StartTransaction returns the same transaction.

    A token that is not accepted still gets a transactionId (OCPP requires one) but its session
    is recorded as rejected and never billed; the station is told the token's status.
    """
    repo = ChargingRepository(db)
    key = start_key(
        station_id=station.id,
        connector_id=connector_id,
        id_tag=id_tag,
        meter_start_wh=meter_start_wh,
        timestamp=timestamp,
    )
    existing = await repo.session_by_start_key(key)
    if existing is not None:
        return _replayed_start(existing)
    evse_id = await _evse_for(repo, station=station, connector_id=connector_id, now=now)
    uid = normalize_id_tag(id_tag)
    token = await repo.token(operator_id=station.operator_id, uid=uid)
    info = await authorize(db=db, station=station, id_tag=id_tag, now=now)
    accepted = info.status is AuthorizationStatus.ACCEPTED
    snapshot: TariffSnapshot | None = None
    time_zone: str | None = None
    if accepted:
        # The tariff in force at the start is copied onto the session: editing the tariff later
        # never changes this session's price.
        snapshot = await resolve_tariff(
            db=db,
            operator_id=station.operator_id,
            station_id=station.id,
            evse_id=evse_id,
            driver_id=token.driver_id if token is not None else None,
            at=timestamp,
        )
        time_zone = await station_time_zone(
            db=db, operator_id=station.operator_id, station_id=station.id
        )
    charging_session = ChargingSession(
        operator_id=station.operator_id,
        station_id=station.id,
        evse_id=evse_id,
        connector_id=connector_id,
        start_key=key,
        id_tag=uid,
        token_id=token.id if token is not None else None,
        driver_id=token.driver_id if token is not None else None,
        authorization_status=info.status.value,
        status=(SessionStatus.ACTIVE if accepted else SessionStatus.REJECTED).value,
        billable=accepted,
        reservation_id=reservation_id,
        started_at=timestamp,
        meter_start_wh=meter_start_wh,
        last_register_wh=meter_start_wh,
        last_register_at=timestamp,
        tariff_id=snapshot.tariff_id if snapshot is not None else None,
        tariff_version=snapshot.version if snapshot is not None else None,
        tariff_ocpi=snapshot.ocpi_json if snapshot is not None else None,
        time_zone=time_zone,
        currency=snapshot.currency if snapshot is not None else None,
        created_at=now,
        updated_at=now,
    )
    try:
        async with db.begin_nested():
            await repo.add_session(charging_session)
    except IntegrityError:
        # The same start raced in on another connection: answer with the stored one.
        existing = await repo.session_by_start_key(key)
        if existing is None:
            raise
        return _replayed_start(existing)
    log.info(
        "session.started",
        station=station.identity,
        transaction_id=charging_session.id,
        id_tag=id_tag,
        status=info.status.value,
    )
    return StartResult(transaction_id=charging_session.id, id_tag_info=info, replayed=False)


def _replayed_start(existing: ChargingSession) -> StartResult:
    return StartResult(
        transaction_id=existing.id,
        id_tag_info=IdTagInfo(status=AuthorizationStatus(existing.authorization_status)),
        replayed=True,
    )


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
        session = await repo.open_session(station_id=station.id, session_id=transaction_id)
    await _store_samples(
        repo,
        station=station,
        connector_id=connector_id,
        session=session,
        meter_values=meter_values,
        now=now,
    )


async def _store_samples(
    repo: ChargingRepository,
    *,
    station: StationRef,
    connector_id: int,
    session: OpenSession | None,
    meter_values: Sequence[MeterValueIn],
    now: datetime,
) -> RegisterReading | None:
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
                    RegisterReading(timestamp=meter_value.timestamp, wh=wh)
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
        latest = reading
        advanced = True
    if advanced and latest is not None:
        await repo.set_last_register(session_id=session.id, wh=latest.wh, at=latest.timestamp)
    await _record_anomalies(
        repo, station=station, session_id=session.id, anomalies=anomalies, now=now
    )
    return latest


async def _price_final(
    db: AsyncSession, *, charging_session: ChargingSession, ended_at: datetime, meter_end_wh: int
) -> None:
    """Price the session; a pricing failure is recorded for review but never loses the stop."""
    try:
        cost = await cost_of(
            db, session=charging_session, ended_at=ended_at, meter_end_wh=meter_end_wh
        )
    except EVBillingError as exc:
        log.error("session.pricing_failed", transaction_id=charging_session.id, error=str(exc))
        charging_session.cost_breakdown = {"error": f"{type(exc).__name__}: {exc}"[:500]}
        return
    if cost is not None:
        record_final_cost(charging_session, cost)


async def running_cost(
    *, db: AsyncSession, operator_id: int, session_id: int, now: datetime
) -> SessionCost | None:
    """What an active session costs so far (up to its latest meter reading), or its final cost
    once stopped; None when it is not billable or has no tariff."""
    found = await ChargingRepository(db).session_of_operator(
        operator_id=operator_id, session_id=session_id
    )
    if found is None or not found.billable:
        return None
    if found.stopped_at is not None:
        return await cost_of(
            db,
            session=found,
            ended_at=found.stopped_at,
            meter_end_wh=found.meter_start_wh + (found.energy_wh or 0),
        )
    return await cost_of(
        db,
        session=found,
        # Up to now, or to the latest reading if the station's clock runs ahead of ours.
        ended_at=max(now, found.last_register_at or found.started_at),
        meter_end_wh=found.last_register_wh or found.meter_start_wh,
    )


async def user_price_text(
    *, db: AsyncSession, station: StationRef, id_tag: str, now: datetime
) -> str | None:
    """What this driver would pay at this station now, in a few words; None without a token
    or a tariff."""
    token = await ChargingRepository(db).token(
        operator_id=station.operator_id, uid=normalize_id_tag(id_tag)
    )
    if token is None:
        return None
    snapshot = await resolve_tariff(
        db=db,
        operator_id=station.operator_id,
        station_id=station.id,
        evse_id=None,
        driver_id=token.driver_id,
        at=now,
    )
    return price_text(tariff=tariff_of(snapshot.ocpi_json)) if snapshot is not None else None


async def meter_now(*, db: AsyncSession, session_id: int) -> int:
    """The session's latest trusted energy register reading (Wh)."""
    row = await db.get(ChargingSession, session_id)
    if row is None:
        return 0
    if row.meter_stop_wh is not None:
        return row.meter_stop_wh
    return row.last_register_wh if row.last_register_wh is not None else row.meter_start_wh


async def _record_anomalies(
    repo: ChargingRepository,
    *,
    station: StationRef,
    session_id: int,
    anomalies: Sequence[tuple[Anomaly, datetime]],
    now: datetime,
) -> None:
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


async def stop_transaction(
    *,
    db: AsyncSession,
    station: StationRef,
    transaction_id: int,
    meter_stop_wh: int,
    timestamp: datetime,
    reason: str | None,
    id_tag: str | None,
    transaction_data: Sequence[MeterValueIn],
    now: datetime,
) -> IdTagInfo | None:
    """Close and price a session. A replay, or a transaction of another station, changes nothing."""
    repo = ChargingRepository(db)
    info = await authorize(db=db, station=station, id_tag=id_tag, now=now) if id_tag else None
    if info is not None and info.status is AuthorizationStatus.CONCURRENT_TX:
        # The token's running session is the one being stopped: that is not a conflict.
        info = IdTagInfo(
            status=AuthorizationStatus.ACCEPTED,
            expiry_date=info.expiry_date,
            parent_id_tag=info.parent_id_tag,
        )
    charging_session = await repo.session_of_station(
        station_id=station.id, session_id=transaction_id
    )
    if charging_session is None:
        log.warning("session.stop_unknown", station=station.identity, transaction_id=transaction_id)
        return info
    if charging_session.stopped_at is not None:
        return info  # replayed StopTransaction
    open_session = await repo.open_session(station_id=station.id, session_id=transaction_id)
    assert open_session is not None
    await _store_samples(
        repo,
        station=station,
        connector_id=charging_session.connector_id,
        session=open_session,
        meter_values=transaction_data,
        now=now,
    )
    await db.refresh(charging_session)
    stop_reading = RegisterReading(timestamp=timestamp, wh=meter_stop_wh)
    anomalies: list[tuple[Anomaly, datetime]] = []
    last = (
        RegisterReading(
            timestamp=charging_session.last_register_at, wh=charging_session.last_register_wh
        )
        if charging_session.last_register_at is not None
        and charging_session.last_register_wh is not None
        and charging_session.last_register_at < timestamp
        else None
    )
    step = check_register_step(
        previous=last, current=stop_reading, max_power_w=open_session.max_power_w
    )
    if step is not None:
        anomalies.append((step, timestamp))
    energy = meter_stop_wh - charging_session.meter_start_wh
    if energy < 0:
        anomalies.append(
            (
                Anomaly(
                    kind=AnomalyKind.STOP_BEFORE_START,
                    detail=f"meterStop {meter_stop_wh} Wh is below meterStart "
                    f"{charging_session.meter_start_wh} Wh",
                    timestamp=timestamp,
                    value=str(meter_stop_wh),
                ),
                timestamp,
            )
        )
        energy = 0  # never bill a negative quantity; the anomaly is there for review
    await _record_anomalies(
        repo, station=station, session_id=charging_session.id, anomalies=anomalies, now=now
    )
    charging_session.stopped_at = timestamp
    charging_session.meter_stop_wh = meter_stop_wh
    charging_session.energy_wh = energy
    charging_session.stop_reason = reason or "Local"
    charging_session.stop_id_tag = normalize_id_tag(id_tag) if id_tag else None
    charging_session.updated_at = now
    if charging_session.status == SessionStatus.ACTIVE.value:
        charging_session.status = SessionStatus.COMPLETED.value
    if charging_session.billable:
        await _price_final(
            db,
            charging_session=charging_session,
            ended_at=timestamp,
            meter_end_wh=charging_session.meter_start_wh + energy,
        )
    await db.flush()
    log.info(
        "session.stopped",
        station=station.identity,
        transaction_id=charging_session.id,
        energy_wh=energy,
        cost=str(charging_session.cost_incl_vat),
    )
    return info
