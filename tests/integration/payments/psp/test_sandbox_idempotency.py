"""Idempotency keys honoured like Stripe's: same key and parameters -> the stored answer;
same key, other parameters -> an idempotency error; keys forgotten after 24 h."""

from __future__ import annotations

import asyncio

import pytest

from evbilling.money import Money
from evbilling.payments.psp import AuthorizationStatus, ProviderDeclined, ProviderError
from tests.integration.payments.psp.sandbox_support import API_KEY, Sandbox

SUCCESS = "4242424242424242"


def eur(amount: str) -> Money:
    return Money.of(amount, "EUR")


class TestReplays:
    async def test_same_key_returns_the_same_customer(self, sandbox: Sandbox) -> None:
        first = await sandbox.provider.create_customer(
            idempotency_key="customer:7", reference="driver:7", email=None
        )
        again = await sandbox.provider.create_customer(
            idempotency_key="customer:7", reference="driver:7", email=None
        )
        assert again == first

    async def test_same_key_returns_the_same_hold(self, sandbox: Sandbox) -> None:
        method = await sandbox.save_card(SUCCESS)
        calls = [
            sandbox.provider.authorize(
                idempotency_key="hold:9",
                reference="hold:9",
                customer_id=method.customer_id,
                method_id=method.id,
                amount=eur("40.00"),
                off_session=True,
            )
            for _ in range(2)
        ]
        first = await calls[0]
        again = await calls[1]
        assert again == first
        listed = await sandbox.http.get(
            "/sandbox-psp/v1/authorizations", headers={"Authorization": f"Bearer {API_KEY}"}
        )
        assert [row["id"] for row in listed.json()["data"]] == [first.id]

    async def test_a_second_capture_with_the_same_key_captures_once(self, sandbox: Sandbox) -> None:
        hold = await sandbox.hold(SUCCESS, "40.00")
        first = await sandbox.provider.capture(
            idempotency_key="capture:1", authorization_id=hold.id, amount=eur("25.00")
        )
        again = await sandbox.provider.capture(
            idempotency_key="capture:1", authorization_id=hold.id, amount=eur("25.00")
        )
        assert again == first
        assert await sandbox.captures(hold.id) == [2500]

    async def test_the_replay_is_marked(self, sandbox: Sandbox) -> None:
        headers = {"Authorization": f"Bearer {API_KEY}", "Idempotency-Key": "k1"}
        body = {"reference": "driver:1"}
        first = await sandbox.http.post("/sandbox-psp/v1/customers", json=body, headers=headers)
        again = await sandbox.http.post("/sandbox-psp/v1/customers", json=body, headers=headers)
        assert "idempotent-replayed" not in first.headers
        assert again.headers["idempotent-replayed"] == "true"
        assert again.json() == first.json()

    async def test_a_decline_is_replayed_as_a_decline(self, sandbox: Sandbox) -> None:
        method = await sandbox.save_card("4000000000000002")
        for _ in range(2):
            with pytest.raises(ProviderDeclined):
                await sandbox.provider.authorize(
                    idempotency_key="hold:5", reference="hold:5", customer_id=method.customer_id,
                    method_id=method.id, amount=eur("30.00"), off_session=True,
                )  # fmt: skip
        listed = await sandbox.http.get(
            "/sandbox-psp/v1/authorizations", headers={"Authorization": f"Bearer {API_KEY}"}
        )
        assert len(listed.json()["data"]) == 1

    async def test_concurrent_captures_with_one_key_capture_once(self, sandbox: Sandbox) -> None:
        hold = await sandbox.hold(SUCCESS, "40.00")
        outcomes = await asyncio.gather(
            *(
                sandbox.provider.capture(
                    idempotency_key="capture:1", authorization_id=hold.id, amount=eur("25.00")
                )
                for _ in range(5)
            ),
            return_exceptions=True,
        )
        assert await sandbox.captures(hold.id) == [2500]
        assert any(not isinstance(outcome, BaseException) for outcome in outcomes)


class TestKeyReuse:
    async def test_other_parameters_with_the_same_key_are_refused(self, sandbox: Sandbox) -> None:
        hold = await sandbox.hold(SUCCESS, "40.00")
        await sandbox.provider.capture(
            idempotency_key="capture:1", authorization_id=hold.id, amount=eur("25.00")
        )
        with pytest.raises(ProviderError) as refused:
            await sandbox.provider.capture(
                idempotency_key="capture:1", authorization_id=hold.id, amount=eur("26.00")
            )
        assert refused.value.code == "idempotency_key_reused"
        assert await sandbox.captures(hold.id) == [2500]

    async def test_the_same_key_on_another_object_is_refused(self, sandbox: Sandbox) -> None:
        first = await sandbox.hold(SUCCESS, "40.00", key="hold:1")
        second = await sandbox.hold(SUCCESS, "40.00", key="hold:2")
        await sandbox.provider.cancel(idempotency_key="cancel", authorization_id=first.id)
        with pytest.raises(ProviderError):
            await sandbox.provider.cancel(idempotency_key="cancel", authorization_id=second.id)
        still = await sandbox.provider.retrieve_authorization(authorization_id=second.id)
        assert still.status is AuthorizationStatus.AUTHORIZED

    async def test_keys_are_forgotten_after_24_hours(self, sandbox: Sandbox) -> None:
        first = await sandbox.provider.create_customer(
            idempotency_key="customer:1", reference="driver:1", email=None
        )
        sandbox.clock.advance(seconds=24 * 3600 - 1)
        same = await sandbox.provider.create_customer(
            idempotency_key="customer:1", reference="driver:1", email=None
        )
        sandbox.clock.advance(seconds=1)
        later = await sandbox.provider.create_customer(
            idempotency_key="customer:1", reference="driver:1", email=None
        )
        assert same == first
        assert later.id != first.id

    async def test_a_refused_request_leaves_the_key_free(self, sandbox: Sandbox) -> None:
        hold = await sandbox.hold(SUCCESS, "40.00")
        with pytest.raises(ProviderError):
            await sandbox.provider.capture(
                idempotency_key="capture:1", authorization_id=hold.id, amount=eur("99.00")
            )
        captured = await sandbox.provider.capture(
            idempotency_key="capture:1", authorization_id=hold.id, amount=eur("10.00")
        )
        assert captured.captured == eur("10.00")
