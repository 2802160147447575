"""When a stopped session's amount becomes final: once the car has left the connector.

A station's StopTransaction ends the charging, not the occupation: the car may stay plugged
in, and a tariff with parking time bills that idle time. The car has left when the connector
next reports Available after the stop (or the stop reason says EVDisconnected, `ending`), or,
when the station never says so, once the idle cap has passed since the stop (idle time then
ends at the last status it reported). Then the session
is priced up to that moment (when its tariff bills parking) and completed
(`ending.complete_if_final`: `session.completed`, once). docs/sessions.md.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from evbilling.charging.ending import complete_if_final, price_session
from evbilling.charging.pricing import priced_until
from evbilling.charging.repository import ChargingRepository
from evbilling.charging.station_events import StationRef, record_status
from evbilling.infra.logging import get_logger
from evbilling.models import ChargingSession

log = get_logger(__name__)

AVAILABLE = "Available"
EV_DISCONNECTED = "EVDisconnected"
IDLE_BATCH = 500


async def car_left(
    db: AsyncSession, *, session: ChargingSession, at: datetime, now: datetime
) -> bool:
    """The car left the connector at `at`: record it, price the idle time since the stop when
    the tariff bills parking, and complete the session. False when that was known already."""
    if session.stopped_at is None or session.occupied_until is not None:
        return False
    session.occupied_until = max(at, session.stopped_at)
    session.updated_at = now
    if priced_until(session) > session.stopped_at:
        await price_session(db, session=session, now=now)
    else:
        await complete_if_final(db, session=session, now=now)
    await db.flush()
    return True


async def connector_available(
    *, db: AsyncSession, station_id: int, connector_id: int, at: datetime, now: datetime
) -> int:
    """A connector reported Available at `at`: the cars of its stopped sessions have left.
    Returns how many sessions that completed (at most one, in practice)."""
    repo = ChargingRepository(db)
    left = 0
    for session in await repo.awaiting_unplug(
        station_id=station_id, connector_id=connector_id, at=at
    ):
        left += await car_left(db, session=session, at=at, now=now)
    return left


async def complete_idle_sessions(
    *, db: AsyncSession, now: datetime, idle_cap: timedelta, limit: int = IDLE_BATCH
) -> int:
    """Sessions stopped more than `idle_cap` ago whose connector never reported Available:
    occupied until the last status the connector reported within the cap after the stop (the
    last moment it is known to have been occupied; the stop itself when it reported none), so
    idle time is never billed on no evidence, nor beyond the cap. Then completed. At most
    `limit` per call; returns how many."""
    repo = ChargingRepository(db)
    done = 0
    for session in await repo.idle_past(stopped_before=now - idle_cap, limit=limit):
        stopped = session.stopped_at
        assert stopped is not None
        changes = await repo.status_changes(
            station_id=session.station_id,
            connector_id=session.connector_id,
            start=stopped,
            end=stopped + idle_cap,
        )
        last_known = max((at for at, _ in changes if at >= stopped), default=stopped)
        done += await car_left(db, session=session, at=last_known, now=now)
    if done:
        log.info("sessions.idle_capped", sessions=done, idle_cap=str(idle_cap))
    return done


async def unplugged_at_stop(
    repo: ChargingRepository, *, session: ChargingSession, reason: str
) -> bool:
    """Whether the car has left as the session stops: the station says so (EVDisconnected),
    or its connector reported Available since the session started (sent before the stop)."""
    if reason == EV_DISCONNECTED:
        return True
    evse = await repo.evse(station_id=session.station_id, connector_id=session.connector_id)
    return (
        evse is not None
        and evse.status == AVAILABLE
        and evse.status_at is not None
        and evse.status_at >= session.started_at
    )


async def status_notification(
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
    """A connector's status (`station_events.record_status`); Available after a stop means
    the car has left: its session's amount becomes final (`completion`)."""
    await record_status(
        db=db,
        station=station,
        connector_id=connector_id,
        status=status,
        error_code=error_code,
        timestamp=timestamp,
        info=info,
        vendor_id=vendor_id,
        vendor_error_code=vendor_error_code,
        now=now,
    )
    if status == AVAILABLE and connector_id != 0:
        await connector_available(
            db=db,
            station_id=station.id,
            connector_id=connector_id,
            at=timestamp or now,
            now=now,
        )
