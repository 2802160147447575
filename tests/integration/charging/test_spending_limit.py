"""Spending limits: payments sets one on an active session; charging records
`session.limit_reached` once when the running cost reaches it, and keeps MeterValues of
sessions without a limit as lean as before (both databases)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from evbilling.charging.events import SESSION_LIMIT_REACHED
from evbilling.charging.settlement import record_limit_stop, set_payment, set_spending_limit
from evbilling.charging.station_events import StationRef
from evbilling.infra.context import ServiceContext
from evbilling.kit import Conflict, InvalidRequest, NotFound
from evbilling.money import Money
from tests.factories import create_station, create_tariff, create_token
from tests.integration.charging.lifecycle_arrange import meter, session_row, start, station_ref
from tests.integration.charging.payment_arrange import CARD, jobs_of, stop_with


async def active_session(context: ServiceContext, operator_id: int) -> tuple[StationRef, int, int]:
    """A started session at 0.30/kWh + 1.00, 20 % VAT: station, transaction id, session id."""
    tariff = await create_tariff(context, operator_id=operator_id)
    station = await station_ref(
        context, await create_station(context, operator_id=operator_id, tariff_id=tariff)
    )
    await create_token(context, operator_id=operator_id, uid=CARD)
    started = await start(context, station, card=CARD, at=context.clock.now())
    row = await session_row(context, station, started.transaction_id)
    return station, started.transaction_id, row.id


async def limit(context: ServiceContext, session_id: int, amount: Money | None) -> None:
    async with context.unit_of_work() as db:
        await set_spending_limit(
            db=db, session_id=session_id, limit=amount, now=context.clock.now()
        )
        await db.commit()


class TestSettingTheLimit:
    async def test_stores_it_in_minor_units(
        self, context: ServiceContext, operator_id: int
    ) -> None:
        station, transaction_id, session_id = await active_session(context, operator_id)

        await limit(context, session_id, Money.of("47.10", "EUR"))

        assert (await session_row(context, station, transaction_id)).spending_limit_minor == 4710

    async def test_none_removes_it(self, context: ServiceContext, operator_id: int) -> None:
        station, transaction_id, session_id = await active_session(context, operator_id)
        await limit(context, session_id, Money.of("10", "EUR"))

        await limit(context, session_id, None)

        assert (await session_row(context, station, transaction_id)).spending_limit_minor is None

    @pytest.mark.parametrize(
        ("amount", "message"),
        [
            (Money.of("10", "USD"), "the limit is in USD, the session in EUR"),
            (Money.of("-1", "EUR"), "cannot be negative"),
            (Money.of("10.001", "EUR"), "more precision than EUR minor units"),
        ],
    )
    async def test_refuses_a_limit_it_cannot_enforce(
        self, context: ServiceContext, operator_id: int, amount: Money, message: str
    ) -> None:
        station, transaction_id, session_id = await active_session(context, operator_id)
        await limit(context, session_id, Money.of("20", "EUR"))

        with pytest.raises(InvalidRequest, match=message):
            await limit(context, session_id, amount)

        assert (await session_row(context, station, transaction_id)).spending_limit_minor == 2000

    async def test_refuses_an_ended_session(
        self, context: ServiceContext, operator_id: int
    ) -> None:
        station, transaction_id, session_id = await active_session(context, operator_id)
        await stop_with(
            context,
            station,
            transaction_id=transaction_id,
            wh=100,
            at=context.clock.now() + timedelta(minutes=1),
        )

        with pytest.raises(Conflict, match="is completed, not active"):
            await limit(context, session_id, Money.of("20", "EUR"))

        assert (await session_row(context, station, transaction_id)).spending_limit_minor is None

    async def test_refuses_an_unknown_session(self, context: ServiceContext) -> None:
        with pytest.raises(NotFound, match="session 999 not found"):
            await limit(context, 999, Money.of("20", "EUR"))


class TestReachingTheLimit:
    async def test_records_limit_reached_once_when_the_running_cost_reaches_it(
        self, context: ServiceContext, operator_id: int
    ) -> None:
        station, transaction_id, session_id = await active_session(context, operator_id)
        # 1.00 + 0.30/kWh, 20 % VAT: 1.20 at the start, 1.56 at 1 kWh, 1.92 at 2 kWh.
        await limit(context, session_id, Money.of("1.90", "EUR"))
        t0 = context.clock.now()

        await meter(
            context, station, transaction_id=transaction_id, wh=1000, at=t0 + timedelta(minutes=5)
        )
        below = await session_row(context, station, transaction_id)
        await meter(
            context, station, transaction_id=transaction_id, wh=2000, at=t0 + timedelta(minutes=10)
        )
        reached = await session_row(context, station, transaction_id)
        await meter(
            context, station, transaction_id=transaction_id, wh=3000, at=t0 + timedelta(minutes=15)
        )

        jobs = await jobs_of(context, SESSION_LIMIT_REACHED)
        assert below.limit_reached_at is None
        assert reached.limit_reached_at == t0 + timedelta(minutes=10)
        assert [(job.payload, job.dedupe_key) for job in jobs] == [
            (
                {"session_id": session_id, "limit": "EUR 1.90"},
                f"session.limit_reached:{session_id}",
            )
        ]
        after = await session_row(context, station, transaction_id)
        assert after.limit_reached_at == reached.limit_reached_at
        assert after.last_register_wh == 3000

    async def test_a_session_without_a_limit_never_reaches_one(
        self, context: ServiceContext, operator_id: int
    ) -> None:
        station, transaction_id, _ = await active_session(context, operator_id)

        await meter(
            context,
            station,
            transaction_id=transaction_id,
            wh=90_000,
            at=context.clock.now() + timedelta(hours=5),
        )

        assert (await session_row(context, station, transaction_id)).limit_reached_at is None
        assert await jobs_of(context, SESSION_LIMIT_REACHED) == []

    async def test_meter_values_without_a_limit_read_no_evidence(
        self, context: ServiceContext, operator_id: int, engine: AsyncEngine
    ) -> None:
        station, transaction_id, session_id = await active_session(context, operator_id)
        statements: list[str] = []

        def seen(*args: Any) -> None:
            statements.append(str(args[2]))

        event.listen(engine.sync_engine, "before_cursor_execute", seen)
        try:
            await meter(
                context,
                station,
                transaction_id=transaction_id,
                wh=1000,
                at=context.clock.now() + timedelta(minutes=5),
            )
            without = list(statements)
            await limit(context, session_id, Money.of("50", "EUR"))
            statements.clear()
            await meter(
                context,
                station,
                transaction_id=transaction_id,
                wh=2000,
                at=context.clock.now() + timedelta(minutes=10),
            )
        finally:
            event.remove(engine.sync_engine, "before_cursor_execute", seen)

        def reads_readings(sql: str) -> bool:
            return sql.lstrip().upper().startswith("SELECT") and "meter_values" in sql

        assert not any(reads_readings(sql) for sql in without)
        assert any(reads_readings(sql) for sql in statements)  # the limit costs the reads

    async def test_the_remote_stop_reason_outlives_the_stations_stop(
        self, context: ServiceContext, operator_id: int
    ) -> None:
        station, transaction_id, session_id = await active_session(context, operator_id)
        async with context.unit_of_work() as db:
            await record_limit_stop(
                db=db,
                session_id=session_id,
                reason="spending limit reached: EUR 47.10",
                now=context.clock.now(),
            )
            await set_payment(
                db=db,
                session_id=session_id,
                kind="card",
                reason="hold of EUR 50.00 on visa 4242",
                now=context.clock.now(),
            )
            await db.commit()

        await stop_with(
            context,
            station,
            transaction_id=transaction_id,
            wh=100,
            at=context.clock.now() + timedelta(minutes=1),
            reason="Remote",
        )

        row = await session_row(context, station, transaction_id)
        assert (row.end_reason, row.limit_stop_reason, row.stop_reason) == (
            "spending limit reached: EUR 47.10",
            "spending limit reached: EUR 47.10",
            "Remote",
        )
        assert (row.payment_kind, row.payment_reason) == ("card", "hold of EUR 50.00 on visa 4242")

    async def test_refuses_an_unknown_payment_kind(
        self, context: ServiceContext, operator_id: int
    ) -> None:
        station, transaction_id, session_id = await active_session(context, operator_id)

        with pytest.raises(InvalidRequest, match="payment kind must be one of"):
            async with context.unit_of_work() as db:
                await set_payment(
                    db=db, session_id=session_id, kind="cash", reason="", now=context.clock.now()
                )

        assert (await session_row(context, station, transaction_id)).payment_kind is None
