"""How every session ends: completed by its station (StopTransaction), superseded by a new
start on its connector, abandoned after a silence, or closed by an operator.

`end_session` is the one way: it records the end and prices the session. A session that has
ended once never ends again (a second attempt changes nothing), so each end is priced and
billed exactly once. Ends the server decides (superseded, abandoned, closed) are billed from
the evidence so far: up to the session's last register reading. docs/sessions.md has the
states and the pricing statuses.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from evbilling.charging import events
from evbilling.charging.domain import (
    MAX_PRICING_ERROR_LENGTH,
    Anomaly,
    AnomalyKind,
    PricingStatus,
    SessionStatus,
    end_reason,
    priced_status,
)
from evbilling.charging.meter_service import record_anomalies
from evbilling.charging.pricing import final_cost, record_final_cost
from evbilling.charging.repository import ChargingRepository
from evbilling.charging.schemas import SessionDetailRead
from evbilling.charging.sessions import get_session
from evbilling.charging.station_events import StationRef
from evbilling.infra.logging import get_logger
from evbilling.kit import EVBillingError
from evbilling.kit.errors import Conflict
from evbilling.models import ChargingSession

log = get_logger(__name__)

# What pricing raises when the evidence or the tariff cannot be rated: the session still ends,
# its pricing is `failed` with the reason, and `retry_failed_pricing` tries again later.
PRICING_FAILURES = (EVBillingError, ArithmeticError, ValueError)
ABANDON_BATCH = 500


@dataclass(frozen=True, slots=True)
class SessionEnd:
    status: SessionStatus
    ended_at: datetime
    # The register reading the session is billed to (Wh).
    meter_end_wh: int
    # meterStop as the station reported it, when it did; stored as sent.
    meter_stop_wh: int | None = None
    stop_reason: str | None = None
    stop_id_tag: str | None = None
    # Why the server or an operator ended it.
    end_reason: str | None = None
    # The car has left the connector already (stop reason EVDisconnected, or the connector
    # reported Available before the stop): idle time is over, the amount is final at once.
    unplugged: bool = False


async def end_session(
    db: AsyncSession, *, session: ChargingSession, end: SessionEnd, now: datetime
) -> bool:
    """End an active session (or record the stop of a rejected one) and price it. False, and
    nothing changed, when it has ended already. The caller holds the row locked."""
    if session.stopped_at is not None or session.status not in (
        SessionStatus.ACTIVE,
        SessionStatus.REJECTED,
    ):
        return False
    session.stopped_at = max(end.ended_at, session.started_at)
    session.meter_stop_wh = end.meter_stop_wh if end.meter_stop_wh is not None else end.meter_end_wh
    session.energy_wh = max(end.meter_end_wh - session.meter_start_wh, 0)
    session.stop_reason = end.stop_reason
    session.stop_id_tag = end.stop_id_tag
    # A reason the server recorded earlier (a remote stop at the spending limit) stays.
    session.end_reason = end.end_reason or session.end_reason
    if session.status == SessionStatus.ACTIVE:
        session.status = end.status.value  # a rejected session stays rejected
    if end.unplugged or _final_at_once(session):
        session.occupied_until = session.stopped_at
    await price_session(db, session=session, now=now)
    await db.flush()
    log.info(
        "session.ended",
        session_id=session.id,
        transaction_id=session.transaction_id,
        status=session.status,
        pricing_status=session.pricing_status,
        energy_wh=session.energy_wh,
    )
    return True


def _final_at_once(session: ChargingSession) -> bool:
    """Whether an ending session's amount is final without waiting for the car to leave:
    ended by the server or an operator, not billable, or no energy charged (its hold is
    released at once)."""
    return (
        session.status != SessionStatus.COMPLETED or not session.billable or not session.energy_wh
    )


async def price_session(
    db: AsyncSession, *, session: ChargingSession, now: datetime
) -> PricingStatus:
    """Price an ended session from its evidence; record `priced`, `review`, `failed` (with the
    reason) or `not_billable`. Then, once the car has left and the status is final, the
    session is completed (`session.completed`, once); a completed session priced again
    records `session.repriced`."""
    status = await _price(db, session=session, now=now)
    if status in FINAL_PRICING:
        if session.completed_at is not None:
            await events.record_repriced(db=db, session_id=session.id, now=now)
        else:
            await complete_if_final(db, session=session, now=now)
    return status


FINAL_PRICING = frozenset({PricingStatus.PRICED, PricingStatus.REVIEW, PricingStatus.NOT_BILLABLE})


async def complete_if_final(db: AsyncSession, *, session: ChargingSession, now: datetime) -> bool:
    """Record `session.completed` (once) when the session has ended, the car has left the
    connector and its pricing status is final; False when it is not (yet)."""
    if (
        session.completed_at is not None
        or session.stopped_at is None
        or session.occupied_until is None
        or session.pricing_status not in FINAL_PRICING
    ):
        return False
    session.completed_at = now
    session.updated_at = now
    await events.record_completed(db=db, session_id=session.id, now=now)
    log.info(
        "session.completed",
        session_id=session.id,
        pricing_status=session.pricing_status,
        cost=str(session.cost_incl_vat),
    )
    return True


async def _price(db: AsyncSession, *, session: ChargingSession, now: datetime) -> PricingStatus:
    assert session.stopped_at is not None, "only an ended session is priced"
    session.updated_at = now
    if not session.billable:
        return _set_pricing(session, PricingStatus.NOT_BILLABLE)
    try:
        cost = await final_cost(db, session=session)
    except PRICING_FAILURES as exc:
        log.warning(
            "session.pricing_failed",
            session_id=session.id,
            transaction_id=session.transaction_id,
            error=f"{type(exc).__name__}: {exc}",
        )
        return _set_pricing(session, PricingStatus.FAILED, error=f"{type(exc).__name__}: {exc}")
    if cost is None:
        return _set_pricing(
            session, PricingStatus.FAILED, error="no tariff applied when the session started"
        )
    record_final_cost(session, cost)
    kinds = await ChargingRepository(db).anomaly_kinds(session_id=session.id)
    return _set_pricing(session, priced_status(anomaly_kinds=kinds))


def _set_pricing(
    session: ChargingSession, status: PricingStatus, *, error: str | None = None
) -> PricingStatus:
    session.pricing_status = status.value
    session.pricing_error = error[:MAX_PRICING_ERROR_LENGTH] if error is not None else None
    return status


def evidence_end(session: ChargingSession) -> tuple[datetime, int]:
    """Where the evidence of a session stops: its last register reading (time and Wh)."""
    at = session.last_register_at or session.started_at
    wh = session.last_register_wh
    return max(at, session.started_at), wh if wh is not None else session.meter_start_wh


async def _end_from_evidence(
    db: AsyncSession,
    *,
    session: ChargingSession,
    status: SessionStatus,
    reason: str,
    anomaly: tuple[AnomalyKind, str] | None,
    station: StationRef | None,
    now: datetime,
) -> bool:
    """End a session the station did not stop, billed to its last register reading; with
    `anomaly`, recorded for review first (so its pricing status says `review`)."""
    if session.status != SessionStatus.ACTIVE:
        return False
    ended_at, meter_end_wh = evidence_end(session)
    repo = ChargingRepository(db)
    if anomaly is not None:
        kind, detail = anomaly
        await record_anomalies(
            repo,
            station=station or await _station_ref(repo, session),
            session_id=session.id,
            anomalies=[
                (
                    Anomaly(kind=kind, detail=detail, timestamp=ended_at, value=str(meter_end_wh)),
                    ended_at,
                )
            ],
            now=now,
        )
    return await end_session(
        db,
        session=session,
        end=SessionEnd(
            status=status, ended_at=ended_at, meter_end_wh=meter_end_wh, end_reason=reason
        ),
        now=now,
    )


async def _station_ref(repo: ChargingRepository, session: ChargingSession) -> StationRef:
    station = await repo.station(session.station_id)
    identity = station.identity if station is not None else str(session.station_id)
    return StationRef(id=session.station_id, operator_id=session.operator_id, identity=identity)


async def supersede(
    db: AsyncSession,
    *,
    session: ChargingSession,
    station: StationRef,
    by_transaction_id: int,
    now: datetime,
) -> bool:
    """A new StartTransaction on the connector ends the session it still had open."""
    reason = f"superseded by transaction {by_transaction_id} on connector {session.connector_id}"
    return await _end_from_evidence(
        db,
        session=session,
        status=SessionStatus.SUPERSEDED,
        reason=reason,
        anomaly=(
            AnomalyKind.SESSION_SUPERSEDED,
            f"{reason} while this session was active; billed to its last register reading",
        ),
        station=station,
        now=now,
    )


async def close_abandoned_sessions(
    *, db: AsyncSession, now: datetime, silent_for: timedelta, limit: int = ABANDON_BATCH
) -> int:
    """Close, as `abandoned`, the active sessions nothing was heard about for `silent_for`
    (a station that rebooted or lost its StopTransaction); their cards can charge again. At
    most `limit` per call; returns how many were closed."""
    repo = ChargingRepository(db)
    closed = 0
    for session in await repo.silent_sessions(seen_before=now - silent_for, limit=limit):
        seen = session.last_seen_at.isoformat()
        ended = await _end_from_evidence(
            db,
            session=session,
            status=SessionStatus.ABANDONED,
            reason=f"no message about the session for more than {silent_for} (last {seen})",
            anomaly=(
                AnomalyKind.SESSION_ABANDONED,
                f"nothing heard about the session since {seen}; closed after {silent_for} "
                "and billed to its last register reading",
            ),
            station=None,
            now=now,
        )
        closed += ended
    return closed


async def close_session(
    *, db: AsyncSession, operator_id: int, session_id: int, reason: object, now: datetime
) -> SessionDetailRead:
    """An operator closes an active session the station no longer knows, with a reason;
    billed to its last register reading."""
    text = end_reason(reason)
    repo = ChargingRepository(db)
    session = await repo.get_owned_for_update(id=session_id, owner_id=operator_id)
    if session.status != SessionStatus.ACTIVE:
        raise Conflict(f"session {session_id} is {session.status}, not active")
    await _end_from_evidence(
        db,
        session=session,
        status=SessionStatus.CLOSED,
        reason=text,
        anomaly=None,
        station=None,
        now=now,
    )
    log.info("session.closed_by_operator", session_id=session.id)
    return await get_session(
        db=db, operator_id=operator_id, session_id=session_id, with_samples=False
    )


async def retry_failed_pricing(*, db: AsyncSession, now: datetime, limit: int) -> int:
    """Price again up to `limit` ended sessions whose pricing failed, those tried longest ago
    first; returns how many are priced now (the others stay `failed`, with their reason)."""
    priced = 0
    for session in await ChargingRepository(db).failed_pricing(limit=limit):
        status = await price_session(db, session=session, now=now)
        priced += status is not PricingStatus.FAILED
    await db.flush()
    return priced
