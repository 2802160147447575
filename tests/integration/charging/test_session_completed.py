"""`session.completed`: recorded once, when a session's amount is final: stopped and the car
gone (the connector's Available after the stop, EVDisconnected, the idle cap), or ended in a
way that bills nothing more (server ends, not billable, no energy). Idle time until the car
leaves is priced when the tariff bills parking (both databases)."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from evbilling.charging.completion import complete_idle_sessions
from evbilling.charging.ending import close_abandoned_sessions, price_session, retry_failed_pricing
from evbilling.charging.events import SESSION_COMPLETED, SESSION_REPRICED
from evbilling.charging.rerate import rerate
from evbilling.charging.station_events import StationRef
from evbilling.infra.context import ServiceContext
from evbilling.models import ChargingSession
from tests.factories import create_station, create_tariff, create_token
from tests.integration.charging.lifecycle_arrange import meter, session_row, start, station_ref
from tests.integration.charging.payment_arrange import (
    CARD,
    PARKING,
    connector_status,
    jobs_of,
    stop_with,
)


async def arranged(
    context: ServiceContext, operator_id: int, *, ocpi: dict[str, Any] | None = None
) -> StationRef:
    tariff = await create_tariff(context, operator_id=operator_id, ocpi=ocpi)
    station_id = await create_station(context, operator_id=operator_id, tariff_id=tariff)
    await create_token(context, operator_id=operator_id, uid=CARD)
    return await station_ref(context, station_id)


async def charged_and_stopped(
    context: ServiceContext,
    station: StationRef,
    *,
    wh: int = 2000,
    minutes: int = 30,
    reason: str | None = None,
) -> tuple[int, datetime]:
    """A session of `wh` over `minutes`, stopped; its transaction id and stop time."""
    t0 = context.clock.now()
    started = await start(context, station, card=CARD, at=t0)
    await connector_status(context, station, status="Charging", at=t0)
    if wh:
        await meter(
            context,
            station,
            transaction_id=started.transaction_id,
            wh=wh // 2,
            at=t0 + timedelta(minutes=minutes / 2),
        )
    stopped = t0 + timedelta(minutes=minutes)
    await stop_with(
        context, station, transaction_id=started.transaction_id, wh=wh, at=stopped, reason=reason
    )
    return started.transaction_id, stopped


class TestCompletedAfterUnplug:
    async def test_waits_for_the_car_to_leave_after_the_stop(
        self, context: ServiceContext, operator_id: int
    ) -> None:
        station = await arranged(context, operator_id)

        transaction_id, _ = await charged_and_stopped(context, station)

        row = await session_row(context, station, transaction_id)
        assert (row.status, row.pricing_status) == ("completed", "priced")
        assert (row.occupied_until, row.completed_at) == (None, None)
        assert await jobs_of(context, SESSION_COMPLETED) == []

    async def test_the_connectors_available_completes_it_once(
        self, context: ServiceContext, operator_id: int
    ) -> None:
        station = await arranged(context, operator_id)
        transaction_id, stopped = await charged_and_stopped(context, station)
        unplugged = stopped + timedelta(minutes=3)

        await connector_status(context, station, status="Finishing", at=stopped)
        await connector_status(context, station, status="Available", at=unplugged)
        await connector_status(
            context, station, status="Available", at=unplugged + timedelta(minutes=1)
        )

        row = await session_row(context, station, transaction_id)
        jobs = await jobs_of(context, SESSION_COMPLETED)
        assert row.occupied_until == unplugged
        assert row.completed_at == unplugged
        assert [(job.payload, job.dedupe_key) for job in jobs] == [
            ({"session_id": row.id}, f"session.completed:{row.id}")
        ]

    async def test_another_connectors_available_changes_nothing(
        self, context: ServiceContext, operator_id: int
    ) -> None:
        station = await arranged(context, operator_id)
        transaction_id, stopped = await charged_and_stopped(context, station)

        await connector_status(
            context, station, status="Available", at=stopped + timedelta(minutes=1), connector_id=2
        )

        row = await session_row(context, station, transaction_id)
        assert (row.occupied_until, row.completed_at) == (None, None)
        assert await jobs_of(context, SESSION_COMPLETED) == []

    async def test_ev_disconnected_completes_it_at_the_stop(
        self, context: ServiceContext, operator_id: int
    ) -> None:
        station = await arranged(context, operator_id)

        transaction_id, stopped = await charged_and_stopped(
            context, station, reason="EVDisconnected"
        )

        row = await session_row(context, station, transaction_id)
        assert (row.occupied_until, row.completed_at) == (stopped, stopped)
        assert len(await jobs_of(context, SESSION_COMPLETED)) == 1

    async def test_available_reported_before_the_stop_completes_it_at_the_stop(
        self, context: ServiceContext, operator_id: int
    ) -> None:
        station = await arranged(context, operator_id)
        t0 = context.clock.now()
        started = await start(context, station, card=CARD, at=t0)
        await meter(
            context,
            station,
            transaction_id=started.transaction_id,
            wh=900,
            at=t0 + timedelta(minutes=9),
        )
        await connector_status(context, station, status="Available", at=t0 + timedelta(minutes=10))

        await stop_with(
            context,
            station,
            transaction_id=started.transaction_id,
            wh=1000,
            at=t0 + timedelta(minutes=10),
        )

        row = await session_row(context, station, started.transaction_id)
        assert row.completed_at is not None
        assert row.occupied_until == row.stopped_at


class TestCompletedAtOnce:
    async def test_a_session_without_energy(
        self, context: ServiceContext, operator_id: int
    ) -> None:
        station = await arranged(context, operator_id)

        transaction_id, stopped = await charged_and_stopped(context, station, wh=0)

        row = await session_row(context, station, transaction_id)
        assert (row.energy_wh, row.occupied_until, row.completed_at) == (0, stopped, stopped)
        assert len(await jobs_of(context, SESSION_COMPLETED)) == 1

    async def test_a_rejected_session_not_billable(
        self, context: ServiceContext, operator_id: int
    ) -> None:
        station = await arranged(context, operator_id)
        t0 = context.clock.now()
        started = await start(context, station, card="UNKNOWN1", at=t0)

        await stop_with(
            context,
            station,
            transaction_id=started.transaction_id,
            wh=500,
            at=t0 + timedelta(minutes=5),
        )

        row = await session_row(context, station, started.transaction_id)
        assert (row.status, row.pricing_status) == ("rejected", "not_billable")
        assert row.completed_at is not None
        assert len(await jobs_of(context, SESSION_COMPLETED)) == 1

    async def test_an_abandoned_session(self, context: ServiceContext, operator_id: int) -> None:
        station = await arranged(context, operator_id)
        t0 = context.clock.now()
        started = await start(context, station, card=CARD, at=t0)
        await meter(
            context,
            station,
            transaction_id=started.transaction_id,
            wh=800,
            at=t0 + timedelta(minutes=9),
        )

        async with context.unit_of_work() as db:
            closed = await close_abandoned_sessions(
                db=db, now=t0 + timedelta(days=2), silent_for=timedelta(days=1)
            )
            await db.commit()

        row = await session_row(context, station, started.transaction_id)
        assert closed == 1
        assert (row.status, row.completed_at) == ("abandoned", t0 + timedelta(days=2))
        assert len(await jobs_of(context, SESSION_COMPLETED)) == 1

    async def test_a_superseded_session(self, context: ServiceContext, operator_id: int) -> None:
        station = await arranged(context, operator_id)
        t0 = context.clock.now()
        first = await start(context, station, card=CARD, at=t0)
        await create_token(context, operator_id=operator_id, uid="04FFFF", driver_name="Bob")

        await start(context, station, card="04FFFF", at=t0 + timedelta(minutes=5))

        row = await session_row(context, station, first.transaction_id)
        assert row.status == "superseded"
        assert row.completed_at is not None
        assert [job.payload for job in await jobs_of(context, SESSION_COMPLETED)] == [
            {"session_id": row.id}
        ]


class TestIdleTimeUntilUnplug:
    async def test_is_priced_as_parking_when_the_tariff_bills_parking(
        self, context: ServiceContext, operator_id: int
    ) -> None:
        station = await arranged(context, operator_id, ocpi=PARKING)
        transaction_id, stopped = await charged_and_stopped(context, station, wh=2000)
        at_stop = await session_row(context, station, transaction_id)

        await connector_status(context, station, status="Finishing", at=stopped)
        await connector_status(
            context, station, status="Available", at=stopped + timedelta(minutes=30)
        )

        row = await session_row(context, station, transaction_id)
        lines = {line["kind"]: line for line in (row.cost_breakdown or {})["lines"]}
        # 2 kWh x 0.30 + 1.00 = 1.60 at the stop; then 30 min parking at 6.00/h = 3.00.
        assert at_stop.cost_excl_vat == Decimal("1.60")
        assert lines["PARKING_TIME"]["amount_excl_vat"] == "3.00"
        assert row.cost_excl_vat == Decimal("4.60")
        assert row.cost_incl_vat == Decimal("5.52")
        assert row.energy_wh == 2000
        assert row.completed_at is not None

    async def test_a_rerate_prices_the_same_window_until_unplug(
        self, context: ServiceContext, operator_id: int
    ) -> None:
        station = await arranged(context, operator_id, ocpi=PARKING)
        _, stopped = await charged_and_stopped(context, station, wh=2000)
        await connector_status(
            context, station, status="Available", at=stopped + timedelta(minutes=30)
        )
        same = {"country_code": "DE", "party_id": "EVB", "id": "P1", **PARKING}

        async with context.unit_of_work() as db:
            report = await rerate(
                db=db,
                operator_id=operator_id,
                tariff_document=same,
                started_from=stopped - timedelta(days=1),
                started_before=stopped + timedelta(days=1),
            )

        assert report.totals()["billed_excl_vat"] == Decimal("4.60")
        assert report.totals()["difference_excl_vat"] == Decimal(0)

    async def test_is_free_when_the_tariff_bills_no_parking(
        self, context: ServiceContext, operator_id: int
    ) -> None:
        station = await arranged(context, operator_id)
        transaction_id, stopped = await charged_and_stopped(context, station, wh=2000)
        at_stop = await session_row(context, station, transaction_id)

        await connector_status(
            context, station, status="Available", at=stopped + timedelta(minutes=30)
        )

        row = await session_row(context, station, transaction_id)
        assert (row.cost_incl_vat, row.cdr) == (at_stop.cost_incl_vat, at_stop.cdr)
        assert row.occupied_until == stopped + timedelta(minutes=30)

    async def test_the_idle_cap_completes_a_session_whose_station_never_says_unplugged(
        self, context: ServiceContext, operator_id: int
    ) -> None:
        station = await arranged(context, operator_id, ocpi=PARKING)
        transaction_id, stopped = await charged_and_stopped(context, station, wh=2000)
        await connector_status(context, station, status="Finishing", at=stopped)
        # The station's last word: still occupied 12 minutes after the stop.
        await connector_status(
            context, station, status="SuspendedEV", at=stopped + timedelta(minutes=12)
        )
        cap = timedelta(hours=4)

        async with context.unit_of_work() as db:
            early = await complete_idle_sessions(
                db=db, now=stopped + timedelta(hours=3), idle_cap=cap
            )
            await db.commit()
        async with context.unit_of_work() as db:
            done = await complete_idle_sessions(
                db=db, now=stopped + timedelta(hours=5), idle_cap=cap
            )
            await db.commit()

        row = await session_row(context, station, transaction_id)
        lines = {line["kind"]: line for line in (row.cost_breakdown or {})["lines"]}
        assert (early, done) == (0, 1)
        assert row.occupied_until == stopped + timedelta(minutes=12)
        assert lines["PARKING_TIME"]["amount_excl_vat"] == "1.20"  # 12 min at 6.00/h
        assert len(await jobs_of(context, SESSION_COMPLETED)) == 1


class TestPricingAfterCompletion:
    async def test_a_failed_pricing_completes_once_priced_again(
        self, context: ServiceContext, operator_id: int
    ) -> None:
        station = await arranged(context, operator_id)
        transaction_id, stopped = await charged_and_stopped(
            context, station, reason="EVDisconnected"
        )
        row = await session_row(context, station, transaction_id)
        async with context.unit_of_work() as db:
            failed = await db.get_one(ChargingSession, row.id)
            failed.pricing_status = "failed"
            failed.completed_at = None
            await db.commit()

        async with context.unit_of_work() as db:
            priced = await retry_failed_pricing(db=db, now=stopped + timedelta(hours=1), limit=10)
            await db.commit()

        after = await session_row(context, station, transaction_id)
        assert priced == 1
        assert (after.pricing_status, after.completed_at) == (
            "priced",
            stopped + timedelta(hours=1),
        )
        # The first completion's job stands for both: one per session.
        assert len(await jobs_of(context, SESSION_COMPLETED)) == 1

    async def test_a_completed_session_priced_again_records_repriced(
        self, context: ServiceContext, operator_id: int
    ) -> None:
        station = await arranged(context, operator_id)
        transaction_id, stopped = await charged_and_stopped(
            context, station, reason="EVDisconnected"
        )
        row = await session_row(context, station, transaction_id)

        async with context.unit_of_work() as db:
            session = await db.get_one(ChargingSession, row.id)
            await price_session(db, session=session, now=stopped + timedelta(hours=2))
            await db.commit()

        repriced = await jobs_of(context, SESSION_REPRICED)
        assert [job.payload for job in repriced] == [{"session_id": row.id}]
        assert (await session_row(context, station, transaction_id)).completed_at == stopped
