"""Arrange steps for card payments over OCPP: the sandbox provider, a driver's saved card
(through the provider's hosted page, as the driver would), and a live server whose OCPP
handlers hold cards with that provider."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from sqlalchemy import select

from evbilling.infra.context import ServiceContext
from evbilling.kit import FixedClock
from evbilling.main import create_app
from evbilling.models import ChargingSession, Payment, Token
from evbilling.payments.card_setup import complete_card_setup, start_card_setup
from evbilling.payments.providers import PaymentsRuntime
from tests.functional.conftest import LiveServer, loopback_config, running
from tests.integration.payments.psp.sandbox_support import Sandbox, running_sandbox

SUCCESS = "4242424242424242"
DECLINE = "4000000000000002"
CARD = "04A1B2C3D4"


@asynccontextmanager
async def sandbox_and_server(
    context: ServiceContext, clock: FixedClock, tmp_path: Path
) -> AsyncIterator[tuple[Sandbox, LiveServer]]:
    """The sandbox provider (its own SQLite database) and a live server using it."""
    async with running_sandbox(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'sandbox-psp.sqlite3'}", clock=clock
    ) as sandbox:
        runtime = PaymentsRuntime(provider=sandbox.provider, public_base_url="http://127.0.0.1")
        app, gateway = create_app(context=context, command_timeout_s=5.0, payments=runtime)
        async with running(loopback_config(app), gateway, clock) as server:
            yield sandbox, server


async def save_card(
    context: ServiceContext, sandbox: Sandbox, *, operator_id: int, number: str, uid: str = CARD
) -> int:
    """The card `number` saved for the driver of token `uid` through the hosted page; the
    driver's id."""
    async with context.unit_of_work() as db:
        token = (await db.execute(select(Token).where(Token.uid == uid))).scalar_one()
        driver_id = token.driver_id
    assert driver_id is not None
    setup = await start_card_setup(
        context=context,
        provider=sandbox.provider,
        operator_id=operator_id,
        driver_id=driver_id,
        return_url="https://evbilling.example/cards/return",
    )
    assert setup.url is not None
    response = await sandbox.submit(setup.url, number=number)
    assert response.status_code == 303, response.text
    setup_id = parse_qs(urlsplit(response.headers["location"]).query)["setup_id"][0]
    await complete_card_setup(context=context, provider=sandbox.provider, setup_id=setup_id)
    return driver_id


async def payments_of(context: ServiceContext) -> list[Payment]:
    async with context.unit_of_work() as db:
        return list((await db.execute(select(Payment).order_by(Payment.id))).scalars())


async def sessions_of(context: ServiceContext) -> list[ChargingSession]:
    async with context.unit_of_work() as db:
        rows = await db.execute(select(ChargingSession).order_by(ChargingSession.id))
        return list(rows.scalars())
