"""The sandbox provider served by a real uvicorn on 127.0.0.1, with its webhooks delivered
over a real socket to a second server: the path `make run` takes."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import parse_qs, urlsplit

import httpx
import uvicorn
from fastapi import FastAPI

from evbilling.kit import FixedClock
from evbilling.money import Money
from evbilling.payments.psp import AuthorizationStatus
from evbilling.payments.psp.sandbox import SandboxProvider, create_sandbox_app
from tests.integration.payments.psp.conftest import empty_sandbox_database
from tests.integration.payments.psp.sandbox_support import API_KEY, WEBHOOK_SECRET, Receiver


@asynccontextmanager
async def serving(app: FastAPI) -> AsyncIterator[str]:
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, timeout=15)


class TestOverRealSockets:
    async def test_saves_a_card_holds_captures_and_delivers_signed_webhooks(
        self, sandbox_database_url: str, clock: FixedClock
    ) -> None:
        await empty_sandbox_database(sandbox_database_url)
        receiver = Receiver()
        async with serving(receiver.app()) as receiver_url:
            sandbox_app = create_sandbox_app(
                database_url=sandbox_database_url,
                api_key=API_KEY,
                webhook_secret=WEBHOOK_SECRET,
                webhook_url=f"{receiver_url}/hooks",
                clock=clock,
                webhook_retry_delays=(0.05,),
            )
            root = FastAPI()
            root.mount("/sandbox-psp", sandbox_app)
            async with serving(root) as base_url:
                await sandbox_app.state.sandbox.start()
                provider = SandboxProvider(f"{base_url}/sandbox-psp", API_KEY, WEBHOOK_SECRET)
                try:
                    customer = await provider.create_customer(
                        idempotency_key="customer:1", reference="driver:1", email=None
                    )
                    setup = await provider.start_card_setup(
                        idempotency_key="setup:1",
                        customer_id=customer.id,
                        return_url="https://evbilling.example/return",
                    )
                    assert setup.url.startswith(f"{base_url}/sandbox-psp/setup/")
                    async with httpx.AsyncClient() as browser:
                        page = await browser.get(setup.url)
                        action = re.search(r'action="([^"]+)"', page.text)
                        assert action is not None
                        submitted = await browser.post(
                            action.group(1).replace("&amp;", "&"),
                            data={"number": "4242 4242 4242 4242", "expiry": "12/34", "cvc": "123"},
                        )
                    assert submitted.status_code == 303
                    setup_id = parse_qs(urlsplit(submitted.headers["location"]).query)["setup_id"]
                    saved = await provider.retrieve_card_setup(setup_id=setup_id[0])
                    assert saved.method is not None
                    hold = await provider.authorize(
                        idempotency_key="hold:1",
                        reference="hold:1",
                        customer_id=customer.id,
                        method_id=saved.method.id,
                        amount=Money.of("25.00", "EUR"),
                        off_session=False,
                    )
                    captured = await provider.capture(
                        idempotency_key="capture:1",
                        authorization_id=hold.id,
                        amount=Money.of("17.80", "EUR"),
                    )
                    assert captured.status is AuthorizationStatus.CAPTURED
                    await sandbox_app.state.sandbox.webhooks.drain()
                finally:
                    await provider.aclose()
                    await sandbox_app.state.sandbox.close()

        events = [
            provider.verify_webhook(payload=item.body, headers=item.headers, now=clock.now())
            for item in receiver.received
        ]
        assert [event.type for event in events] == [
            "customer.created",
            "card_setup.succeeded",
            "authorization.authorized",
            "authorization.captured",
        ]
        assert json.loads(receiver.received[-1].body)["data"]["object"]["amount_captured"] == 1780
