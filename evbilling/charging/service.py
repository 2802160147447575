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

from evbilling.charging.completion import unplugged_at_stop
from evbilling.charging.domain import (
    MAX_TRANSACTION_ID,
    AuthorizationStatus,
    PricingStatus,
    SessionStatus,
    TokenFacts,
    authorize_token,
    normalize_id_tag,
    printable_id_tag,
    start_key,
    station_time,
)
from evbilling.charging.ending import SessionEnd, end_session, supersede
from evbilling.charging.meter_service import (
    MeterValueIn,
    record_anomalies,
)
from evbilling.charging.repository import ChargingRepository
from evbilling.charging.station_events import (
    StationRef,
    UnknownConnector,
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
    # The token's driver (never sent to the station): who a card hold is placed for.
    driver_id: int | None = None


@dataclass(frozen=True, slots=True)
class StartResult:
    transaction_id: int
    id_tag_info: IdTagInfo
    replayed: bool
    session_id: int | None = None


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
        driver_id=token.driver_id if token is not None else None,
    )


class TransactionIdsExhausted(EVBillingError):
    """A station has used every OCPP transactionId (2^31 - 1 of them)."""


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
    payment_refused: bool = False,
) -> StartResult:
    """Open a session; a replay of the same StartTransaction returns the same transaction.

    With `payment_refused` (the driver's card hold was declined), an accepted token is
    answered Blocked and its session recorded as rejected, never billed.

    A session still active on the connector is ended first (superseded: the station started
    another). A token that is not accepted, or that charges at another connector, still gets a
    transactionId (OCPP requires one) but its session is recorded as rejected and never
    billed; the station is told the token's status. The partial unique indexes (one active
    session per connector and per token) decide races between connections: the start that
    loses decides again, and sees the winner.
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
    started_at, skew = station_time(reported=timestamp, received_at=now, what="StartTransaction")
    transaction_id = await repo.next_transaction_id(station_id=station.id)
    if transaction_id is None:
        raise UnknownConnector(f"station {station.identity} no longer exists")
    if transaction_id > MAX_TRANSACTION_ID:
        raise TransactionIdsExhausted(f"station {station.identity} has no transactionId left")
    opening = _Opening(
        station=station,
        connector_id=connector_id,
        evse_id=evse_id,
        id_tag=id_tag,
        start_key=key,
        transaction_id=transaction_id,
        meter_start_wh=meter_start_wh,
        started_at=started_at,
        reservation_id=reservation_id,
        payment_refused=payment_refused,
    )
    opened = await _open_deciding_races(db, opening=opening, now=now)
    if isinstance(opened, StartResult):
        return opened  # the same start, committed by another connection first
    charging_session, info = opened
    if skew is not None:
        await record_anomalies(
            repo,
            station=station,
            session_id=charging_session.id,
            anomalies=[(skew, timestamp)],
            now=now,
        )
    log.info(
        "session.started",
        station=station.identity,
        session_id=charging_session.id,
        transaction_id=transaction_id,
        id_tag=id_tag,
        status=info.status.value,
    )
    return StartResult(
        transaction_id=transaction_id,
        id_tag_info=info,
        replayed=False,
        session_id=charging_session.id,
    )


@dataclass(frozen=True, slots=True)
class _Opening:
    """What a StartTransaction opens; decided again when a concurrent start wins a race."""

    station: StationRef
    connector_id: int
    evse_id: int
    id_tag: str
    start_key: str
    transaction_id: int
    meter_start_wh: int
    started_at: datetime
    reservation_id: int | None
    payment_refused: bool = False


async def _open_deciding_races(
    db: AsyncSession, *, opening: _Opening, now: datetime
) -> tuple[ChargingSession, IdTagInfo] | StartResult:
    """Open the session in a savepoint. If a unique index refuses it, another connection
    committed first: the same start (a replay: its answer), or a start that took the
    connector or the card (decide once more, seeing it)."""
    repo = ChargingRepository(db)
    for attempt in (1, 2):
        try:
            async with db.begin_nested():
                return await _open(db, opening=opening, now=now)
        except IntegrityError:
            existing = await repo.session_by_start_key(opening.start_key)
            if existing is not None:
                return _replayed_start(existing)
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


async def _open(
    db: AsyncSession, *, opening: _Opening, now: datetime
) -> tuple[ChargingSession, IdTagInfo]:
    repo = ChargingRepository(db)
    station = opening.station
    busy = await repo.active_on_connector(station_id=station.id, connector_id=opening.connector_id)
    if busy is not None:
        await supersede(
            db, session=busy, station=station, by_transaction_id=opening.transaction_id, now=now
        )
    uid = normalize_id_tag(opening.id_tag)
    token = await repo.token(operator_id=station.operator_id, uid=uid)
    info = await authorize(db=db, station=station, id_tag=opening.id_tag, now=now, starting=True)
    if opening.payment_refused and info.status is AuthorizationStatus.ACCEPTED:
        info = IdTagInfo(status=AuthorizationStatus.BLOCKED, driver_id=info.driver_id)
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
            evse_id=opening.evse_id,
            driver_id=token.driver_id if token is not None else None,
            at=opening.started_at,
        )
        time_zone = await station_time_zone(
            db=db, operator_id=station.operator_id, station_id=station.id
        )
    charging_session = ChargingSession(
        operator_id=station.operator_id,
        station_id=station.id,
        transaction_id=opening.transaction_id,
        evse_id=opening.evse_id,
        connector_id=opening.connector_id,
        start_key=opening.start_key,
        id_tag=uid,
        token_id=token.id if token is not None else None,
        driver_id=token.driver_id if token is not None else None,
        authorization_status=info.status.value,
        status=(SessionStatus.ACTIVE if accepted else SessionStatus.REJECTED).value,
        billable=accepted,
        pricing_status=(PricingStatus.PENDING if accepted else PricingStatus.NOT_BILLABLE).value,
        reservation_id=opening.reservation_id,
        started_at=opening.started_at,
        meter_start_wh=opening.meter_start_wh,
        last_register_wh=opening.meter_start_wh,
        last_register_at=opening.started_at,
        last_seen_at=now,
        tariff_id=snapshot.tariff_id if snapshot is not None else None,
        tariff_version=snapshot.version if snapshot is not None else None,
        tariff_ocpi=snapshot.ocpi_json if snapshot is not None else None,
        time_zone=time_zone,
        currency=snapshot.currency if snapshot is not None else None,
        created_at=now,
        updated_at=now,
    )
    await repo.add_session(charging_session)
    return charging_session, info


async def is_replayed_start(
    *,
    db: AsyncSession,
    station: StationRef,
    connector_id: int,
    id_tag: str,
    meter_start_wh: int,
    timestamp: datetime,
) -> bool:
    """Whether this StartTransaction opened a session already (a station resending it)."""
    key = start_key(
        station_id=station.id,
        connector_id=connector_id,
        id_tag=id_tag,
        meter_start_wh=meter_start_wh,
        timestamp=timestamp,
    )
    return await ChargingRepository(db).session_by_start_key(key) is not None


def _replayed_start(existing: ChargingSession) -> StartResult:
    return StartResult(
        transaction_id=existing.transaction_id,
        id_tag_info=IdTagInfo(status=AuthorizationStatus(existing.authorization_status)),
        replayed=True,
        session_id=existing.id,
    )


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
    """Close and price a session (`ending`) from what the stop proves (`stop_evidence`). An
    identical replay, or a transaction of another station, changes nothing; another account
    of a session that has ended already is recorded as an anomaly, never billed."""
    repo = ChargingRepository(db)
    # The token's running session is the one being stopped: never a ConcurrentTx here. An
    # idTag no token can have (U+0000, control characters) is not looked up, nor stored.
    tag = printable_id_tag(id_tag)
    info = await authorize(db=db, station=station, id_tag=tag, now=now) if tag else None
    if id_tag and tag is None:
        info = IdTagInfo(status=AuthorizationStatus.INVALID)
    charging_session = await repo.session_of_transaction(
        station_id=station.id, transaction_id=transaction_id, lock=True
    )
    if charging_session is None:
        log.warning("session.stop_unknown", station=station.identity, transaction_id=transaction_id)
        return info
    if charging_session.stopped_at is not None:
        # A replay, or the station's own account of a session the server ended already.
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
    # Replays are recognised by the timestamp as sent; the session ends at the one believed.
    reported = timestamp
    timestamp, skew = station_time(
        reported=reported,
        received_at=now,
        what="StopTransaction",
        not_before=charging_session.started_at,
    )
    if skew is not None:
        await record_anomalies(
            repo,
            station=station,
            session_id=charging_session.id,
            anomalies=[(skew, reported)],
            now=now,
        )
    evidence = await settle_stop(
        repo,
        station=station,
        session=charging_session,
        meter_stop_wh=meter_stop_wh,
        timestamp=timestamp,
        reported_timestamp=reported,
        transaction_data=transaction_data,
        now=now,
    )
    energy = evidence.energy_wh
    stop_reason = reason or "Local"
    await end_session(
        db,
        session=charging_session,
        end=SessionEnd(
            status=SessionStatus.COMPLETED,
            ended_at=timestamp,
            meter_end_wh=evidence.billed_end_wh,
            meter_stop_wh=meter_stop_wh,
            stop_reason=stop_reason,
            stop_id_tag=tag,
            unplugged=await unplugged_at_stop(repo, session=charging_session, reason=stop_reason),
        ),
        now=now,
    )
    log.info(
        "session.stopped",
        station=station.identity,
        session_id=charging_session.id,
        transaction_id=transaction_id,
        energy_wh=energy,
        cost=str(charging_session.cost_incl_vat),
    )
    return info
