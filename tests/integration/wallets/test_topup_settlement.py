"""Wallet top-ups whose provider answer was lost, settled from the provider's object (the
sandbox, with the answer dropped on the way back): a capture that happened is credited once;
a hold that was never captured is released; a call that never arrived fails. Nothing is
credited twice and the books stay balanced (both databases)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from evbilling.models import WalletTopup
from evbilling.payments import wallet_topups
from evbilling.payments.psp import AuthorizationStatus
from evbilling.payments.topup_settlement import settle_topup, settle_unknown_topups
from evbilling.wallets.domain import TopupStatus, WalletLimits
from tests.integration.arrange import add_driver
from tests.integration.payments.lost_answers import LostAnswers
from tests.integration.payments.support import Payments
from tests.integration.wallets.support import eur, trial_balance_is_zero, wallet_state


async def lost_top_up(payments: Payments, *, operation: str, acted: bool) -> tuple[int, int]:
    """A driver with a saved card whose top-up of 20.00 lost an answer: (driver, top-up)."""
    driver_id = await add_driver(payments.context, payments.operator_id)
    await payments.save_card(driver_id)
    provider: Any = LostAnswers(payments.runtime.provider, operation=operation, acted=acted)
    with pytest.raises(wallet_topups.TopUpUnknown):
        await wallet_topups.top_up(
            context=payments.context,
            provider=provider,
            operator_id=payments.operator_id,
            driver_id=driver_id,
            amount=eur("20"),
            limits=WalletLimits(),
        )
    async with payments.context.unit_of_work() as db:
        topup = (await db.execute(select(WalletTopup))).scalar_one()
    assert topup.status == TopupStatus.UNKNOWN.value
    return driver_id, topup.id


async def topup_row(payments: Payments, topup_id: int) -> WalletTopup:
    async with payments.context.unit_of_work() as db:
        row = await db.get(WalletTopup, topup_id)
    assert row is not None
    return row


class TestSettlingLostAnswers:
    async def test_a_capture_that_happened_is_credited_once(self, payments: Payments) -> None:
        _, topup_id = await lost_top_up(payments, operation="capture", acted=True)
        wallet_id = (await topup_row(payments, topup_id)).wallet_id
        before = await wallet_state(payments.context, wallet_id)

        first = await settle_topup(
            context=payments.context, provider=payments.runtime.provider, topup_id=topup_id
        )
        again = await settle_topup(
            context=payments.context, provider=payments.runtime.provider, topup_id=topup_id
        )

        after = await wallet_state(payments.context, wallet_id)
        assert before.available == 0
        assert (first, again) == (TopupStatus.CAPTURED, TopupStatus.CAPTURED)
        assert after.available == 2000
        assert after.cache_matches_ledger
        assert await trial_balance_is_zero(payments.context)

    async def test_a_hold_whose_answer_was_lost_is_released_and_credits_nothing(
        self, payments: Payments
    ) -> None:
        _, topup_id = await lost_top_up(payments, operation="authorize", acted=True)

        status = await settle_topup(
            context=payments.context, provider=payments.runtime.provider, topup_id=topup_id
        )

        row = await topup_row(payments, topup_id)
        assert status is TopupStatus.FAILED
        assert row.authorization_id is not None
        held = await payments.runtime.provider.retrieve_authorization(
            authorization_id=row.authorization_id
        )
        assert held.status is AuthorizationStatus.CANCELED
        assert (await wallet_state(payments.context, row.wallet_id)).available == 0
        assert await trial_balance_is_zero(payments.context)

    async def test_a_call_that_never_reached_the_provider_fails(self, payments: Payments) -> None:
        _, topup_id = await lost_top_up(payments, operation="authorize", acted=False)

        status = await settle_topup(
            context=payments.context, provider=payments.runtime.provider, topup_id=topup_id
        )

        row = await topup_row(payments, topup_id)
        assert status is TopupStatus.FAILED
        assert row.decline_code == "not_found_at_provider"
        assert (await wallet_state(payments.context, row.wallet_id)).available == 0

    async def test_the_job_waits_until_the_answer_has_been_lost_for_a_while(
        self, payments: Payments
    ) -> None:
        _, topup_id = await lost_top_up(payments, operation="capture", acted=True)
        provider = payments.runtime.provider

        too_soon = await settle_unknown_topups(context=payments.context, provider=provider)
        payments.clock.advance(seconds=180)
        settled = await settle_unknown_topups(context=payments.context, provider=provider)

        assert (too_soon, settled) == (0, 1)
        assert (await topup_row(payments, topup_id)).status == TopupStatus.CAPTURED.value
