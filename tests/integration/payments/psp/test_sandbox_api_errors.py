"""Bad requests to the sandbox: each gets a clear error and changes nothing; transport
failures reach the caller as OutcomeUnknown."""

from __future__ import annotations

import httpx
import pytest

from evbilling.money import Money
from evbilling.payments.psp import OutcomeUnknown, ProviderError
from evbilling.payments.psp.sandbox import SandboxProvider
from tests.integration.payments.psp.sandbox_support import API_KEY, WEBHOOK_SECRET, Sandbox

SUCCESS = "4242424242424242"


class TestRefusedRequests:
    async def test_requires_the_api_key(self, sandbox: Sandbox) -> None:
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": API_KEY}):
            response = await sandbox.http.post(
                "/sandbox-psp/v1/customers", json={"reference": "driver:1"}, headers=headers
            )
            assert response.status_code == 401
            assert response.json()["error"]["code"] == "api_key_invalid"
        listed = await sandbox.http.get(
            "/sandbox-psp/v1/_control/events", headers={"Authorization": "Bearer wrong"}
        )
        assert listed.status_code == 401

    async def test_refuses_unknown_and_malformed_parameters(self, sandbox: Sandbox) -> None:
        headers = {"Authorization": f"Bearer {API_KEY}"}
        for body in (
            {"reference": "driver:1", "surprise": True},
            {"reference": ""},
            {"email": "a@example.com"},
        ):
            response = await sandbox.http.post(
                "/sandbox-psp/v1/customers", json=body, headers=headers
            )
            assert response.status_code == 400
            assert response.json()["error"]["code"] == "parameter_invalid"

    async def test_refuses_a_float_amount_and_a_bad_currency(self, sandbox: Sandbox) -> None:
        method = await sandbox.save_card(SUCCESS)
        headers = {"Authorization": f"Bearer {API_KEY}"}
        base = {
            "reference": "hold:1", "customer": method.customer_id,
            "payment_method": method.id, "currency": "EUR", "amount": 1000,
        }  # fmt: skip
        for change in ({"amount": 10.5}, {"amount": "1000"}, {"currency": "eur"}, {"amount": 0}):
            response = await sandbox.http.post(
                "/sandbox-psp/v1/authorizations", json={**base, **change}, headers=headers
            )
            assert response.status_code == 400, change
        assert await sandbox.provider.find_authorization(reference="hold:1") is None

    async def test_an_unknown_hold_is_not_found(self, sandbox: Sandbox) -> None:
        with pytest.raises(ProviderError) as missing:
            await sandbox.provider.capture(
                idempotency_key="capture:1", authorization_id="pi_sbx_999999",
                amount=Money.of("5.00", "EUR"),
            )  # fmt: skip
        assert missing.value.code == "resource_missing"

    async def test_another_customers_method_is_refused(self, sandbox: Sandbox) -> None:
        method = await sandbox.save_card(SUCCESS)
        other = await sandbox.provider.create_customer(
            idempotency_key="customer:other", reference="driver:99", email=None
        )
        with pytest.raises(ProviderError) as refused:
            await sandbox.provider.authorize(
                idempotency_key="hold:1", reference="hold:1", customer_id=other.id,
                method_id=method.id, amount=Money.of("20.00", "EUR"), off_session=True,
            )  # fmt: skip
        assert refused.value.code == "payment_method_customer_mismatch"

    async def test_a_detached_method_can_no_longer_be_charged(self, sandbox: Sandbox) -> None:
        method = await sandbox.save_card(SUCCESS)
        await sandbox.provider.detach_method(method_id=method.id)
        await sandbox.provider.detach_method(method_id=method.id)  # again: no error
        with pytest.raises(ProviderError) as refused:
            await sandbox.provider.authorize(
                idempotency_key="hold:1", reference="hold:1", customer_id=method.customer_id,
                method_id=method.id, amount=Money.of("20.00", "EUR"), off_session=True,
            )  # fmt: skip
        assert refused.value.code == "resource_missing"

    async def test_refuses_a_return_url_that_is_not_http(self, sandbox: Sandbox) -> None:
        customer = await sandbox.provider.create_customer(
            idempotency_key="customer:1", reference="driver:1", email=None
        )
        with pytest.raises(ProviderError) as refused:
            await sandbox.provider.start_card_setup(
                idempotency_key="setup:1", customer_id=customer.id,
                return_url="javascript:alert(1)",
            )  # fmt: skip
        assert refused.value.code == "url_invalid"


class TestUnknownOutcomes:
    async def test_no_answer_is_an_unknown_outcome(self) -> None:
        def refuse(_: httpx.Request) -> httpx.Response:
            raise httpx.ConnectError("connection refused")

        provider = SandboxProvider(
            "http://127.0.0.1:9/sandbox-psp", API_KEY, WEBHOOK_SECRET,
            transport=httpx.MockTransport(refuse),
        )  # fmt: skip
        with pytest.raises(OutcomeUnknown):
            await provider.retrieve_authorization(authorization_id="pi_sbx_000001")
        await provider.aclose()

    @pytest.mark.parametrize("status", [500, 502, 429])
    async def test_server_errors_are_unknown_outcomes(self, status: int) -> None:
        def fail(_: httpx.Request) -> httpx.Response:
            return httpx.Response(status, json={"error": {"type": "api_error", "code": "x"}})

        provider = SandboxProvider(
            "http://127.0.0.1:9/sandbox-psp", API_KEY, WEBHOOK_SECRET,
            transport=httpx.MockTransport(fail),
        )  # fmt: skip
        with pytest.raises(OutcomeUnknown):
            await provider.capture(
                idempotency_key="capture:1", authorization_id="pi_sbx_000001",
                amount=Money.of("5.00", "EUR"),
            )  # fmt: skip
        await provider.aclose()
