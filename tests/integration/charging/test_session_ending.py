"""The one way a session ends (`charging.ending`): once, priced, with its pricing status; a
failed pricing is recorded with its reason and tried again later."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from sqlalchemy import select

from evbilling.charging.domain import SessionStatus
from evbilling.charging.ending import (
    SessionEnd,
    close_abandoned_sessions,
    end_session,
    retry_failed_pricing,
)
from evbilling.infra.context import ServiceContext
from evbilling.kit import FixedClock
from evbilling.models import ChargingSession, Station
from tests.factories import create_station, create_tariff, create_token
from tests.integration.charging.lifecycle_arrange import (
    charged,
    session_row,
    start,
    station_ref,
    stop,
)

CARD = "04A1B2C3D4"


async def priced_station(context: ServiceContext, operator_id: int, identity: str = "CP-1") -> int:
    tariff = await create_tariff(context, operator_id=operator_id)
    return await create_station(
        context, operator_id=operator_id, identity=identity, tariff_id=tariff
    )


class TestEndingOnce:
    async def test_a_second_end_of_a_session_changes_nothing(
        self, context: ServiceContext, operator_id: int
    ) -> None:
        station = await station_ref(context, await priced_station(context, operator_id))
        await create_token(context, operator_id=operator_id, uid=CARD)
        started = await charged(context, station, card=CARD, wh=2000, minutes=10)
        ends = []
        for status, wh in ((SessionStatus.COMPLETED, 2500), (SessionStatus.ABANDONED, 9999)):
            async with context.unit_of_work() as db:
                row = await db.get_one(ChargingSession, 1)
                ends.append(
                    await end_session(
                        db,
                        session=row,
                        end=SessionEnd(
                            status=status,
                            ended_at=context.clock.now() + timedelta(minutes=5),
                            meter_end_wh=wh,
                        ),
                        now=context.clock.now(),
                    )
                )
                await db.commit()
            if len(ends) == 1:
                first = await session_row(context, station, started.transaction_id)

        after = await session_row(context, station, started.transaction_id)
        assert ends == [True, False]
        assert (after.status, after.energy_wh, after.updated_at, after.cost_incl_vat) == (
            "completed",
            2500,
            first.updated_at,
            first.cost_incl_vat,
        )
        # 2.5 kWh x 0.30 + 1.00 = 1.75; 20 % VAT -> 2.10
        assert after.cost_incl_vat == Decimal("2.10")

    async def test_transaction_ids_count_per_station(
        self, context: ServiceContext, clock: FixedClock, operator_id: int
    ) -> None:
        cp1 = await station_ref(context, await priced_station(context, operator_id))
        cp2 = await station_ref(context, await priced_station(context, operator_id, "CP-2"))
        await create_token(context, operator_id=operator_id, uid=CARD)
        given = []
        for station in (cp1, cp1, cp2, cp1):
            clock.advance(seconds=60)
            given.append((await start(context, station, card=CARD, at=clock.now())).transaction_id)

        assert given == [1, 2, 1, 3]
        async with context.unit_of_work() as db:
            counters = list(
                (await db.execute(select(Station.last_transaction_id).order_by(Station.id)))
                .scalars()
                .all()
            )
        assert counters == [3, 1]


class TestPricingFailures:
    async def test_a_pricing_failure_ends_the_session_as_failed_with_its_reason(
        self, context: ServiceContext, operator_id: int
    ) -> None:
        station = await station_ref(context, await priced_station(context, operator_id))
        await create_token(context, operator_id=operator_id, uid=CARD)
        started = await charged(context, station, card=CARD, wh=2000, minutes=10)
        async with context.unit_of_work() as db:
            # A time zone the rating engine does not know (the tz database changed, say).
            row = await db.get_one(ChargingSession, 1)
            row.time_zone = "Nowhere/Atlantis"
            await db.commit()

        await stop(
            context,
            station,
            transaction_id=started.transaction_id,
            wh=3000,
            at=context.clock.now() + timedelta(minutes=5),
        )

        failed = await session_row(context, station, started.transaction_id)
        assert (failed.status, failed.energy_wh, failed.pricing_status) == (
            "completed",
            3000,
            "failed",
        )
        assert failed.pricing_error == "InvalidTimeZone: unknown time zone: 'Nowhere/Atlantis'"
        assert (failed.cost_excl_vat, failed.cost_breakdown, failed.cdr) == (None, None, None)

    async def test_retry_prices_a_failed_session_once_the_cause_is_gone(
        self, context: ServiceContext, operator_id: int
    ) -> None:
        station = await station_ref(context, await priced_station(context, operator_id))
        await create_token(context, operator_id=operator_id, uid=CARD)
        started = await charged(context, station, card=CARD, wh=2000, minutes=10)
        async with context.unit_of_work() as db:
            (await db.get_one(ChargingSession, 1)).time_zone = "Nowhere/Atlantis"
            await db.commit()
        # 1 kWh in the ten minutes after the last reading: plausible on any EVSE.
        stopped_at = context.clock.now() + timedelta(minutes=10)
        await stop(context, station, transaction_id=1, wh=3000, at=stopped_at)
        async with context.unit_of_work() as db:
            still_failing = await retry_failed_pricing(db=db, now=context.clock.now(), limit=10)
            await db.commit()
        async with context.unit_of_work() as db:
            (await db.get_one(ChargingSession, 1)).time_zone = "Europe/Berlin"
            await db.commit()

        async with context.unit_of_work() as db:
            priced = await retry_failed_pricing(db=db, now=context.clock.now(), limit=10)
            await db.commit()
        async with context.unit_of_work() as db:
            again = await retry_failed_pricing(db=db, now=context.clock.now(), limit=10)

        row = await session_row(context, station, started.transaction_id)
        assert (still_failing, priced, again) == (0, 1, 0)
        assert (row.pricing_status, row.pricing_error) == ("priced", None)
        # 3 kWh x 0.30 + 1.00 = 1.90; 20 % VAT -> 2.28
        assert row.cost_incl_vat == Decimal("2.28")

    async def test_retry_tries_the_sessions_tried_longest_ago_first(
        self, context: ServiceContext, clock: FixedClock, operator_id: int
    ) -> None:
        # Sessions at a station without a tariff cannot be priced: they stay failed.
        station = await station_ref(context, await create_station(context, operator_id=operator_id))
        await create_token(context, operator_id=operator_id, uid=CARD)
        for _ in range(2):
            started = await charged(context, station, card=CARD, wh=100, minutes=1)
            await stop(context, station, transaction_id=started.transaction_id, wh=100,
                       at=clock.now() + timedelta(minutes=1))  # fmt: skip
        tried = []
        for _ in range(3):
            clock.advance(seconds=60)
            async with context.unit_of_work() as db:
                await retry_failed_pricing(db=db, now=clock.now(), limit=1)
                await db.commit()
            async with context.unit_of_work() as db:
                rows = (
                    await db.execute(select(ChargingSession).order_by(ChargingSession.id))
                ).scalars()
                tried.append([row.updated_at == clock.now() for row in rows])

        assert tried == [[True, False], [False, True], [True, False]]


class TestAbandoning:
    async def test_closes_at_most_the_limit_the_longest_silent_first(
        self, context: ServiceContext, clock: FixedClock, operator_id: int
    ) -> None:
        station = await station_ref(context, await priced_station(context, operator_id))
        for index, card in enumerate(("AA01", "AA02", "AA03")):
            await create_token(context, operator_id=operator_id, uid=card, driver_name=None)
            clock.advance(seconds=60)
            await start(context, station, card=card, at=clock.now(), connector_id=index + 1)
        clock.advance(seconds=2 * 86_400)

        async with context.unit_of_work() as db:
            closed = await close_abandoned_sessions(
                db=db, now=clock.now(), silent_for=timedelta(days=1), limit=2
            )
            await db.commit()

        statuses = [(await session_row(context, station, n)).status for n in (1, 2, 3)]
        assert closed == 2
        assert statuses == ["abandoned", "abandoned", "active"]
