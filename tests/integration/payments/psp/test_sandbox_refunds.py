"""Refunds in the sandbox: never above what was captured, also under concurrent requests;
each movement is a balance transaction (for reconciliation)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from evbilling.money import Money
from evbilling.payments.psp import ProviderError, RefundStatus
from tests.integration.payments.psp.sandbox_support import Sandbox

SUCCESS = "4242424242424242"


def eur(amount: str) -> Money:
    return Money.of(amount, "EUR")


async def captured_hold(sandbox: Sandbox, amount: str = "30.00") -> str:
    hold = await sandbox.hold(SUCCESS, "50.00")
    await sandbox.provider.capture(
        idempotency_key="capture:1", authorization_id=hold.id, amount=eur(amount)
    )
    return hold.id


class TestRefunds:
    async def test_refunds_part_then_the_rest(self, sandbox: Sandbox) -> None:
        hold_id = await captured_hold(sandbox)
        first = await sandbox.provider.refund(
            idempotency_key="refund:1", reference="refund:1", authorization_id=hold_id,
            amount=eur("10.00"),
        )  # fmt: skip
        await sandbox.provider.refund(
            idempotency_key="refund:2", reference="refund:2", authorization_id=hold_id,
            amount=eur("20.00"),
        )  # fmt: skip
        assert first.status is RefundStatus.SUCCEEDED
        after = await sandbox.provider.retrieve_authorization(authorization_id=hold_id)
        assert after.refunded == eur("30.00")
        assert await sandbox.provider.find_refund(reference="refund:1") == first
        assert await sandbox.provider.retrieve_refund(refund_id=first.id) == first

    async def test_never_refunds_more_than_captured(self, sandbox: Sandbox) -> None:
        hold_id = await captured_hold(sandbox)
        await sandbox.provider.refund(
            idempotency_key="refund:1", reference="refund:1", authorization_id=hold_id,
            amount=eur("25.00"),
        )  # fmt: skip
        with pytest.raises(ProviderError) as refused:
            await sandbox.provider.refund(
                idempotency_key="refund:2", reference="refund:2", authorization_id=hold_id,
                amount=eur("5.01"),
            )  # fmt: skip
        assert refused.value.code == "amount_too_large"
        after = await sandbox.provider.retrieve_authorization(authorization_id=hold_id)
        assert after.refunded == eur("25.00")
        assert await sandbox.provider.find_refund(reference="refund:2") is None

    async def test_refuses_to_refund_a_hold_not_captured(self, sandbox: Sandbox) -> None:
        hold = await sandbox.hold(SUCCESS, "50.00")
        with pytest.raises(ProviderError) as refused:
            await sandbox.provider.refund(
                idempotency_key="refund:1", reference="refund:1", authorization_id=hold.id,
                amount=eur("1.00"),
            )  # fmt: skip
        assert refused.value.code == "charge_not_captured"

    async def test_concurrent_refunds_never_exceed_the_capture(self, sandbox: Sandbox) -> None:
        hold_id = await captured_hold(sandbox)
        outcomes = await asyncio.gather(
            *(
                sandbox.provider.refund(
                    idempotency_key=f"refund:{n}",
                    reference=f"refund:{n}",
                    authorization_id=hold_id,
                    amount=eur("12.00"),
                )
                for n in range(6)
            ),
            return_exceptions=True,
        )
        succeeded = [outcome for outcome in outcomes if not isinstance(outcome, BaseException)]
        refused = [outcome for outcome in outcomes if isinstance(outcome, ProviderError)]
        assert len(succeeded) == 2
        assert len(refused) == 4
        after = await sandbox.provider.retrieve_authorization(authorization_id=hold_id)
        assert after.refunded == eur("24.00")


class TestBalanceTransactions:
    async def test_records_captures_with_a_fee_and_refunds(self, sandbox: Sandbox) -> None:
        start = sandbox.clock.now()
        hold_id = await captured_hold(sandbox, "30.00")
        sandbox.clock.advance(seconds=60)
        refund = await sandbox.provider.refund(
            idempotency_key="refund:1", reference="refund:1", authorization_id=hold_id,
            amount=eur("5.00"),
        )  # fmt: skip

        movements = await sandbox.provider.balance_transactions(
            created_from=start, created_to=start + timedelta(hours=1)
        )

        assert [(m.kind, m.source_id, m.amount, m.fee) for m in movements] == [
            ("capture", hold_id, eur("30.00"), eur("0.67")),  # 1.4 % x 30.00 + 0.25 = 0.67
            ("refund", refund.id, eur("-5.00"), eur("0.00")),
        ]
        assert [m.reference for m in movements] == ["hold:1", "refund:1"]

    async def test_the_window_is_half_open(self, sandbox: Sandbox) -> None:
        start = sandbox.clock.now()
        await captured_hold(sandbox)
        assert (
            await sandbox.provider.balance_transactions(created_from=start, created_to=start) == []
        )
        later = await sandbox.provider.balance_transactions(
            created_from=start + timedelta(microseconds=1), created_to=start + timedelta(days=1)
        )
        assert later == []

    async def test_fees_round_half_up_in_provider_units(self, sandbox: Sandbox) -> None:
        start = sandbox.clock.now()
        hold = await sandbox.hold(SUCCESS, "5000", "JPY", key="hold:jpy")
        await sandbox.provider.capture(
            idempotency_key="capture:jpy", authorization_id=hold.id,
            amount=Money.of("1250", "JPY"),
        )  # fmt: skip
        (movement,) = await sandbox.provider.balance_transactions(
            created_from=start, created_to=start + timedelta(hours=1)
        )
        assert movement.fee == Money.of("18", "JPY")  # 17.5 + 0.25 = 17.75 -> 18
