"""What charging costs while it happens: a session's running cost, a driver's price text.

A running cost prices the evidence up to the latest meter reading. The time since then is
priced by what the connector's status said over it: charging time while it was Charging (the
energy in it comes with the next reading), parking time while it was SuspendedEV,
SuspendedEVSE or Finishing; from the first moment it was neither (no status at all, or
another one) nothing is known yet, and the running cost ends there. That time is never billed
as parking merely because no reading came in since (the rule that prices a stopped session's
last stretch without energy increase as parking needs its meterStop).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from evbilling.charging import events
from evbilling.charging.domain import PricingStatus, RegisterReading, normalize_id_tag
from evbilling.charging.metering import IDLE_STATUSES, periods_for
from evbilling.charging.pricing import SessionCost, final_cost, session_evidence
from evbilling.charging.repository import ChargingRepository
from evbilling.charging.station_events import StationRef
from evbilling.infra.logging import get_logger
from evbilling.kit.errors import Conflict
from evbilling.models import ChargingSession
from evbilling.money import Money
from evbilling.rating.breakdown import breakdown_of
from evbilling.rating.engine import ChargingPeriodInput, PeriodKind, rate_session
from evbilling.rating.resolution import resolve_tariff
from evbilling.tariffs.domain import parse_tariff_json
from evbilling.tariffs.price_text import price_text

log = get_logger(__name__)


async def running_cost(
    *, db: AsyncSession, operator_id: int, session_id: int, now: datetime
) -> SessionCost | None:
    """What an active session costs so far (see the module docstring), or its final cost
    once stopped; None when it is not billable or has no tariff."""
    found = await ChargingRepository(db).get(id=session_id, owner_id=operator_id)
    if found is not None and found.pricing_status == PricingStatus.FAILED:
        raise Conflict(f"session {session_id} could not be priced: {found.pricing_error}")
    return await _cost_so_far(db, found=found, now=now)


async def transaction_cost(
    *, db: AsyncSession, station_id: int, transaction_id: int, now: datetime
) -> tuple[SessionCost, int] | None:
    """What a station's display shows for one of its transactions: the running (or final)
    cost and the meter register it stands at (Wh); None when there is nothing to show."""
    found = await ChargingRepository(db).session_of_transaction(
        station_id=station_id, transaction_id=transaction_id
    )
    if found is None or found.pricing_status == PricingStatus.FAILED:
        return None
    cost = await _cost_so_far(db, found=found, now=now)
    if cost is None:
        return None
    if found.meter_stop_wh is not None:
        return cost, found.meter_stop_wh
    return cost, found.last_register_wh or found.meter_start_wh


async def _cost_so_far(
    db: AsyncSession, *, found: ChargingSession | None, now: datetime
) -> SessionCost | None:
    if found is None or not found.billable:
        return None
    if found.stopped_at is not None:
        return await final_cost(db, session=found)
    return await _active_cost(db, session=found, now=now)


async def _active_cost(
    db: AsyncSession,
    *,
    session: ChargingSession,
    now: datetime,
    register: RegisterReading | None = None,
) -> SessionCost | None:
    """The cost so far, up to the session's trusted register (or `register`, one advanced in
    this transaction and not written yet)."""
    if session.tariff_ocpi is None or session.time_zone is None:
        return None
    repo = ChargingRepository(db)
    if register is not None:
        read_at, read_wh = register.timestamp, register.wh
    else:
        read_at = session.last_register_at or session.started_at
        read_wh = (
            session.last_register_wh
            if session.last_register_wh is not None
            else session.meter_start_wh
        )
    changes = await repo.status_changes(
        station_id=session.station_id,
        connector_id=session.connector_id,
        start=session.started_at,
        end=now + timedelta(microseconds=1),
    )
    # Up to now, or to the latest reading if the station's clock runs ahead of ours.
    tail, ended_at = since_the_reading(changes, read_at=read_at, end=max(now, read_at))
    evidence = await session_evidence(repo, session=session, ended_at=read_at, meter_end_wh=read_wh)
    periods = periods_for(evidence) if read_at > session.started_at or not tail else []
    periods.extend(tail)
    rated = rate_session(
        tariff=parse_tariff_json(session.tariff_ocpi),
        periods=periods,
        end=ended_at,
        time_zone=session.time_zone,
    )
    return SessionCost(
        session_id=session.id,
        transaction_id=session.transaction_id,
        final=False,
        currency=rated.currency,
        at=ended_at,
        energy_wh=max(read_wh - session.meter_start_wh, 0),
        total_excl_vat=rated.total_cost.excl_vat,
        total_incl_vat=rated.total_incl_vat,
        breakdown=breakdown_of(rated),
        rated=rated,
        periods=periods,
    )


async def enforce_spending_limit(
    *, db: AsyncSession, session_id: int, register: RegisterReading, now: datetime
) -> Money | None:
    """After a session's MeterValues: when its running cost (incl. VAT, rounded) has reached
    its spending limit, record `limit_reached_at` and `session.limit_reached` (once) and
    return the limit; None otherwise. Only called for sessions with a limit."""
    repo = ChargingRepository(db)
    session = await repo.session(session_id)
    if (
        session is None
        or session.spending_limit_minor is None
        or session.limit_reached_at is not None
        or session.stopped_at is not None
        or not session.billable
    ):
        return None
    cost = await _active_cost(db, session=session, now=now, register=register)
    if cost is None:
        return None
    limit = Money.from_minor_units(session.spending_limit_minor, cost.currency)
    if Money.of(cost.total_incl_vat, cost.currency).rounded().amount < limit.amount:
        return None
    session.limit_reached_at = now
    session.updated_at = now
    await db.flush()
    await events.record_limit_reached(db=db, session_id=session.id, limit=limit, now=now)
    log.info(
        "session.limit_reached",
        session_id=session.id,
        limit=events.limit_text(limit),
        cost=str(cost.total_incl_vat),
    )
    return limit


def since_the_reading(
    changes: Sequence[tuple[datetime, str]], *, read_at: datetime, end: datetime
) -> tuple[list[ChargingPeriodInput], datetime]:
    """The periods from the latest reading to `end` as the connector's statuses (oldest
    first) tell them, and where they end: at the first moment the status says neither
    charging nor idle (see the module docstring)."""
    status: str | None = None
    later: list[tuple[datetime, str | None]] = []
    for at, change in changes:
        if at <= read_at:
            status = change
        elif at < end:
            later.append((at, change))
    periods: list[ChargingPeriodInput] = []
    cursor = read_at
    for until, following in [*later, (end, None)]:
        kind = _TIME_BY_STATUS.get(status)
        if kind is None:
            return periods, cursor
        if until > cursor and (not periods or periods[-1].kind is not kind):
            periods.append(ChargingPeriodInput(start=cursor, kind=kind))
        cursor, status = until, following
    return periods, end


_TIME_BY_STATUS: dict[str | None, PeriodKind] = {
    "Charging": PeriodKind.CHARGING,
    **dict.fromkeys(IDLE_STATUSES, PeriodKind.PARKING),
}


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
    return (
        price_text(tariff=parse_tariff_json(snapshot.ocpi_json)) if snapshot is not None else None
    )
