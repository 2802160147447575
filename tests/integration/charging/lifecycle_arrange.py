"""Arrange steps for session lifecycle tests: sessions started, metered and stopped through the
charging services, as the OCPP edge drives them, each in its own committed unit of work.

Station and server clocks agree, as in the field: a message stamped `at` is received then (a
test's fixed clock is moved forward to it)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from evbilling.charging import service as charging
from evbilling.charging.meter_service import MeterValueIn, SampledValueIn, record_meter_values
from evbilling.charging.service import StartResult
from evbilling.charging.station_events import StationRef
from evbilling.infra.context import ServiceContext
from evbilling.kit import FixedClock
from evbilling.models import ChargingSession, Station


def received_at(context: ServiceContext, at: datetime) -> datetime:
    """The server's receive time of a message stamped `at`."""
    if isinstance(context.clock, FixedClock) and context.clock.current < at:
        context.clock.current = at
    return context.clock.now()


async def station_ref(context: ServiceContext, station_id: int) -> StationRef:
    async with context.unit_of_work() as db:
        row = await db.get_one(Station, station_id)
        return StationRef(id=row.id, operator_id=row.operator_id, identity=row.identity)


async def start(
    context: ServiceContext,
    station: StationRef,
    *,
    card: str,
    at: datetime,
    connector_id: int = 1,
    meter_start_wh: int = 0,
) -> StartResult:
    async with context.unit_of_work() as db:
        result = await charging.start_transaction(
            db=db,
            station=station,
            connector_id=connector_id,
            id_tag=card,
            meter_start_wh=meter_start_wh,
            timestamp=at,
            reservation_id=None,
            now=received_at(context, at),
        )
        await db.commit()
        return result


async def meter(
    context: ServiceContext, station: StationRef, *, transaction_id: int, wh: int, at: datetime
) -> None:
    async with context.unit_of_work() as db:
        await record_meter_values(
            db=db,
            station=station,
            connector_id=1,
            transaction_id=transaction_id,
            meter_values=[MeterValueIn(timestamp=at, sampled_values=(SampledValueIn(str(wh)),))],
            now=received_at(context, at),
        )
        await db.commit()


async def stop(
    context: ServiceContext, station: StationRef, *, transaction_id: int, wh: int, at: datetime
) -> None:
    async with context.unit_of_work() as db:
        await charging.stop_transaction(
            db=db,
            station=station,
            transaction_id=transaction_id,
            meter_stop_wh=wh,
            timestamp=at,
            reason=None,
            id_tag=None,
            transaction_data=(),
            now=received_at(context, at),
        )
        await db.commit()


async def charged(
    context: ServiceContext, station: StationRef, *, card: str, wh: int, minutes: int
) -> StartResult:
    """An active session started now, with one register reading `minutes` later."""
    now = context.clock.now()
    started = await start(context, station, card=card, at=now)
    await meter(
        context,
        station,
        transaction_id=started.transaction_id,
        wh=wh,
        at=now + timedelta(minutes=minutes),
    )
    return started


async def session_row(
    context: ServiceContext, station: StationRef, transaction_id: int
) -> ChargingSession:
    async with context.unit_of_work() as db:
        return (
            await db.execute(
                select(ChargingSession).where(
                    ChargingSession.station_id == station.id,
                    ChargingSession.transaction_id == transaction_id,
                )
            )
        ).scalar_one()
