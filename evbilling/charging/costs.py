"""What charging costs while it happens: a session's running cost, a driver's price text."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from evbilling.charging.domain import PricingStatus, normalize_id_tag
from evbilling.charging.pricing import SessionCost, cost_of
from evbilling.charging.repository import ChargingRepository
from evbilling.charging.station_events import StationRef
from evbilling.kit.errors import Conflict
from evbilling.models import ChargingSession
from evbilling.rating.resolution import resolve_tariff
from evbilling.tariffs.domain import parse_tariff_json
from evbilling.tariffs.price_text import price_text


async def running_cost(
    *, db: AsyncSession, operator_id: int, session_id: int, now: datetime
) -> SessionCost | None:
    """What an active session costs so far (up to its latest meter reading), or its final cost
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
    return (
        price_text(tariff=parse_tariff_json(snapshot.ocpi_json)) if snapshot is not None else None
    )
