"""The session invariants hold across concurrent connections: the database's partial unique
indexes decide, and the start that loses a race decides again, seeing the winner.

PostgreSQL only: SQLite has one writer and evbilling one connection to it, so its starts never
interleave."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from evbilling.charging import service as charging
from evbilling.charging.service import StartResult
from evbilling.charging.station_events import StationRef
from evbilling.infra.context import ServiceContext
from evbilling.models import ChargingSession, Station
from tests.factories import create_station, create_tariff, create_token
from tests.integration.charging.lifecycle_arrange import station_ref

CARD = "04A1B2C3D4"


@pytest.fixture
def postgres(database_url: str) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite has one writer: concurrent starts cannot interleave")


async def blocked_on_a_lock(engine: AsyncEngine, waiting: asyncio.Task[StartResult]) -> None:
    """Return once another connection of this database waits on a lock (or `waiting` ended:
    then there was no race to decide, and the assertions say so)."""
    async with engine.connect() as watcher:
        for _ in range(1000):
            if waiting.done():
                return
            count = await watcher.scalar(
                text(
                    "SELECT count(*) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND wait_event_type = 'Lock'"
                )
            )
            if count:
                return
            await asyncio.sleep(0.01)


async def start_alone(
    context: ServiceContext, station: StationRef, *, connector_id: int = 1, meter: int = 0
) -> StartResult:
    async with context.unit_of_work() as db:
        result = await charging.start_transaction(
            db=db,
            station=station,
            connector_id=connector_id,
            id_tag=CARD,
            meter_start_wh=meter,
            timestamp=context.clock.now(),
            reservation_id=None,
            now=context.clock.now(),
        )
        await db.commit()
        return result


async def race(
    context: ServiceContext, engine: AsyncEngine, first: StationRef, second: StationRef
) -> tuple[StartResult, StartResult]:
    """`first` starts and holds its transaction open until `second`'s start waits on it."""
    async with context.unit_of_work() as db:
        won = await charging.start_transaction(
            db=db,
            station=first,
            connector_id=1,
            id_tag=CARD,
            meter_start_wh=0,
            timestamp=context.clock.now(),
            reservation_id=None,
            now=context.clock.now(),
        )
        racing = asyncio.create_task(start_alone(context, second, meter=500))
        await blocked_on_a_lock(engine, racing)
        await db.commit()
    return won, await racing


class TestConcurrentStarts:
    async def test_two_starts_with_one_card_at_two_stations_accept_exactly_one(
        self, postgres: None, context: ServiceContext, engine: AsyncEngine, operator_id: int
    ) -> None:
        tariff = await create_tariff(context, operator_id=operator_id)
        cp1 = await station_ref(
            context, await create_station(context, operator_id=operator_id, tariff_id=tariff)
        )
        cp2 = await station_ref(
            context,
            await create_station(
                context, operator_id=operator_id, identity="CP-2", tariff_id=tariff
            ),
        )
        await create_token(context, operator_id=operator_id, uid=CARD)

        won, lost = await race(context, engine, cp1, cp2)

        assert won.id_tag_info.status == "Accepted"
        assert lost.id_tag_info.status == "ConcurrentTx"
        async with context.unit_of_work() as db:
            rows = list(
                (await db.execute(select(ChargingSession).order_by(ChargingSession.id))).scalars()
            )
            counters = list(
                (await db.execute(select(Station.last_transaction_id).order_by(Station.id)))
                .scalars()
                .all()
            )
        # Nothing half-written: one active, billable session; one rejected, never billed.
        assert [(r.station_id, r.transaction_id, r.status, r.billable) for r in rows] == [
            (cp1.id, 1, "active", True),
            (cp2.id, 1, "rejected", False),
        ]
        assert rows[1].pricing_status == "not_billable"
        assert counters == [1, 1]

    async def test_two_starts_on_one_connector_leave_one_active_and_supersede_the_other(
        self, postgres: None, context: ServiceContext, engine: AsyncEngine, operator_id: int
    ) -> None:
        tariff = await create_tariff(context, operator_id=operator_id)
        cp1 = await station_ref(
            context, await create_station(context, operator_id=operator_id, tariff_id=tariff)
        )
        await create_token(context, operator_id=operator_id, uid=CARD)

        won, lost = await race(context, engine, cp1, cp1)

        assert (won.transaction_id, lost.transaction_id) == (1, 2)
        assert lost.id_tag_info.status == "Accepted"
        async with context.unit_of_work() as db:
            statuses = list(
                (
                    await db.execute(
                        select(ChargingSession.transaction_id, ChargingSession.status).order_by(
                            ChargingSession.transaction_id
                        )
                    )
                ).all()
            )
        assert [tuple(row) for row in statuses] == [(1, "superseded"), (2, "active")]


class TestIndexes:
    async def test_the_database_refuses_a_second_active_session_or_transaction_id(
        self, context: ServiceContext, operator_id: int
    ) -> None:
        # On both databases: the index holds whatever the code above it does.
        station = await create_station(context, operator_id=operator_id)

        def active(transaction_id: int) -> ChargingSession:
            now = context.clock.now()
            return ChargingSession(
                operator_id=operator_id,
                station_id=station,
                transaction_id=transaction_id,
                connector_id=1,
                start_key=f"k{transaction_id}",
                id_tag=CARD,
                authorization_status="Accepted",
                status="active",
                billable=True,
                pricing_status="pending",
                started_at=now + timedelta(minutes=transaction_id),
                meter_start_wh=0,
                last_seen_at=now,
                created_at=now,
                updated_at=now,
            )

        async def insert(row: ChargingSession) -> None:
            async with context.unit_of_work() as db:
                db.add(row)
                await db.commit()

        same_transaction_id = active(1)
        same_transaction_id.start_key, same_transaction_id.status = "other", "completed"
        await insert(active(1))

        with pytest.raises(IntegrityError):
            await insert(active(2))
        with pytest.raises(IntegrityError):
            await insert(same_transaction_id)
