"""`evbilling payments ...` against a running server (the sandbox mounted in it): a card set-up
returns the hosted page, refunds never pass what was captured, reconciliation finds nothing
amiss, and the reads show payments and receivables."""

from __future__ import annotations

import asyncio
import json
import os
import re
import socket
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from evbilling.access.service import create_api_key
from evbilling.infra.context import ServiceContext
from evbilling.infra.secrets import ApiKeyHasher
from evbilling.kit import FixedClock
from evbilling.main import create_app
from evbilling.payments.providers import ProviderSettings, server_payments
from tests.functional.conftest import loopback_config, running
from tests.integration.payments.flow import payment_of
from tests.integration.payments.support import (
    WEBHOOK_SECRET,
    Payments,
    add_site,
    complete_session,
    enqueue_completed,
    start_session,
)

API_KEY_SECRET = "a-test-secret-of-at-least-32-characters"
SANDBOX_KEY = "sk_sandbox_cli_tests_0123456789"
SOURCE_ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True, slots=True)
class Cli:
    env: dict[str, str]

    async def run(self, *args: str) -> tuple[int, str, str]:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "evbilling", "payments", *args,
            env=self.env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        out, err = await asyncio.wait_for(process.communicate(), timeout=120)
        assert process.returncode is not None
        return process.returncode, out.decode(), err.decode()

    async def json(self, *args: str) -> Any:
        code, out, err = await self.run(*args, "--json")
        assert code == 0, err
        return json.loads(out)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
async def served(
    context: ServiceContext, clock: FixedClock, tmp_path: Path, operator_id: int, database_url: str
) -> AsyncIterator[tuple[Payments, Cli]]:
    context.api_keys = ApiKeyHasher.from_secret(API_KEY_SECRET)
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    runtime = server_payments(
        config=ProviderSettings(
            psp="sandbox", public_base_url=base, sandbox_api_key=SANDBOX_KEY,
            sandbox_database_url=f"sqlite+aiosqlite:///{tmp_path / 'sandbox.sqlite3'}",
            webhook_secret=WEBHOOK_SECRET, slow_capture_s=0.1,
        ),
        clock=clock,
    )  # fmt: skip
    app, gateway = create_app(context=context, payments=runtime)
    config = loopback_config(app)
    config.port = port
    async with context.unit_of_work() as db:
        issued = await create_api_key(
            db=db, operator_id=operator_id, name="cli", now=clock.now(),
            hasher=context.api_keys, scopes=["payments"],
        )  # fmt: skip
        await db.commit()
    from evbilling.config import Settings
    from evbilling.infra.jobs import JobWorker
    from evbilling.main import job_registry

    worker = JobWorker(
        context=context, registry=job_registry(settings=Settings(), provider=runtime.provider)
    )
    env = {
        **os.environ,
        "PYTHONPATH": str(SOURCE_ROOT),
        "EVBILLING_DATABASE_URL": database_url,
        "EVBILLING_API_KEY_SECRET": API_KEY_SECRET,
        "EVBILLING_PUBLIC_BASE_URL": base,
        "EVBILLING_PSP_SANDBOX_URL": f"{base}/sandbox-psp",
        "EVBILLING_PSP_SANDBOX_API_KEY": SANDBOX_KEY,
        "EVBILLING_LOG_LEVEL": "WARNING",
    }
    async with running(config, gateway, clock), httpx.AsyncClient(base_url=base) as http:
        api = httpx.AsyncClient(
            base_url=f"{base}/api/v1", headers={"Authorization": f"Bearer {issued.key}"}
        )
        try:
            yield (
                Payments(
                    context=context, clock=clock, runtime=runtime, http=http, api=api,
                    operator_id=operator_id, worker=worker,
                ),
                Cli(env=env),
            )  # fmt: skip
        finally:
            await api.aclose()
            await runtime.close()


async def _fill_in(payments: Payments, url: str) -> None:
    page = await payments.http.get(url)
    action = re.search(r'action="([^"]+)"', page.text)
    assert action is not None
    form = {"number": "4242424242424242", "expiry": "12/34", "cvc": "123"}
    submitted = await payments.http.post(action.group(1).replace("&amp;", "&"), data=form)
    assert submitted.status_code == 303, submitted.text
    back = urlsplit(submitted.headers["location"])
    assert (await payments.http.get(f"{back.path}?{back.query}")).status_code == 200


class TestPaymentsCommands:
    async def test_card_setup_refund_reconcile_and_reads(
        self, served: tuple[Payments, Cli]
    ) -> None:
        payments, cli = served
        station_id, driver_id = await add_site(payments.context, payments.operator_id)

        # A card set-up from the command line returns the provider's hosted page.
        setup = await cli.json("card-setup", str(driver_id))
        assert setup["url"].startswith(f"{payments.runtime.public_base_url}/sandbox-psp/")
        await _fill_in(payments, setup["url"])
        await payments.drain()

        # A session held on it and settled at 15.00 (above the 11.67 hold).
        decision = await payments.hold(driver_id=driver_id, station_id=station_id)
        assert decision.accepted
        session_id = await start_session(
            payments.context, operator_id=payments.operator_id, station_id=station_id,
            driver_id=driver_id,
        )  # fmt: skip
        from evbilling.payments.card_flow import attach_session

        async with payments.context.unit_of_work() as db:
            await attach_session(db=db, session_id=session_id, now=payments.clock.now())
            await db.commit()
        await complete_session(payments.context, session_id=session_id, total="15.00")
        await enqueue_completed(payments.context, session_id=session_id)
        await payments.run_jobs()
        payment = await payment_of(payments, session_id)

        refunded = await cli.json(
            "refund", str(payment.id), "--amount", "1.67", "--reason", "cable"
        )
        code, _, err = await cli.run(
            "refund", str(payment.id), "--amount", "10.01", "--reason", "x"
        )
        listed = await cli.json("list")
        owed = await cli.json("receivables")
        now = payments.clock.now()
        reconciled = await cli.json(
            "reconcile", "--from", (now - timedelta(days=1)).isoformat(),
            "--to", (now + timedelta(days=1)).isoformat(),
        )  # fmt: skip

        assert (refunded["status"], refunded["amount_minor"]) == ("succeeded", 167)
        assert code == 1
        assert "at most 1000 minor units are left to refund" in err
        assert (await payment_of(payments, session_id)).refunded_minor == 167
        assert [item["id"] for item in listed["items"]] == [payment.id]
        assert [(i["session_id"], i["receivable_minor"]) for i in owed["items"]] == [
            (session_id, 1500 - 1167)
        ]
        assert reconciled["mismatch_count"] == 0, reconciled["mismatches"]
