"""Card payments of statements whose provider answer was lost, settled from the provider's
object (the sandbox, with the answer dropped on the way back): a capture that happened is
booked once, a hold never captured is released, a call that never arrived fails; nothing is
booked twice and the books stay balanced (both databases)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from evbilling.infra.context import ServiceContext
from evbilling.kit import FixedClock
from evbilling.payments import postpaid_charges
from evbilling.payments.postpaid_settlement import (
    settle_card_payment,
    settle_pending_card_payments,
)
from evbilling.payments.psp import AuthorizationStatus
from evbilling.postpaid.domain import PaymentStatus
from tests.integration.payments.lost_answers import LostAnswers
from tests.integration.payments.support import SUCCESS, Payments, running_payments
from tests.integration.postpaid.support import receivable, trial_differences
from tests.integration.postpaid.test_card_payment import october_statement


@pytest.fixture
async def payments(
    context: ServiceContext, clock: FixedClock, tmp_path: Path, operator_id: int
) -> AsyncIterator[Payments]:
    async with running_payments(
        context=context, clock=clock, tmp_path=tmp_path, operator_id=operator_id
    ) as running:
        yield running


async def lost_payment(payments: Payments, *, operation: str, acted: bool) -> tuple[int, int]:
    """A 4.64 statement paid by card whose `operation` lost its answer: (account, payment)."""
    site, statement_id = await october_statement(payments, card=SUCCESS)
    provider: Any = LostAnswers(payments.runtime.provider, operation=operation, acted=acted)
    paid = await postpaid_charges.charge_statement(
        context=payments.context,
        provider=provider,
        operator_id=payments.operator_id,
        account_id=site.account_id,
        statement_id=statement_id,
    )
    assert paid.status == PaymentStatus.PENDING.value
    return site.account_id, paid.id


def settle(payments: Payments, payment_id: int) -> Any:
    return settle_card_payment(
        context=payments.context, provider=payments.runtime.provider, payment_id=payment_id
    )


class TestSettlingLostCardPayments:
    async def test_a_capture_that_happened_is_booked_once(self, payments: Payments) -> None:
        account_id, payment_id = await lost_payment(payments, operation="capture", acted=True)
        owed_before = await receivable(payments.context, account_id)

        first, again = await settle(payments, payment_id), await settle(payments, payment_id)

        assert owed_before == 464
        assert (first, again) == (PaymentStatus.SUCCEEDED, PaymentStatus.SUCCEEDED)
        assert await receivable(payments.context, account_id) == 0
        assert await trial_differences(payments.context) == [0]

    async def test_a_hold_whose_answer_was_lost_is_released(self, payments: Payments) -> None:
        account_id, payment_id = await lost_payment(payments, operation="authorize", acted=True)

        status = await settle(payments, payment_id)

        assert status is PaymentStatus.FAILED
        found = await payments.runtime.provider.find_authorization(
            reference=f"postpaid-payment:{payment_id}"
        )
        assert found is not None
        assert found.status is AuthorizationStatus.CANCELED
        assert await receivable(payments.context, account_id) == 464

    async def test_the_job_settles_what_has_been_pending_for_a_while(
        self, payments: Payments
    ) -> None:
        account_id, _ = await lost_payment(payments, operation="authorize", acted=False)
        provider = payments.runtime.provider

        too_soon = await settle_pending_card_payments(context=payments.context, provider=provider)
        payments.clock.advance(seconds=180)
        settled = await settle_pending_card_payments(context=payments.context, provider=provider)

        assert (too_soon, settled) == (0, 1)
        assert await receivable(payments.context, account_id) == 464
