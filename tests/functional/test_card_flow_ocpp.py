"""Automatic card payment around a session, over real WebSockets with the `ocpp` library as
the charger and the sandbox provider: a driver with a saved card is held at Authorize, the
session gets its spending limit at StartTransaction, is stopped remotely when it reaches it,
and after the stop and the unplug it is completed and captured with its ledger entries. A
declined card is turned away; a start without energy has its hold released (both
databases)."""

from __future__ import annotations

from pathlib import Path

from ocpp.v16 import call
from pydantic import SecretStr
from sqlalchemy import func, select

from evbilling.charging.events import SESSION_COMPLETED
from evbilling.config import Settings
from evbilling.infra.context import ServiceContext
from evbilling.infra.jobs import JobWorker
from evbilling.kit import FixedClock
from evbilling.ledger.service import trial_balance
from evbilling.main import job_registry
from evbilling.models import Job, LedgerEntry
from evbilling.payments.capture import settle_session
from tests.factories import create_station, create_tariff, create_token
from tests.functional.card_flow_arrange import (
    CARD,
    DECLINE,
    SUCCESS,
    payments_of,
    sandbox_and_server,
    save_card,
    sessions_of,
)
from tests.functional.charger import TestCharger, charger

SECRET = SecretStr("a-test-secret-of-at-least-32-characters")


async def status(station: TestCharger, value: str, minutes: float) -> None:
    await station.call(
        call.StatusNotification(
            connector_id=1, error_code="NoError", status=value, timestamp=station.stamp(minutes)
        )
    )


async def completed_jobs(context: ServiceContext) -> list[dict[str, object]]:
    async with context.unit_of_work() as db:
        rows = await db.execute(select(Job.payload).where(Job.kind == SESSION_COMPLETED))
        return [dict(payload) for payload in rows.scalars()]


