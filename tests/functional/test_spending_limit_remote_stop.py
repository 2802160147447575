"""A spending limit over real WebSockets: when the running cost of a session reaches it, the
job worker sends RemoteStopTransaction to the charger, the reason is kept on the session, and
after the station's stop and the unplug the session is completed (both databases)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from ocpp.v16 import call
from pydantic import SecretStr
from sqlalchemy import select

from evbilling.charging.events import SESSION_COMPLETED, SESSION_LIMIT_REACHED
from evbilling.charging.settlement import set_spending_limit
from evbilling.config import Settings
from evbilling.infra.context import ServiceContext
from evbilling.infra.jobs import JobWorker
from evbilling.kit import FixedClock
from evbilling.main import job_registry
from evbilling.models import ChargingSession, Job
from evbilling.money import Money
from tests.factories import create_station, create_tariff, create_token
from tests.functional.charger import T0, TestCharger, charger
from tests.functional.conftest import LiveServer
from tests.functional.test_pricing_integration import api

SECRET = SecretStr("a-test-secret-of-at-least-32-characters")


async def status(station: TestCharger, value: str, minutes: float) -> None:
    """A StatusNotification stamped `minutes` after T0 (the server's clock moved to it)."""
    await station.call(
        call.StatusNotification(
            connector_id=1, error_code="NoError", status=value, timestamp=station.stamp(minutes)
        )
    )


def worker(context: ServiceContext, database_url: str) -> JobWorker:
    settings = Settings(database_url=database_url, api_key_secret=SECRET, command_timeout_s=5)
    return JobWorker(context=context, registry=job_registry(settings=settings))


async def the_session(context: ServiceContext) -> ChargingSession:
    async with context.unit_of_work() as db:
        return (await db.execute(select(ChargingSession))).scalar_one()


async def jobs(context: ServiceContext, kind: str) -> list[tuple[str, dict[str, object]]]:
    async with context.unit_of_work() as db:
        rows = await db.execute(select(Job.status, Job.payload).where(Job.kind == kind))
        return [(str(state), dict(payload)) for state, payload in rows]


async def limited_session(
    context: ServiceContext, station: TestCharger, *, limit: str
) -> tuple[int, int]:
    """A started session whose spending limit payments would set; transaction and session id."""
    started = await station.start_tx(meter_start=0, minutes=0)
    await status(station, "Charging", 0)
    session = await the_session(context)
    async with context.unit_of_work() as db:
        await set_spending_limit(
            db=db, session_id=session.id, limit=Money.of(limit, "EUR"), now=context.clock.now()
        )
        await db.commit()
    return started.transaction_id, session.id


class TestSpendingLimitOverOcpp:
    async def test_the_charger_is_told_to_stop_once_the_running_cost_reaches_the_limit(
        self,
        context: ServiceContext,
        operator_id: int,
        live_server: LiveServer,
        database_url: str,
        clock: FixedClock,
        api_key: str,
    ) -> None:
        # Arrange: 0.30/kWh + 1.00 per session, 20 % VAT; the limit is reached at 2 kWh.
        tariff = await create_tariff(context, operator_id=operator_id)
        await create_station(context, operator_id=operator_id, tariff_id=tariff)
        await create_token(context, operator_id=operator_id)
        jobs_worker = worker(context, database_url)
        async with charger(live_server) as station:
            transaction_id, session_id = await limited_session(context, station, limit="1.90")
            await station.meter(transaction_id, 1_000, minutes=5)
            before = await jobs_worker.run_once()

            # Act
            await station.meter(transaction_id, 2_000, minutes=10)
            runs = await jobs_worker.run_once()

            # Assert: the stop arrived, and the reason is on the session.
            assert [kind for kind, _ in station.received] == ["RemoteStopTransaction"]
            assert station.received[0][1] == {"transaction_id": transaction_id}
            stopped_remotely = await the_session(context)
            await station.stop_tx(transaction_id, 2_100, minutes=11)
            await status(station, "Finishing", 11)
            await status(station, "Available", 14)

        assert not any(run.kind == SESSION_LIMIT_REACHED for run in before)
        assert [run.outcome.value for run in runs if run.kind == SESSION_LIMIT_REACHED] == [
            "succeeded"
        ]
        assert stopped_remotely.limit_reached_at == T0 + timedelta(minutes=10)
        assert stopped_remotely.limit_stop_reason == "spending limit reached: EUR 1.90"
        final = await the_session(context)
        assert (final.status, final.end_reason) == (
            "completed",
            "spending limit reached: EUR 1.90",
        )
        assert final.completed_at == T0 + timedelta(minutes=14)
        assert await jobs(context, SESSION_COMPLETED) == [("queued", {"session_id": session_id})]
        async with api(live_server, api_key) as client:
            read = (await client.get(f"/sessions/{session_id}")).json()
        assert {key: read[key] for key in ("spending_limit", "spending_limit_minor")} == {
            "spending_limit": "1.90",
            "spending_limit_minor": 190,
        }
        assert read["limit_reached_at"].startswith("2026-03-02T09:10:00")
        assert read["limit_stop_reason"] == "spending limit reached: EUR 1.90"
        assert read["completed_at"].startswith("2026-03-02T09:14:00")
        assert read["occupied_until"].startswith("2026-03-02T09:14:00")

    async def test_a_station_that_is_offline_is_told_later(
        self,
        context: ServiceContext,
        operator_id: int,
        live_server: LiveServer,
        database_url: str,
    ) -> None:
        # Arrange: the limit is reached, then the station drops off before the worker runs.
        tariff = await create_tariff(context, operator_id=operator_id)
        await create_station(context, operator_id=operator_id, tariff_id=tariff)
        await create_token(context, operator_id=operator_id)
        jobs_worker = worker(context, database_url)
        async with charger(live_server) as station:
            transaction_id, _ = await limited_session(context, station, limit="1.20")
            await station.meter(transaction_id, 500, minutes=5)
        for _ in range(100):
            if not live_server.gateway.is_connected("CP-1"):
                break
            await asyncio.sleep(0.02)

        # Act
        offline = await jobs_worker.run_once()

        # Assert: retried later (queued again with its error), nothing recorded as sent.
        assert [
            (run.outcome.value, run.error_type)
            for run in offline
            if run.kind == SESSION_LIMIT_REACHED
        ] == [("retrying", "StationNotConnected")]
        assert [state for state, _ in await jobs(context, SESSION_LIMIT_REACHED)] == ["queued"]
        assert (await the_session(context)).limit_stop_reason is None
