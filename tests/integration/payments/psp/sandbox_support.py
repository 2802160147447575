"""The sandbox provider as the tests meet it: its app mounted at /sandbox-psp beside a webhook
receiver, a SandboxProvider client over ASGI, and a helper that saves a test card through the
hosted page as a browser would."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlsplit

import httpx
from fastapi import FastAPI, Request, Response

from evbilling.kit import FixedClock
from evbilling.money import Money
from evbilling.payments.psp import Authorization, SavedMethod
from evbilling.payments.psp.sandbox import SandboxProvider, create_sandbox_app
from evbilling.payments.psp.sandbox.server import SandboxServer

API_KEY = "sk_sbx_tests_0123456789"
WEBHOOK_SECRET = "whsec_sbx_tests_0123456789"
BASE = "http://testserver"


@dataclass(slots=True)
class Received:
    body: bytes
    headers: dict[str, str]


@dataclass(slots=True)
class Receiver:
    """A webhook endpoint that records what arrives (raw body and headers)."""

    received: list[Received] = field(default_factory=list)
    fail_next: int = 0

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.post("/hooks")
        async def hooks(request: Request) -> Response:
            if self.fail_next:
                self.fail_next -= 1
                return Response(status_code=503)
            self.received.append(Received(await request.body(), dict(request.headers)))
            return Response(status_code=204)

        return app


@dataclass(slots=True)
class Sandbox:
    provider: SandboxProvider
    http: httpx.AsyncClient  # the whole site (sandbox pages, API with the key)
    server: SandboxServer
    receiver: Receiver
    clock: FixedClock
    cards_saved: int = 0

    async def drain(self) -> None:
        await self.server.webhooks.drain()

    async def save_card(self, number: str, *, customer_id: str | None = None) -> SavedMethod:
        """Create a customer (unless given), start a set-up and fill in the hosted page."""
        self.cards_saved += 1
        if customer_id is None:
            customer = await self.provider.create_customer(
                idempotency_key=f"customer:{self.cards_saved}",
                reference=f"driver:{self.cards_saved}",
                email=None,
            )
            customer_id = customer.id
        setup = await self.provider.start_card_setup(
            idempotency_key=f"setup:{self.cards_saved}",
            customer_id=customer_id,
            return_url="https://evbilling.example/cards/return",
        )
        response = await self.submit(setup.url, number=number)
        assert response.status_code == 303, response.text
        setup_id = parse_qs(urlsplit(response.headers["location"]).query)["setup_id"][0]
        saved = await self.provider.retrieve_card_setup(setup_id=setup_id)
        assert saved.method is not None
        return saved.method

    async def submit(
        self, url: str, *, number: str, expiry: str = "12/34", cvc: str = "123"
    ) -> httpx.Response:
        page = await self.http.get(url)
        assert page.status_code == 200, page.text
        action = re.search(r'action="([^"]+)"', page.text)
        assert action is not None
        target = action.group(1).replace("&amp;", "&")
        return await self.http.post(target, data={"number": number, "expiry": expiry, "cvc": cvc})

    async def hold(
        self, number: str, amount: str, currency: str = "EUR", *, key: str = "hold:1"
    ) -> Authorization:
        method = await self.save_card(number)
        return await self.provider.authorize(
            idempotency_key=key,
            reference=key,
            customer_id=method.customer_id,
            method_id=method.id,
            amount=Money.of(amount, currency),
            off_session=True,
        )

    async def events(self, object_id: str) -> list[str]:
        response = await self.http.get(
            "/sandbox-psp/v1/_control/events",
            params={"object_id": object_id},
            headers={"Authorization": f"Bearer {API_KEY}"},
        )
        assert response.status_code == 200
        return [row["type"] for row in response.json()["data"]]

    async def captures(self, authorization_id: str) -> list[int]:
        response = await self.http.get(
            f"/sandbox-psp/v1/_control/authorizations/{authorization_id}/captures",
            headers={"Authorization": f"Bearer {API_KEY}"},
        )
        assert response.status_code == 200
        return [row["amount"] for row in response.json()["data"]]


@asynccontextmanager
async def running_sandbox(
    *, database_url: str, clock: FixedClock, slow_capture_seconds: float = 0.2
) -> AsyncIterator[Sandbox]:
    receiver = Receiver()
    sandbox_app = create_sandbox_app(
        database_url=database_url,
        api_key=API_KEY,
        webhook_secret=WEBHOOK_SECRET,
        webhook_url="http://receiver/hooks",
        clock=clock,
        webhook_transport=httpx.ASGITransport(app=receiver.app()),
        webhook_retry_delays=(0.01, 0.02),
        slow_capture_seconds=slow_capture_seconds,
    )
    root = FastAPI()
    root.mount("/sandbox-psp", sandbox_app)
    transport = httpx.ASGITransport(app=root)
    server: SandboxServer = sandbox_app.state.sandbox
    await server.start()
    provider = SandboxProvider(f"{BASE}/sandbox-psp", API_KEY, WEBHOOK_SECRET, transport=transport)
    async with httpx.AsyncClient(transport=transport, base_url=BASE) as http:
        try:
            yield Sandbox(
                provider=provider, http=http, server=server, receiver=receiver, clock=clock
            )
        finally:
            await provider.aclose()
            await server.close()