class TestCardFlowOverOcpp:
    async def test_hold_limit_remote_stop_completion_capture_and_ledger(
        self,
        context: ServiceContext,
        operator_id: int,
        clock: FixedClock,
        tmp_path: Path,
        database_url: str,
    ) -> None:
        # Arrange: 0.30/kWh + 1.00, 20 % VAT at 22 kW: a hold of 1.20 + 0.36 x 22 = 9.12,
        # a margin of 0.36 x 22 kW x 90 s = 0.20, so a spending limit of 8.92.
        tariff = await create_tariff(context, operator_id=operator_id)
        await create_station(context, operator_id=operator_id, tariff_id=tariff)
        await create_token(context, operator_id=operator_id, uid=CARD)
        settings = Settings(database_url=database_url, api_key_secret=SECRET)
        async with sandbox_and_server(context, clock, tmp_path) as (sandbox, server):
            registry = job_registry(settings=settings, provider=sandbox.provider)
            worker = JobWorker(context=context, registry=registry)
            await save_card(context, sandbox, operator_id=operator_id, number=SUCCESS)
            async with charger(server) as station:
                # Act: authorize, start, charge to the limit.
                authorized = await station.call(call.Authorize(id_tag=CARD))
                held = await payments_of(context)
                started = await station.start_tx(CARD, meter_start=0, minutes=0)
                await status(station, "Charging", 0)
                limited = (await sessions_of(context))[0]
                await station.meter(started.transaction_id, 11_000, minutes=30)
                await station.meter(started.transaction_id, 21_500, minutes=60)
                await worker.run_once()
                remote_stops = [
                    args for kind, args in station.received if kind.startswith("Remote")
                ]
                await station.stop_tx(started.transaction_id, 21_600, minutes=61)
                await status(station, "Finishing", 61)
                await status(station, "Available", 63)
            session = (await sessions_of(context))[0]
            jobs = await completed_jobs(context)
            settled = await worker.run_once()  # session.completed: the capture
            captured = await payments_of(context)
            captures = await sandbox.captures(captured[0].authorization_id or "")

        # Assert: held at Authorize, limited at the start, stopped remotely at the limit.
        assert authorized.id_tag_info["status"] == "Accepted"
        assert [(p.status, p.authorized_minor) for p in held] == [("authorized", 912)]
        assert (limited.spending_limit_minor, limited.payment_kind) == (892, "card")
        assert limited.payment_reason == "card hold; spending limit EUR 8.92"
        assert remote_stops == [{"transaction_id": started.transaction_id}]
        assert session.limit_stop_reason == "spending limit reached: EUR 8.92"
        # Completed once the car left; 21.6 kWh x 0.36 + 1.20 = 8.976 -> 8.98.
        assert session.completed_at is not None
        assert str(session.cost_incl_vat) == "8.98"
        assert jobs == [{"session_id": session.id}]
        assert [run.outcome.value for run in settled if run.kind == SESSION_COMPLETED] == [
            "succeeded"
        ]
        assert [(p.status, p.captured_minor, p.session_id) for p in captured] == [
            ("captured", 898, session.id)
        ]
        assert captures == [898]
        async with context.unit_of_work() as db:
            entries = await db.scalar(select(func.count()).select_from(LedgerEntry))
            rows = await trial_balance(db=db)
        assert entries
        assert all(row.difference == 0 for row in rows)

    async def test_a_declined_card_is_blocked_and_no_session_is_billed_to_it(
        self, context: ServiceContext, operator_id: int, clock: FixedClock, tmp_path: Path
    ) -> None:
        tariff = await create_tariff(context, operator_id=operator_id)
        await create_station(context, operator_id=operator_id, tariff_id=tariff)
        await create_token(context, operator_id=operator_id, uid=CARD)
        async with sandbox_and_server(context, clock, tmp_path) as (sandbox, server):
            await save_card(context, sandbox, operator_id=operator_id, number=DECLINE)
            async with charger(server) as station:
                # Act: the station asks, is told Blocked, and (some do) starts anyway.
                authorized = await station.call(call.Authorize(id_tag=CARD))
                started = await station.start_tx(CARD, meter_start=0, minutes=0)
                await station.stop_tx(started.transaction_id, 5_000, minutes=20)

        sessions = await sessions_of(context)
        assert authorized.id_tag_info["status"] == "Blocked"
        assert started.id_tag_info["status"] == "Blocked"
        assert [(s.status, s.billable, s.pricing_status) for s in sessions] == [
            ("rejected", False, "not_billable")
        ]
        assert sessions[0].spending_limit_minor is None
        assert {p.status for p in await payments_of(context)} == {"failed"}

    async def test_a_start_without_energy_has_its_hold_released(
        self, context: ServiceContext, operator_id: int, clock: FixedClock, tmp_path: Path
    ) -> None:
        tariff = await create_tariff(context, operator_id=operator_id, session_fee="0")
        await create_station(context, operator_id=operator_id, tariff_id=tariff)
        await create_token(context, operator_id=operator_id, uid=CARD)
        async with sandbox_and_server(context, clock, tmp_path) as (sandbox, server):
            await save_card(context, sandbox, operator_id=operator_id, number=SUCCESS)
            async with charger(server) as station:
                await station.call(call.Authorize(id_tag=CARD))
                started = await station.start_tx(CARD, meter_start=500, minutes=0)
                await station.stop_tx(started.transaction_id, 500, minutes=2)
            session = (await sessions_of(context))[0]
            jobs = await completed_jobs(context)
            await settle_session(context=context, provider=sandbox.provider, session_id=session.id)
            released = await payments_of(context)
            captures = await sandbox.captures(released[0].authorization_id or "")

        assert (session.energy_wh, session.completed_at is not None) == (0, True)
        assert jobs == [{"session_id": session.id}]
        assert [(p.status, p.captured_minor) for p in released] == [("released", 0)]
        assert captures == []

    async def test_a_start_without_authorize_holds_the_card_once_even_when_replayed(
        self, context: ServiceContext, operator_id: int, clock: FixedClock, tmp_path: Path
    ) -> None:
        # A remote start the station does not authorize: StartTransaction comes first.
        tariff = await create_tariff(context, operator_id=operator_id)
        await create_station(context, operator_id=operator_id, tariff_id=tariff)
        await create_token(context, operator_id=operator_id, uid=CARD)
        async with sandbox_and_server(context, clock, tmp_path) as (sandbox, server):
            await save_card(context, sandbox, operator_id=operator_id, number=SUCCESS)
            async with charger(server) as station:
                started = await station.start_tx(CARD, meter_start=0, minutes=0)
                # The station resends it after a reconnect: the same transaction, no new hold.
                replayed = await station.start_tx(CARD, meter_start=0, minutes=0)

        sessions = await sessions_of(context)
        held = await payments_of(context)
        assert started.id_tag_info["status"] == "Accepted"
        assert replayed.transaction_id == started.transaction_id
        assert [(p.status, p.session_id) for p in held] == [("authorized", sessions[0].id)]
        assert (sessions[0].spending_limit_minor, sessions[0].payment_kind) == (892, "card")

    async def test_a_driver_without_a_saved_card_charges_as_before(
        self, context: ServiceContext, operator_id: int, clock: FixedClock, tmp_path: Path
    ) -> None:
        tariff = await create_tariff(context, operator_id=operator_id)
        await create_station(context, operator_id=operator_id, tariff_id=tariff)
        await create_token(context, operator_id=operator_id, uid=CARD)
        async with sandbox_and_server(context, clock, tmp_path) as (_, server):
            async with charger(server) as station:
                authorized = await station.call(call.Authorize(id_tag=CARD))
                started = await station.start_tx(CARD, meter_start=0, minutes=0)

        sessions = await sessions_of(context)
        assert authorized.id_tag_info["status"] == "Accepted"
        assert started.id_tag_info["status"] == "Accepted"
        assert await payments_of(context) == []
        assert (sessions[0].status, sessions[0].spending_limit_minor) == ("active", None)
        # The choice is kept on the session: card, and owed by the driver without one.
        assert (sessions[0].payment_kind, sessions[0].payment_reason) == (
            "card",
            "no preference; no saved card: owed by the driver",
        )
