"""`make run`'s card payment: the demo driver's sandbox card is saved through the provider's
hosted page (operator API, hosted page, return page), and a charge with their RFID card at a
demo station is held, captured by the server's job worker, and booked in the ledger (both
databases)."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

from ocpp.v16 import call
from pydantic import SecretStr
from sqlalchemy import func, select

from evbilling.config import Settings
from evbilling.demo import CARD_DRIVER_UID, save_demo_card, seed_demo
from evbilling.infra.context import ServiceContext
from evbilling.kit import FixedClock
from evbilling.ledger.service import trial_balance
from evbilling.main import build_application, uvicorn_config
from evbilling.models import LedgerEntry, Payment
from tests.functional.charger import TestCharger
from tests.functional.conftest import connect, running

SECRET = SecretStr("a-test-secret-of-at-least-32-characters")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


async def payments(context: ServiceContext) -> list[Payment]:
    async with context.unit_of_work() as db:
        return list((await db.execute(select(Payment).order_by(Payment.id))).scalars())


class TestDemoCardPayment:
    async def test_the_demo_driver_is_held_captured_and_booked(
        self, context: ServiceContext, database_url: str, clock: FixedClock, tmp_path: Path
    ) -> None:
        # Arrange: the server as `make run` builds it, on a port the hosted page links to.
        settings = Settings(
            database_url=database_url,
            host="127.0.0.1",
            port=free_port(),
            api_key_secret=SECRET,
            psp_sandbox_database_url=f"sqlite+aiosqlite:///{tmp_path / 'sandbox-psp.sqlite3'}",
            jobs_poll_interval_s=0.05,
        )
        application = build_application(settings=settings, clock=clock)
        credentials = await seed_demo(
            database_url=database_url, stations=1, api_keys=application.context.api_keys
        )
        _, identity, password = credentials.stations[0]
        assert credentials.card_driver is not None
        driver_id, _, uid = credentials.card_driver
        config = uvicorn_config(application=application, settings=settings)
        async with running(config, application.gateway, clock) as server:
            # Act: the card is saved (twice: the second start finds it), then a charge.
            saved = await save_demo_card(
                base_url=server.base_url, api_key=credentials.api_key, driver_id=driver_id
            )
            again = await save_demo_card(
                base_url=server.base_url, api_key=credentials.api_key, driver_id=driver_id
            )
            connection = await connect(server, identity, password=password)
            station = TestCharger(identity, connection, clock=clock)
            reader = asyncio.create_task(station.start())
            try:
                authorized = await station.call(call.Authorize(id_tag=uid))
                started = await station.start_tx(uid, meter_start=0, minutes=0)
                await station.meter(started.transaction_id, 4_000, minutes=20)
                await station.stop_tx(started.transaction_id, 5_000, minutes=25, id_tag=uid)
                await station.call(
                    call.StatusNotification(
                        connector_id=1,
                        error_code="NoError",
                        status="Available",
                        timestamp=station.stamp(27),
                    )
                )
                found: list[Payment] = []
                for _ in range(200):  # the server's worker captures after session.completed
                    found = await payments(context)
                    if found and found[0].status == "captured":
                        break
                    await asyncio.sleep(0.05)
            finally:
                reader.cancel()
                await connection.close()

        # Assert: 5 kWh x 0.39 + 0.50 = 2.45 net, 19 % VAT -> 2.92 captured.
        assert uid == CARD_DRIVER_UID
        assert saved == "visa 4242"
        assert again == "visa 4242 (saved before)"
        assert authorized.id_tag_info["status"] == "Accepted"
        assert [(p.status, p.captured_minor) for p in found] == [("captured", 292)]
        async with context.unit_of_work() as db:
            entries = await db.scalar(select(func.count()).select_from(LedgerEntry))
            balance = await trial_balance(db=db)
        assert entries
        assert all(row.difference == 0 for row in balance)
