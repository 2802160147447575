"""Several workers settling one session at once (a job taken over after its lease, two
instances): the hold is captured once, never above what was authorized."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select

from evbilling.models import LedgerEntry
from evbilling.payments.capture import SettlementPending, settle_session
from tests.integration.payments.flow import (
    card_session,
    clearing,
    payment_of,
    trial_balance_is_zero,
)
from tests.integration.payments.support import API_KEY_HEADER, Payments


async def captures_at_provider(payments: Payments, authorization_id: str) -> list[int]:
    response = await payments.http.get(
        f"/sandbox-psp/v1/_control/authorizations/{authorization_id}/captures",
        headers=API_KEY_HEADER,
    )
    assert response.status_code == 200, response.text
    return [row["amount"] for row in response.json()["data"]]


class TestConcurrentSettlement:
    @pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
    async def test_parallel_settlements_capture_once(self, payments: Payments) -> None:
        done = await card_session(payments, total="9.52", settle=False)

        async def settle() -> None:
            try:
                await settle_session(
                    context=payments.context,
                    provider=payments.runtime.provider,
                    session_id=done.session_id,
                )
            except SettlementPending:
                pass

        await asyncio.gather(*(settle() for _ in range(6)))
        await payments.run_jobs()
        await payments.drain()

        payment = await payment_of(payments, done.session_id)
        assert payment.authorization_id is not None
        assert await captures_at_provider(payments, payment.authorization_id) == [952]
        assert payment.captured_minor == 952 <= payment.authorized_minor
        assert await clearing(payments) == 952
        async with payments.context.unit_of_work() as db:
            captures = await db.execute(
                select(func.count())
                .select_from(LedgerEntry)
                .where(LedgerEntry.reference == f"capture:hold:{payment.id}")
            )
            assert captures.scalar_one() == 1
        assert await trial_balance_is_zero(payments)
