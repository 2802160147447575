"""Charging's background jobs as the server runs them: the registry built from the settings
schedules them, and the worker closes forgotten sessions and prices failed ones again."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update

from evbilling.config import Settings
from evbilling.infra.context import ServiceContext
from evbilling.infra.jobs import JobWorker
from evbilling.kit import FixedClock
from evbilling.main import job_registry
from evbilling.models import ChargingSession
from tests.factories import create_station, create_tariff, create_token
from tests.integration.charging.lifecycle_arrange import (
    meter,
    session_row,
    start,
    station_ref,
    stop,
)

CARD = "04A1B2C3D4"


def server_worker(context: ServiceContext, *, abandon_after_s: float) -> JobWorker:
    settings = Settings(session_abandon_after_s=abandon_after_s)
    return JobWorker(context=context, registry=job_registry(settings=settings), worker_id="test")


class TestTheServersChargingJobs:
    async def test_a_session_silent_past_the_setting_is_closed_as_abandoned(
        self, context: ServiceContext, clock: FixedClock, operator_id: int
    ) -> None:
        tariff = await create_tariff(context, operator_id=operator_id)
        station = await station_ref(
            context, await create_station(context, operator_id=operator_id, tariff_id=tariff)
        )
        await create_token(context, operator_id=operator_id, uid=CARD, driver_name=None)
        started = await start(context, station, card=CARD, at=clock.now())
        await meter(
            context,
            station,
            transaction_id=started.transaction_id,
            wh=3_000,
            at=clock.now() + timedelta(minutes=10),
        )
        worker = server_worker(context, abandon_after_s=3_600)

        clock.advance(seconds=1_800)
        await worker.run_once(now=clock.now())
        still_active = (await session_row(context, station, started.transaction_id)).status
        clock.advance(seconds=3_600)
        await worker.run_once(now=clock.now())
        ended = await session_row(context, station, started.transaction_id)

        assert still_active == "active"
        assert (ended.status, ended.pricing_status) == ("abandoned", "review")
        assert (ended.energy_wh, ended.cost_incl_vat is not None) == (3_000, True)

    async def test_a_failed_pricing_is_tried_again_by_the_scheduled_job(
        self, context: ServiceContext, clock: FixedClock, operator_id: int
    ) -> None:
        tariff = await create_tariff(context, operator_id=operator_id)
        station = await station_ref(
            context, await create_station(context, operator_id=operator_id, tariff_id=tariff)
        )
        await create_token(context, operator_id=operator_id, uid=CARD, driver_name=None)
        started = await start(context, station, card=CARD, at=clock.now())
        await stop(
            context,
            station,
            transaction_id=started.transaction_id,
            wh=7_000,
            at=clock.now() + timedelta(minutes=30),
        )
        async with context.unit_of_work() as db:  # as an outage of the rating would leave it
            await db.execute(
                update(ChargingSession).values(
                    pricing_status="failed", pricing_error="rating unavailable"
                )
            )
            await db.commit()

        await server_worker(context, abandon_after_s=86_400).run_once(
            now=clock.now() + timedelta(minutes=20)
        )

        repriced = await session_row(context, station, started.transaction_id)
        assert (repriced.pricing_status, repriced.pricing_error) == ("priced", None)
        assert repriced.cost_incl_vat is not None
