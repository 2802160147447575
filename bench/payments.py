"""Card sessions settled per second, end to end, with the sandbox provider in-process (its own
SQLite database, reached over ASGI, its webhooks delivered to the server's /webhooks route).

Each session: the hold planned and committed, authorized at the sandbox, recorded (ledger
hold); the session started and the hold attached (spending limit); the session completed at
a known total and `session.completed` enqueued; the job worker settles it (sale booked,
capture at the sandbox, capture posted in the ledger). The driver's card is saved once,
through the hosted page, before the clock starts. Afterwards every payment must be captured
and the trial balance zero.

Prints one JSON object. Run: .venv/bin/python bench/payments.py [--sessions N]
[--postgres postgresql+asyncpg://postgres@127.0.0.1:5432/postgres]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import re
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from evbilling.access.service import create_api_key, ensure_operator
from evbilling.charging.events import record_completed
from evbilling.config import Settings
from evbilling.drivers import service as drivers
from evbilling.infra.context import ServiceContext
from evbilling.infra.db.engine import create_engine, create_session_factory
from evbilling.infra.db.migrate import upgrade
from evbilling.infra.jobs import JobWorker
from evbilling.infra.station_link import UnconnectedStations
from evbilling.kit import SystemClock
from evbilling.ledger import service as ledger
from evbilling.locations import service as locations
from evbilling.main import create_app, job_registry
from evbilling.models import ChargingSession, Payment
from evbilling.payments import card_flow
from evbilling.payments.providers import ProviderSettings, server_payments
from evbilling.stations import service as stations
from evbilling.tariffs import service as tariffs

BASE = "http://bench"
TOTAL = Decimal("9.52")


async def _arrange(context: ServiceContext) -> tuple[int, int, int]:
    now = context.clock.now()
    async with context.unit_of_work() as db:
        operator_id = await ensure_operator(db=db, name="Bench", now=now)
        ocpi = tariffs.simple_tariff_ocpi(
            currency="EUR", energy_price_per_kwh=Decimal("0.40"), session_fee=Decimal("1.00"),
            vat_percent=Decimal(19),
        )  # fmt: skip
        tariff = await tariffs.create_tariff(
            db=db, operator_id=operator_id, name="Standard", ocpi=ocpi, is_default=True, now=now
        )
        location = await locations.create_location(
            db=db, operator_id=operator_id, name="Depot", time_zone="Europe/Berlin",
            country="DEU", tariff_id=tariff.id, now=now,
        )  # fmt: skip
        station = await stations.create_station(
            db=db, operator_id=operator_id, identity="CP-BENCH", location_id=location.id,
            connectors=1, tariff_id=tariff.id, password=None, now=now,
            commands=UnconnectedStations(),
        )  # fmt: skip
        driver = await drivers.create_driver(
            db=db, operator_id=operator_id, name="Bench", email=None, tariff_id=None,
            group_id=None, now=now,
        )  # fmt: skip
        await db.commit()
    return operator_id, station.station.id, driver.id


async def _save_card(site: httpx.AsyncClient, api_key: str, driver_id: int) -> None:
    created = await site.post(
        f"/api/v1/drivers/{driver_id}/card-setups", headers={"Authorization": f"Bearer {api_key}"}
    )
    created.raise_for_status()
    page = await site.get(created.json()["url"])
    action = re.search(r'action="([^"]+)"', page.text)
    assert action is not None
    form = {"number": "4242424242424242", "expiry": "12/34", "cvc": "123"}
    submitted = await site.post(action.group(1).replace("&amp;", "&"), data=form)
    back = urlsplit(submitted.headers["location"])
    (await site.get(f"{back.path}?{back.query}")).raise_for_status()


async def _session(
    context: ServiceContext, *, number: int, operator_id: int, station_id: int, driver_id: int
) -> int:
    now = context.clock.now()
    async with context.unit_of_work() as db:
        session = ChargingSession(
            operator_id=operator_id, station_id=station_id, transaction_id=number,
            connector_id=1, start_key=f"bench:{number}", id_tag="BENCH", driver_id=driver_id,
            authorization_status="Accepted", status="active", billable=True,
            pricing_status="pending", started_at=now, meter_start_wh=0, last_seen_at=now,
            created_at=now, updated_at=now,
        )  # fmt: skip
        db.add(session)
        await db.flush()
        session_id = session.id
        await card_flow.attach_session(db=db, session_id=session_id, now=now)
        await db.commit()
    net = (TOTAL / Decimal("1.19")).quantize(Decimal("0.01"))
    async with context.unit_of_work() as db:
        row = await db.get_one(ChargingSession, session_id)
        row.status, row.pricing_status = "completed", "priced"
        row.stopped_at = row.completed_at = context.clock.now()
        row.energy_wh, row.currency = 20_000, "EUR"
        row.cost_excl_vat, row.cost_vat, row.cost_incl_vat = net, TOTAL - net, TOTAL
        row.cost_breakdown = {
            "lines": [
                {"amount_excl_vat": str(net), "amount_incl_vat": str(TOTAL), "vat_percent": "19"}
            ]
        }
        await record_completed(db=db, session_id=session_id, now=context.clock.now())
        await db.commit()
    return session_id


async def _run(database_url: str, *, sessions: int, folder: Path) -> dict[str, Any]:
    engine = create_engine(url=database_url)
    context = ServiceContext(session_factory=create_session_factory(engine), clock=SystemClock())
    sandbox_file = folder / f"sandbox-{uuid.uuid4().hex[:6]}.sqlite3"
    runtime = server_payments(
        config=ProviderSettings(
            psp="sandbox", public_base_url=BASE, slow_capture_s=0.0,
            sandbox_database_url=f"sqlite+aiosqlite:///{sandbox_file}",
            webhook_secret="whsec_bench_0123456789abcdef",
        ),
        clock=context.clock,
    )  # fmt: skip
    app, _ = create_app(context=context, payments=runtime)
    worker = JobWorker(
        context=context, registry=job_registry(settings=Settings(), provider=runtime.provider)
    )
    operator_id, station_id, driver_id = await _arrange(context)
    async with context.unit_of_work() as db:
        key = await create_api_key(
            db=db, operator_id=operator_id, name="bench", now=context.clock.now(),
            hasher=context.api_keys, scopes=["payments"],
        )  # fmt: skip
        await db.commit()
    holds = settles = 0.0
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE) as site:
        await _save_card(site, key.key, driver_id)
        await runtime.sandbox.state.sandbox.webhooks.drain()  # type: ignore[union-attr]
        started = time.perf_counter()
        for number in range(1, sessions + 1):
            hold_start = time.perf_counter()
            async with context.unit_of_work() as db:
                planned = await card_flow.plan_hold(
                    db=db, operator_id=operator_id, station_id=station_id, evse_id=None,
                    driver_id=driver_id, now=context.clock.now(),
                )  # fmt: skip
                await db.commit()
            assert planned is not None
            outcome = await card_flow.execute_hold(provider=runtime.provider, planned=planned)
            async with context.unit_of_work() as db:
                decision = await card_flow.record_hold(
                    db=db, outcome=outcome, now=context.clock.now()
                )
                await db.commit()
            assert decision.accepted, decision.reason
            holds += time.perf_counter() - hold_start
            await _session(
                context, number=number, operator_id=operator_id, station_id=station_id,
                driver_id=driver_id,
            )  # fmt: skip
            settle_start = time.perf_counter()
            while await worker.run_once():
                pass
            settles += time.perf_counter() - settle_start
        await runtime.sandbox.state.sandbox.webhooks.drain()  # type: ignore[union-attr]
        elapsed = time.perf_counter() - started
    async with context.unit_of_work() as db:
        captured = (
            await db.execute(
                select(func.count()).select_from(Payment).where(Payment.status == "captured")
            )
        ).scalar_one()
        balanced = all(row.difference == 0 for row in await ledger.trial_balance(db=db))
    await runtime.close()
    await engine.dispose()
    return {
        "sessions": sessions,
        "sessions_settled_per_second": round(sessions / elapsed, 1),
        "hold_ms": round(holds / sessions * 1000, 2),
        "settle_ms": round(settles / sessions * 1000, 2),
        "captured": int(captured),
        "trial_balance_zero": balanced,
    }


async def _postgres(admin_url: str, *, sessions: int, folder: Path) -> dict[str, Any]:
    name = f"evbilling_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(url=admin_url)
    async with admin.connect() as connection:
        await connection.execution_options(isolation_level="AUTOCOMMIT")
        await connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    try:
        await asyncio.to_thread(upgrade, url=url)
        return await _run(url, sessions=sessions, folder=folder)
    finally:
        async with admin.connect() as connection:
            await connection.execution_options(isolation_level="AUTOCOMMIT")
            await connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sessions", type=int, default=200)
    parser.add_argument("--postgres", default=None, help="An admin URL; omitted: SQLite only.")
    args = parser.parse_args()
    result: dict[str, Any] = {
        "benchmark": "payments_sessions_settled",
        "session": "hold + attach + completion + settlement (capture), sandbox in-process",
    }
    with tempfile.TemporaryDirectory() as directory:
        folder = Path(directory)
        database = folder / "evbilling.sqlite3"
        upgrade(url=f"sqlite+aiosqlite:///{database}")
        result["sqlite"] = asyncio.run(
            _run(f"sqlite+aiosqlite:///{database}", sessions=args.sessions, folder=folder)
        )
        if args.postgres:
            result["postgres"] = asyncio.run(
                _postgres(args.postgres, sessions=args.sessions, folder=folder)
            )
    result["machine"] = {
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "python": platform.python_version(),
    }
    result["date"] = datetime.now(UTC).isoformat(timespec="seconds")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
