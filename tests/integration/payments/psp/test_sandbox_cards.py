"""Every sandbox test card's behaviour, through SandboxProvider over HTTP (ASGI)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from datetime import timedelta

import pytest

from evbilling.money import Money
from evbilling.payments.psp import AuthorizationStatus, ProviderDeclined, ProviderError
from tests.integration.payments.psp.sandbox_support import Sandbox

SUCCESS = "4242424242424242"
DECLINE = "4000000000000002"
INSUFFICIENT = "4000000000009995"
PARTIAL = "4000000000000119"
EARLY_EXPIRY = "4000000000000127"
CAPTURE_FAILURE = "4000000000000135"
SLOW_CAPTURE = "4000000000000143"


def eur(amount: str) -> Money:
    return Money.of(amount, "EUR")


class TestSuccessCard:
    async def test_holds_captures_and_releases_the_rest(self, sandbox: Sandbox) -> None:
        hold = await sandbox.hold(SUCCESS, "50.00")
        assert hold.status is AuthorizationStatus.AUTHORIZED
        assert hold.authorized == eur("50.00")
        assert hold.capture_before == sandbox.clock.now() + timedelta(days=7)
        assert hold.incremental_authorization

        captured = await sandbox.provider.capture(
            idempotency_key="capture:1", authorization_id=hold.id, amount=eur("31.20")
        )

        assert captured.status is AuthorizationStatus.CAPTURED
        assert captured.captured == eur("31.20")
        assert captured.capturable == eur("0")
        assert await sandbox.captures(hold.id) == [3120]

    async def test_increments_an_authorized_hold(self, sandbox: Sandbox) -> None:
        hold = await sandbox.hold(SUCCESS, "20.00")
        raised = await sandbox.provider.increment(
            idempotency_key="increment:1", authorization_id=hold.id, new_total=eur("35.00")
        )
        assert raised.authorized == eur("35.00")

    async def test_never_captures_more_than_capturable(self, sandbox: Sandbox) -> None:
        hold = await sandbox.hold(SUCCESS, "20.00")
        with pytest.raises(ProviderError) as refused:
            await sandbox.provider.capture(
                idempotency_key="capture:1", authorization_id=hold.id, amount=eur("20.01")
            )
        assert refused.value.code == "amount_too_large"
        after = await sandbox.provider.retrieve_authorization(authorization_id=hold.id)
        assert after.status is AuthorizationStatus.AUTHORIZED
        assert await sandbox.captures(hold.id) == []

    async def test_refuses_a_capture_below_the_minimum_charge(self, sandbox: Sandbox) -> None:
        hold = await sandbox.hold(SUCCESS, "20.00")
        with pytest.raises(ProviderError) as refused:
            await sandbox.provider.capture(
                idempotency_key="capture:1", authorization_id=hold.id, amount=eur("0.49")
            )
        assert refused.value.code == "amount_too_small"

    async def test_cancel_releases_the_hold(self, sandbox: Sandbox) -> None:
        hold = await sandbox.hold(SUCCESS, "20.00")
        canceled = await sandbox.provider.cancel(
            idempotency_key="cancel:1", authorization_id=hold.id
        )
        assert canceled.status is AuthorizationStatus.CANCELED
        with pytest.raises(ProviderError):
            await sandbox.provider.capture(
                idempotency_key="capture:1", authorization_id=hold.id, amount=eur("5.00")
            )

    async def test_holds_in_jpy_and_kwd_in_their_provider_units(self, sandbox: Sandbox) -> None:
        yen = await sandbox.hold(SUCCESS, "5000", "JPY", key="hold:jpy")
        dinar = await sandbox.hold(SUCCESS, "12.340", "KWD", key="hold:kwd")
        assert yen.authorized == Money.of("5000", "JPY")
        assert dinar.authorized == Money.of("12.340", "KWD")
        with pytest.raises(ProviderError) as refused:
            await sandbox.provider.capture(
                idempotency_key="capture:kwd", authorization_id=dinar.id,
                amount=Money.of("1.234", "KWD"),
            )  # fmt: skip
        assert refused.value.code == "amount_not_representable"

    async def test_the_server_refuses_unrepresentable_raw_amounts(self, sandbox: Sandbox) -> None:
        method = await sandbox.save_card(SUCCESS)
        response = await sandbox.http.post(
            "/sandbox-psp/v1/authorizations",
            headers={"Authorization": f"Bearer {sandbox.server.api_key}"},
            json={
                "reference": "hold:raw", "customer": method.customer_id,
                "payment_method": method.id, "currency": "KWD", "amount": 12345,
            },
        )  # fmt: skip
        assert response.status_code == 400
        assert response.json()["error"]["code"] == "amount_invalid"
        assert await sandbox.provider.find_authorization(reference="hold:raw") is None


class TestDeclineCards:
    @pytest.mark.parametrize(
        ("number", "code"), [(DECLINE, "generic_decline"), (INSUFFICIENT, "insufficient_funds")]
    )
    async def test_declines_and_holds_nothing(
        self, sandbox: Sandbox, number: str, code: str
    ) -> None:
        with pytest.raises(ProviderDeclined) as declined:
            await sandbox.hold(number, "30.00")
        assert declined.value.code == code
        found = await sandbox.provider.find_authorization(reference="hold:1")
        assert found is not None
        assert found.status is AuthorizationStatus.FAILED
        assert found.authorized == eur("0")
        assert found.decline_code == code


class TestPartialAuthorizationCard:
    async def test_approves_at_most_twenty_units(self, sandbox: Sandbox) -> None:
        hold = await sandbox.hold(PARTIAL, "50.00")
        assert hold.status is AuthorizationStatus.AUTHORIZED
        assert hold.requested == eur("50.00")
        assert hold.authorized == eur("20.00")

    async def test_approves_the_whole_amount_when_below_twenty(self, sandbox: Sandbox) -> None:
        hold = await sandbox.hold(PARTIAL, "12.00")
        assert hold.authorized == eur("12.00")

    async def test_declines_an_increment_beyond_twenty(self, sandbox: Sandbox) -> None:
        hold = await sandbox.hold(PARTIAL, "10.00")
        with pytest.raises(ProviderDeclined):
            await sandbox.provider.increment(
                idempotency_key="increment:1", authorization_id=hold.id, new_total=eur("25.00")
            )
        after = await sandbox.provider.retrieve_authorization(authorization_id=hold.id)
        assert after.authorized == eur("10.00")

    async def test_caps_in_the_currency_units(self, sandbox: Sandbox) -> None:
        hold = await sandbox.hold(PARTIAL, "30.000", "KWD")
        assert hold.authorized == Money.of("20.000", "KWD")


class TestEarlyExpiryCard:
    async def test_capture_deadline_is_ten_minutes(self, sandbox: Sandbox) -> None:
        hold = await sandbox.hold(EARLY_EXPIRY, "30.00")
        assert hold.capture_before == sandbox.clock.now() + timedelta(minutes=10)

    async def test_an_expired_hold_is_canceled_when_touched(self, sandbox: Sandbox) -> None:
        hold = await sandbox.hold(EARLY_EXPIRY, "30.00")
        sandbox.clock.advance(seconds=600)
        with pytest.raises(ProviderError) as refused:
            await sandbox.provider.capture(
                idempotency_key="capture:1", authorization_id=hold.id, amount=eur("10.00")
            )
        assert refused.value.code == "authorization_unexpected_state"
        assert await sandbox.events(hold.id) == [
            "authorization.authorized",
            "authorization.canceled",
        ]
        after = await sandbox.provider.retrieve_authorization(authorization_id=hold.id)
        assert after.status is AuthorizationStatus.CANCELED
        assert await sandbox.captures(hold.id) == []

    async def test_an_expired_hold_is_canceled_when_listed(self, sandbox: Sandbox) -> None:
        await sandbox.hold(EARLY_EXPIRY, "30.00")
        sandbox.clock.advance(seconds=601)
        found = await sandbox.provider.find_authorization(reference="hold:1")
        assert found is not None
        assert found.status is AuthorizationStatus.CANCELED

    async def test_is_still_capturable_just_before_the_deadline(self, sandbox: Sandbox) -> None:
        hold = await sandbox.hold(EARLY_EXPIRY, "30.00")
        sandbox.clock.advance(seconds=599)
        captured = await sandbox.provider.capture(
            idempotency_key="capture:1", authorization_id=hold.id, amount=eur("10.00")
        )
        assert captured.status is AuthorizationStatus.CAPTURED


class TestCaptureFailureCard:
    async def test_capture_answers_an_error_and_changes_nothing(self, sandbox: Sandbox) -> None:
        hold = await sandbox.hold(CAPTURE_FAILURE, "30.00")
        with pytest.raises(ProviderError) as failed:
            await sandbox.provider.capture(
                idempotency_key="capture:1", authorization_id=hold.id, amount=eur("10.00")
            )
        assert failed.value.code == "capture_failed"
        after = await sandbox.provider.retrieve_authorization(authorization_id=hold.id)
        assert after == hold
        assert await sandbox.captures(hold.id) == []


class TestSlowCaptureCard:
    async def test_capture_commits_before_it_answers(self, sandbox: Sandbox) -> None:
        hold = await sandbox.hold(SLOW_CAPTURE, "30.00")
        started = time.monotonic()
        captured = await sandbox.provider.capture(
            idempotency_key="capture:1", authorization_id=hold.id, amount=eur("10.00")
        )
        assert time.monotonic() - started >= sandbox.server.slow_capture_seconds
        assert captured.status is AuthorizationStatus.CAPTURED

    async def test_the_capture_is_visible_while_the_answer_is_pending(
        self, sandbox: Sandbox
    ) -> None:
        sandbox.server.slow_capture_seconds = 5.0
        hold = await sandbox.hold(SLOW_CAPTURE, "30.00")
        pending = asyncio.create_task(
            sandbox.provider.capture(
                idempotency_key="capture:1", authorization_id=hold.id, amount=eur("10.00")
            )
        )
        for _ in range(100):
            if await sandbox.captures(hold.id):
                break
            await asyncio.sleep(0.02)
        seen = await sandbox.provider.retrieve_authorization(authorization_id=hold.id)
        assert not pending.done()
        assert seen.status is AuthorizationStatus.CAPTURED
        assert await sandbox.captures(hold.id) == [1000]
        pending.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await pending
