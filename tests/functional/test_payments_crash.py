"""A crash between the provider's capture and our commit never charges twice: `evbilling
serve` (the sandbox mounted in it, webhooks off so only the job can learn the outcome)
captures a session held on the slow-capture test card, which commits at the sandbox and
answers only 30 s later; the server is SIGKILLed once the sandbox shows the capture, started
again, and its worker settles the session from what the sandbox holds: exactly one capture
at the provider, exactly one capture entry in the ledger."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

import httpx
from sqlalchemy import func, select

from evbilling.access.service import create_api_key
from evbilling.infra.context import ServiceContext
from evbilling.ledger import service as ledger
from evbilling.models import LedgerEntry, Payment, ProviderCall
from evbilling.payments import card_flow
from evbilling.payments.psp.sandbox import SandboxProvider
from tests.integration.payments.support import (
    SLOW_CAPTURE,
    add_site,
    complete_session,
    enqueue_completed,
    start_session,
)

API_KEY_SECRET = "a-test-secret-of-at-least-32-characters"
SANDBOX_KEY = "sk_sandbox_crash_test_0123456789"
WEBHOOK_SECRET = "whsec_crash_test_0123456789"
# The checkout under test (not whatever the environment installed).
SOURCE_ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def serving(*, database_url: str, tmp_path: Path, port: int) -> Iterator[subprocess.Popen[bytes]]:
    env = {
        **os.environ,
        "PYTHONPATH": str(SOURCE_ROOT),
        "EVBILLING_DATABASE_URL": database_url,
        "EVBILLING_PORT": str(port),
        "EVBILLING_PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
        "EVBILLING_API_KEY_SECRET": API_KEY_SECRET,
        "EVBILLING_PSP_SANDBOX_API_KEY": SANDBOX_KEY,
        "EVBILLING_PSP_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "EVBILLING_PSP_SANDBOX_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'sandbox.sqlite3'}",
        "EVBILLING_PSP_SANDBOX_WEBHOOKS": "false",
        "EVBILLING_JOBS_POLL_INTERVAL_S": "0.2",
        "EVBILLING_JOBS_LEASE_S": "3",
        "EVBILLING_LOG_LEVEL": "WARNING",
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "evbilling", "serve"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield server
    finally:
        if server.poll() is None:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=30)


async def _until_up(port: int, server: subprocess.Popen[bytes]) -> None:
    async with httpx.AsyncClient() as client:
        for _ in range(300):
            assert server.poll() is None, "the server exited"
            try:
                if (await client.get(f"http://127.0.0.1:{port}/healthz")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
    raise AssertionError("the server did not start")


async def _save_card(site: httpx.AsyncClient, api_key: str, driver_id: int) -> None:
    created = await site.post(
        f"/api/v1/drivers/{driver_id}/card-setups", headers={"Authorization": f"Bearer {api_key}"}
    )
    assert created.status_code == 201, created.text
    page = await site.get(created.json()["url"])
    action = re.search(r'action="([^"]+)"', page.text)
    assert action is not None
    form = {"number": SLOW_CAPTURE, "expiry": "12/34", "cvc": "123"}
    submitted = await site.post(action.group(1).replace("&amp;", "&"), data=form)
    assert submitted.status_code == 303, submitted.text
    back = urlsplit(submitted.headers["location"])
    assert (await site.get(f"{back.path}?{back.query}")).status_code == 200


async def _captures(site: httpx.AsyncClient, authorization_id: str) -> list[int]:
    response = await site.get(
        f"/sandbox-psp/v1/_control/authorizations/{authorization_id}/captures",
        headers={"Authorization": f"Bearer {SANDBOX_KEY}"},
    )
    assert response.status_code == 200, response.text
    return [row["amount"] for row in response.json()["data"]]


async def _payment(context: ServiceContext) -> Payment:
    async with context.unit_of_work() as db:
        return (await db.execute(select(Payment))).scalar_one()


class TestCrashBetweenCaptureAndCommit:
    async def test_a_killed_server_captures_once_after_restart(
        self, context: ServiceContext, database_url: str, tmp_path: Path, operator_id: int
    ) -> None:
        # Arrange: a driver, a station, an operator key with the payments scope.
        station_id, driver_id = await add_site(context, operator_id)
        from evbilling.infra.secrets import ApiKeyHasher

        context.api_keys = ApiKeyHasher.from_secret(API_KEY_SECRET)
        async with context.unit_of_work() as db:
            issued = await create_api_key(
                db=db,
                operator_id=operator_id,
                name="crash",
                now=context.clock.now(),
                hasher=context.api_keys,
                scopes=["payments"],
            )
            await db.commit()
        port = _free_port()
        base = f"http://127.0.0.1:{port}"
        with serving(database_url=database_url, tmp_path=tmp_path, port=port) as first:
            await _until_up(port, first)
            async with httpx.AsyncClient(base_url=base, timeout=60) as site:
                await _save_card(site, issued.key, driver_id)
                provider = SandboxProvider(f"{base}/sandbox-psp", SANDBOX_KEY, WEBHOOK_SECRET)
                async with context.unit_of_work() as db:
                    planned = await card_flow.plan_hold(
                        db=db,
                        operator_id=operator_id,
                        station_id=station_id,
                        evse_id=None,
                        driver_id=driver_id,
                        now=context.clock.now(),
                    )
                    await db.commit()
                assert planned is not None
                outcome = await card_flow.execute_hold(provider=provider, planned=planned)
                await provider.aclose()
                async with context.unit_of_work() as db:
                    decision = await card_flow.record_hold(
                        db=db, outcome=outcome, now=context.clock.now()
                    )
                    await db.commit()
                assert decision.accepted
                session_id = await start_session(
                    context, operator_id=operator_id, station_id=station_id, driver_id=driver_id
                )
                async with context.unit_of_work() as db:
                    await card_flow.attach_session(
                        db=db, session_id=session_id, now=context.clock.now()
                    )
                    await db.commit()
                await complete_session(context, session_id=session_id, total="9.52")
                authorization_id = (await _payment(context)).authorization_id
                assert authorization_id is not None

                # Act 1: the worker captures; the sandbox commits and holds its answer.
                await enqueue_completed(context, session_id=session_id)
                for _ in range(300):
                    if await _captures(site, authorization_id):
                        break
                    await asyncio.sleep(0.1)
                os.kill(first.pid, signal.SIGKILL)
                first.wait(timeout=30)

        # The crash point: captured at the provider, nothing recorded here.
        crashed = await _payment(context)
        async with context.unit_of_work() as db:
            call = (
                await db.execute(select(ProviderCall).where(ProviderCall.operation == "capture"))
            ).scalar_one()
        assert (crashed.status, crashed.captured_minor, call.state) == ("authorized", 0, "pending")

        # Act 2: started again, the worker takes the job over once its lease has passed.
        with serving(database_url=database_url, tmp_path=tmp_path, port=port) as second:
            await _until_up(port, second)
            async with httpx.AsyncClient(base_url=base, timeout=60) as site:
                for _ in range(300):
                    if (await _payment(context)).status == "captured":
                        break
                    await asyncio.sleep(0.1)
                captures = await _captures(site, authorization_id)

        # Assert
        settled = await _payment(context)
        assert captures == [952]
        assert (settled.status, settled.captured_minor) == ("captured", 952)
        async with context.unit_of_work() as db:
            entries = await db.execute(
                select(func.count())
                .select_from(LedgerEntry)
                .where(LedgerEntry.reference == f"capture:hold:{settled.id}")
            )
            assert entries.scalar_one() == 1
            assert all(row.difference == 0 for row in await ledger.trial_balance(db=db))
