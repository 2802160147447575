"""What /pay refuses before a guest payer or a card set-up exists: a charger that is
offline, and more begins from one address than its budget allows (both databases)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, select

from evbilling.infra.context import ServiceContext
from evbilling.kit import FixedClock
from evbilling.models import AdhocPayment, CardSetup, Driver
from evbilling.payments.providers import ProviderSettings, server_payments
from evbilling.web.budget import AddressBudget
from evbilling.web.pages import create_pay_site
from tests.integration.payments.adhoc_support import EVSE_UID, priced_evse


class ConnectedStations:
    def is_connected(self, station_identity: str) -> bool:
        return True

    async def send(self, **_: Any) -> dict[str, Any]:
        raise AssertionError("nothing is sent to the station")


async def counts(context: ServiceContext) -> tuple[int, int, int]:
    async with context.unit_of_work() as db:
        return (
            await db.scalar(select(func.count()).select_from(Driver)) or 0,
            await db.scalar(select(func.count()).select_from(AdhocPayment)) or 0,
            await db.scalar(select(func.count()).select_from(CardSetup)) or 0,
        )


def pay_client(context: ServiceContext, clock: FixedClock, tmp_path: Path) -> httpx.AsyncClient:
    runtime = server_payments(
        config=ProviderSettings(
            psp="sandbox",
            public_base_url="http://test",
            sandbox_database_url=f"sqlite+aiosqlite:///{tmp_path / 'sandbox-psp.sqlite3'}",
        ),
        clock=clock,
    )
    site = create_pay_site(context=context, payments=runtime)
    site.state.pay = replace(site.state.pay, budget=AddressBudget(allowed=0))
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=site, client=("203.0.113.7", 50000)),
        base_url="http://test",
    )


class TestPayRefusals:
    async def test_an_offline_charger_is_refused_and_nothing_is_created(
        self, context: ServiceContext, clock: FixedClock, tmp_path: Path, operator_id: int
    ) -> None:
        await priced_evse(context, operator_id=operator_id)
        before = await counts(context)

        async with pay_client(context, clock, tmp_path) as http:
            refused = await http.post(f"/{EVSE_UID}", data={"email": ""})

        assert refused.status_code == 409
        assert "This charger is offline" in refused.text
        assert await counts(context) == before

    async def test_a_begin_over_the_addresss_budget_is_refused_and_nothing_is_created(
        self, context: ServiceContext, clock: FixedClock, tmp_path: Path, operator_id: int
    ) -> None:
        await priced_evse(context, operator_id=operator_id)
        context.commands = ConnectedStations()
        before = await counts(context)

        async with pay_client(context, clock, tmp_path) as http:
            refused = await http.post(f"/{EVSE_UID}", data={"email": "guest@example.com"})

        assert refused.status_code == 429
        assert int(refused.headers["retry-after"]) >= 1
        assert "Too many payments were started from here" in refused.text
        assert await counts(context) == before
