"""Webhooks from the sandbox: sent after each state change, signed like Stripe's, retried on
failure, verified by SandboxProvider.verify_webhook; the duplicate card sends each event
twice and re-sends the previous one after it."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from evbilling.money import Money
from evbilling.payments.psp import WebhookRejected
from evbilling.payments.psp.sandbox import SIGNATURE_HEADER, SandboxProvider
from evbilling.payments.psp.signatures import signature_header
from tests.integration.payments.psp.sandbox_support import API_KEY, WEBHOOK_SECRET, Sandbox

SUCCESS = "4242424242424242"
DUPLICATES = "4000000000000150"


def eur(amount: str) -> Money:
    return Money.of(amount, "EUR")


def types_of(sandbox: Sandbox) -> list[str]:
    return [json.loads(item.body)["type"] for item in sandbox.receiver.received]


class TestDelivery:
    async def test_sends_a_signed_event_after_each_change(self, sandbox: Sandbox) -> None:
        hold = await sandbox.hold(SUCCESS, "30.00")
        await sandbox.provider.capture(
            idempotency_key="capture:1", authorization_id=hold.id, amount=eur("10.00")
        )
        await sandbox.drain()

        assert types_of(sandbox) == [
            "customer.created",
            "card_setup.succeeded",
            "authorization.authorized",
            "authorization.captured",
        ]
        last = sandbox.receiver.received[-1]
        event = sandbox.provider.verify_webhook(
            payload=last.body, headers=last.headers, now=sandbox.clock.now()
        )
        assert (event.type, event.object_id, event.object_status) == (
            "authorization.captured",
            hold.id,
            "captured",
        )
        assert event.id.startswith("evt_sbx_")
        assert event.data["amount_captured"] == 1000

    async def test_a_replayed_request_sends_nothing_more(self, sandbox: Sandbox) -> None:
        hold = await sandbox.hold(SUCCESS, "30.00")
        for _ in range(2):
            await sandbox.provider.capture(
                idempotency_key="capture:1", authorization_id=hold.id, amount=eur("10.00")
            )
        await sandbox.drain()
        assert types_of(sandbox).count("authorization.captured") == 1

    async def test_retries_a_refused_delivery(self, sandbox: Sandbox) -> None:
        sandbox.receiver.fail_next = 2
        await sandbox.provider.create_customer(
            idempotency_key="customer:1", reference="driver:1", email=None
        )
        await sandbox.drain()
        assert types_of(sandbox) == ["customer.created"]


class TestDuplicateCard:
    async def test_sends_each_event_twice_then_the_previous_one(self, sandbox: Sandbox) -> None:
        hold = await sandbox.hold(DUPLICATES, "30.00")
        await sandbox.provider.capture(
            idempotency_key="capture:1", authorization_id=hold.id, amount=eur("10.00")
        )
        await sandbox.drain()

        about_hold = [
            (event["id"], event["data"]["object"]["status"])
            for event in (json.loads(item.body) for item in sandbox.receiver.received)
            if event["data"]["object"]["id"] == hold.id
        ]
        authorized, captured = about_hold[0], about_hold[2]
        assert about_hold == [authorized, authorized, captured, captured, authorized]
        assert authorized[1] == "authorized"
        assert captured[1] == "captured"


class TestVerifyWebhook:
    @pytest.fixture
    def provider(self, sandbox: Sandbox) -> SandboxProvider:
        return sandbox.provider

    async def signed(self, sandbox: Sandbox) -> tuple[bytes, dict[str, str]]:
        await sandbox.provider.create_customer(
            idempotency_key="customer:1", reference="driver:1", email=None
        )
        await sandbox.drain()
        received = sandbox.receiver.received[0]
        return received.body, received.headers

    async def test_accepts_the_sandboxs_signature(self, sandbox: Sandbox) -> None:
        body, headers = await self.signed(sandbox)
        event = sandbox.provider.verify_webhook(
            payload=body, headers=headers, now=sandbox.clock.now()
        )
        assert event.type == "customer.created"

    async def test_refuses_a_tampered_body(self, sandbox: Sandbox) -> None:
        body, headers = await self.signed(sandbox)
        with pytest.raises(WebhookRejected):
            sandbox.provider.verify_webhook(
                payload=body.replace(b"driver:1", b"driver:2"), headers=headers,
                now=sandbox.clock.now(),
            )  # fmt: skip

    async def test_refuses_a_missing_header(self, sandbox: Sandbox) -> None:
        body, _ = await self.signed(sandbox)
        with pytest.raises(WebhookRejected):
            sandbox.provider.verify_webhook(payload=body, headers={}, now=sandbox.clock.now())

    async def test_refuses_another_secret(self, sandbox: Sandbox) -> None:
        body, headers = await self.signed(sandbox)
        other = SandboxProvider("http://unused", API_KEY, "whsec_someone_else")
        with pytest.raises(WebhookRejected):
            other.verify_webhook(payload=body, headers=headers, now=sandbox.clock.now())
        await other.aclose()

    @pytest.mark.parametrize("seconds", [301, -301])
    async def test_refuses_stale_and_future_timestamps(
        self, sandbox: Sandbox, seconds: int
    ) -> None:
        body, headers = await self.signed(sandbox)
        with pytest.raises(WebhookRejected):
            sandbox.provider.verify_webhook(
                payload=body, headers=headers,
                now=sandbox.clock.now() - timedelta(seconds=seconds),
            )  # fmt: skip

    async def test_refuses_a_signed_body_that_is_not_an_event(self, sandbox: Sandbox) -> None:
        body = b'{"hello":"world"}'
        header = signature_header(
            secret=WEBHOOK_SECRET, timestamp=int(sandbox.clock.now().timestamp()), payload=body
        )
        with pytest.raises(WebhookRejected):
            sandbox.provider.verify_webhook(
                payload=body, headers={SIGNATURE_HEADER: header}, now=sandbox.clock.now()
            )
