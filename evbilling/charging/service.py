"""Charging use cases driven by stations: authorize, start and stop a transaction.

Each function is one OCPP message's work inside the caller's transaction; the OCPP edge
commits before it answers the station.
Station events (boot, heartbeat, status) are in `station_events`, meter values in
`meter_service`, running costs in `costs`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from evbilling.charging.domain import (
    AuthorizationStatus,
    SessionStatus,
    TokenFacts,
    authorize_token,
    normalize_id_tag,
    printable_id_tag,
    start_key,
)
from evbilling.charging.meter_service import MeterValueIn
from evbilling.charging.pricing import cost_of, record_final_cost
from evbilling.charging.repository import ChargingRepository
from evbilling.charging.station_events import (
    StationRef,
    evse_for,
)
from evbilling.charging.stop_evidence import record_second_stop, settle_stop
from evbilling.drivers.domain import TokenStatus
from evbilling.infra.logging import get_logger
from evbilling.kit import EVBillingError
from evbilling.models import ChargingSession
from evbilling.rating.resolution import TariffSnapshot, resolve_tariff, station_time_zone

log = get_logger(__name__)


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


async def authorize(
    *, db: AsyncSession, station: StationRef, id_tag: str, now: datetime, starting: bool = False
) -> IdTagInfo:
    """An Authorize (or, with `starting`, the authorization of a StartTransaction)."""
    repo = ChargingRepository(db)
    token = await repo.token(operator_id=station.operator_id, uid=normalize_id_tag(id_tag))
    facts = None
    if token is not None:
        active = starting and await repo.has_active_session(token_id=token.id)
        facts = TokenFacts(
            status=TokenStatus(token.status),
            expires_at=token.expires_at,
            has_active_session=active,
        )
    status = authorize_token(token=facts, now=now, starting=starting)
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
    evse_id = await evse_for(repo, station=station, connector_id=connector_id, now=now)
    uid = normalize_id_tag(id_tag)
    token = await repo.token(operator_id=station.operator_id, uid=uid)
    info = await authorize(db=db, station=station, id_tag=id_tag, now=now, starting=True)
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


async def _price_final(
    db: AsyncSession, *, charging_session: ChargingSession, ended_at: datetime, meter_end_wh: int
) -> None:
    """Price the session; a pricing failure is recorded for review but never loses the stop."""
    try:
        cost = await cost_of(
            db, session=charging_session, ended_at=ended_at, meter_end_wh=meter_end_wh
        )
    except (EVBillingError, ArithmeticError, ValueError) as exc:
        # Arithmetic and value errors too: a timestamp the station may send (year 9999) can
        # overflow the calendar while rating; the stop is still accepted and closes.
        log.error("session.pricing_failed", transaction_id=charging_session.id, error=str(exc))
        charging_session.cost_breakdown = {"error": f"{type(exc).__name__}: {exc}"[:500]}
        return
    if cost is not None:
        record_final_cost(charging_session, cost)


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
    # The token's running session is the one being stopped: never a ConcurrentTx here. An
    # idTag no token can have (U+0000, control characters) is not looked up, nor stored.
    tag = printable_id_tag(id_tag)
    info = await authorize(db=db, station=station, id_tag=tag, now=now) if tag else None
    if id_tag and tag is None:
        info = IdTagInfo(status=AuthorizationStatus.INVALID)
    charging_session = await repo.session_of_station(
        station_id=station.id, session_id=transaction_id
    )
    if charging_session is None:
        log.warning("session.stop_unknown", station=station.identity, transaction_id=transaction_id)
        return info
    if charging_session.stopped_at is not None:
        # A replay changes nothing; a conflicting second stop is recorded, never billed.
        await record_second_stop(
            repo,
            station=station,
            session=charging_session,
            meter_stop_wh=meter_stop_wh,
            timestamp=timestamp,
            transaction_data=transaction_data,
            now=now,
        )
        return info
    evidence = await settle_stop(
        repo,
        station=station,
        session=charging_session,
        meter_stop_wh=meter_stop_wh,
        timestamp=timestamp,
        transaction_data=transaction_data,
        now=now,
    )
    energy = evidence.energy_wh
    charging_session.stopped_at = timestamp
    charging_session.meter_stop_wh = meter_stop_wh
    charging_session.energy_wh = energy
    charging_session.stop_reason = reason or "Local"
    charging_session.stop_id_tag = tag
    charging_session.updated_at = now
    if charging_session.status == SessionStatus.ACTIVE.value:
        charging_session.status = SessionStatus.COMPLETED.value
    if charging_session.billable:
        await _price_final(
            db,
            charging_session=charging_session,
            ended_at=timestamp,
            meter_end_wh=evidence.billed_end_wh,
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
