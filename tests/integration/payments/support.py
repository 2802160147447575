"""The payment slice as its tests meet it: the server's app (operator API, webhooks, card
set-up return page) with the sandbox provider mounted in-process and delivering its webhooks
to that app, an operator key with the `payments` scope, and the arrange steps of a charge
(a driver with a saved test card, a hold, a session priced at a known total)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
from sqlalchemy import select

from evbilling.access.service import create_api_key
from evbilling.config import Settings
from evbilling.infra.context import ServiceContext
from evbilling.infra.jobs import JobRun, JobWorker
from evbilling.kit import FixedClock
from evbilling.main import create_app, job_registry
from evbilling.models import ChargingSession
from evbilling.money import Money
from evbilling.payments import card_flow
from evbilling.payments.providers import PaymentsRuntime, ProviderSettings, server_payments
from evbilling.payments.psp.sandbox.server import SandboxServer
from tests.integration.arrange import add_driver, add_station, add_tariff

BASE = "http://testserver"
WEBHOOK_SECRET = "whsec_payments_tests_0123456789"
SANDBOX_API_KEY = "sk_sandbox_tests_0123456789"
API_KEY_HEADER = {"Authorization": f"Bearer {SANDBOX_API_KEY}"}
SUCCESS = "4242424242424242"
DECLINE = "4000000000000002"
PARTIAL = "4000000000000119"
CAPTURE_FAILS = "4000000000000135"
SLOW_CAPTURE = "4000000000000143"
TWICE_REVERSED = "4000000000000150"
# What the browser types into the hosted page besides the number.
FORM_EXPIRY = "12/34"
FORM_CVC = "123"


@dataclass(slots=True)
class Payments:
    """The running server (in-process) and what a test needs to drive it."""

    context: ServiceContext
    clock: FixedClock
    runtime: PaymentsRuntime
    http: httpx.AsyncClient  # the whole site
    api: httpx.AsyncClient  # /api/v1 with a payments key
    operator_id: int
    worker: JobWorker
    cvc: str = FORM_CVC  # what the browser types as the CVC

    @property
    def sandbox(self) -> SandboxServer:
        assert self.runtime.sandbox is not None
        server: SandboxServer = self.runtime.sandbox.state.sandbox
        return server

    async def drain(self) -> None:
        """Wait until the sandbox delivered every webhook it has queued."""
        await self.sandbox.webhooks.drain()

    async def run_jobs(self) -> list[JobRun]:
        runs: list[JobRun] = []
        while done := await self.worker.run_once(now=self.clock.now()):
            runs += done
        return runs

    async def save_card(self, driver_id: int, number: str = SUCCESS) -> dict[str, Any]:
        """Start a card set-up through the API, fill in the hosted page as a browser would,
        and follow the redirect to our return page."""
        created = await self.api.post(f"/drivers/{driver_id}/card-setups")
        assert created.status_code == 201, created.text
        setup = created.json()
        page = await self.http.get(setup["url"])
        assert page.status_code == 200, page.text
        action = re.search(r'action="([^"]+)"', page.text)
        assert action is not None
        submitted = await self.http.post(
            action.group(1).replace("&amp;", "&"),
            data={"number": number, "expiry": FORM_EXPIRY, "cvc": self.cvc},
        )
        assert submitted.status_code == 303, submitted.text
        back = urlsplit(submitted.headers["location"])
        returned = await self.http.get(f"{back.path}?{back.query}")
        assert returned.status_code == 200, returned.text
        return dict(setup)

    async def hold(self, *, driver_id: int, station_id: int) -> card_flow.HoldDecision:
        """Authorize / RemoteStart as the charger edge runs it: plan, commit, call, record."""
        async with self.context.unit_of_work() as db:
            planned = await card_flow.plan_hold(
                db=db,
                operator_id=self.operator_id,
                station_id=station_id,
                evse_id=None,
                driver_id=driver_id,
                now=self.clock.now(),
            )
            await db.commit()
        assert planned is not None, "the driver has a saved card"
        outcome = await card_flow.execute_hold(provider=self.runtime.provider, planned=planned)
        async with self.context.unit_of_work() as db:
            decision = await card_flow.record_hold(db=db, outcome=outcome, now=self.clock.now())
            await db.commit()
        return decision


@asynccontextmanager
async def running_payments(
    *,
    context: ServiceContext,
    clock: FixedClock,
    tmp_path: Path,
    operator_id: int,
    webhooks: bool = True,
) -> AsyncIterator[Payments]:
    runtime = server_payments(
        config=ProviderSettings(
            psp="sandbox",
            public_base_url=BASE,
            sandbox_database_url=f"sqlite+aiosqlite:///{tmp_path / 'sandbox-psp.sqlite3'}",
            sandbox_webhooks=webhooks,
            slow_capture_s=0.2,
            webhook_secret=WEBHOOK_SECRET,
            sandbox_api_key=SANDBOX_API_KEY,
        ),
        clock=clock,
    )
    app, _ = create_app(context=context, payments=runtime)
    async with context.unit_of_work() as db:
        issued = await create_api_key(
            db=db,
            operator_id=operator_id,
            name="payments tests",
            now=clock.now(),
            hasher=context.api_keys,
            scopes=["payments"],
        )
        await db.commit()
    worker = JobWorker(
        context=context,
        registry=job_registry(settings=Settings(), provider=runtime.provider),
        lease=timedelta(minutes=5),
    )
    transport = httpx.ASGITransport(app=app)
    async with (
        httpx.AsyncClient(transport=transport, base_url=BASE) as http,
        httpx.AsyncClient(
            transport=transport,
            base_url=f"{BASE}/api/v1",
            headers={"Authorization": f"Bearer {issued.key}"},
        ) as api,
    ):
        try:
            yield Payments(
                context=context,
                clock=clock,
                runtime=runtime,
                http=http,
                api=api,
                operator_id=operator_id,
                worker=worker,
            )
        finally:
            await runtime.close()


async def add_site(
    context: ServiceContext, operator_id: int, *, price: str = "0.40", identity: str = "CP-1"
) -> tuple[int, int]:
    """A priced station (EUR, 19 % VAT) and a driver: (station id, driver id)."""
    tariff_id = await add_tariff(context, operator_id, price=price, is_default=True)
    station = await add_station(context, operator_id, identity=identity, tariff_id=tariff_id)
    driver_id = await add_driver(context, operator_id)
    return station.station.id, driver_id


async def start_session(
    context: ServiceContext, *, operator_id: int, station_id: int, driver_id: int | None
) -> int:
    """An active session at the station (as StartTransaction leaves it)."""
    now = context.clock.now()
    async with context.unit_of_work() as db:
        count = len((await db.execute(select(ChargingSession.id))).all())
        session = ChargingSession(
            operator_id=operator_id,
            station_id=station_id,
            transaction_id=count + 1,
            connector_id=1,
            start_key=f"start:{station_id}:{count + 1}",
            id_tag="AA11",
            driver_id=driver_id,
            authorization_status="Accepted",
            status="active",
            billable=True,
            pricing_status="pending",
            started_at=now,
            meter_start_wh=0,
            last_seen_at=now,
            created_at=now,
            updated_at=now,
        )
        db.add(session)
        await db.flush()
        session_id = session.id
        await db.commit()
    return session_id


async def complete_session(
    context: ServiceContext,
    *,
    session_id: int,
    total: str,
    vat_percent: str = "19",
    energy_wh: int | None = None,
) -> Money:
    """The session stopped and priced at `total` EUR incl. VAT (one line at `vat_percent`),
    with 10 kWh delivered unless the total is zero or `energy_wh` says otherwise."""
    gross = Decimal(total)
    net = (gross / (1 + Decimal(vat_percent) / 100)).quantize(Decimal("0.01"))
    now = context.clock.now()
    async with context.unit_of_work() as db:
        session = await db.get_one(ChargingSession, session_id)
        session.status = "completed"
        session.pricing_status = "priced"
        session.stopped_at = now
        session.completed_at = now
        session.energy_wh = energy_wh if energy_wh is not None else (10_000 if gross > 0 else 0)
        session.currency = "EUR"
        session.cost_excl_vat = net
        session.cost_vat = gross - net
        session.cost_incl_vat = gross
        session.cost_breakdown = {
            "lines": [
                {
                    "amount_excl_vat": str(net),
                    "amount_incl_vat": str(gross),
                    "vat_percent": vat_percent,
                }
            ]
        }
        session.updated_at = now
        await db.commit()
    return Money.of(gross, "EUR")


async def enqueue_completed(context: ServiceContext, *, session_id: int) -> None:
    from evbilling.charging.events import record_completed

    async with context.unit_of_work() as db:
        await record_completed(db=db, session_id=session_id, now=context.clock.now())
        await db.commit()
