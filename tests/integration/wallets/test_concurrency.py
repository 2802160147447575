"""Many debits of one wallet at once: exactly as many succeed as the balance covers, the
balance never goes below zero, and the wallet row's cache still equals the ledger. Needs
concurrent writers: PostgreSQL (SQLite has one writer at a time)."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from evbilling.infra.context import ServiceContext
from evbilling.payments import wallet_topups
from evbilling.wallets import service as wallets
from evbilling.wallets.domain import WalletLimits
from evbilling.wallets.errors import BalanceLimitExceeded
from evbilling.wallets.retry import in_retried_unit
from tests.integration.arrange import add_driver
from tests.integration.payments.support import Payments
from tests.integration.wallets.support import (
    eur,
    funded_wallet,
    trial_balance_is_zero,
    wallet_state,
)

ROUNDS = 20  # "repeated many times": each round a fresh wallet and 100 debits at once
DEBITS = 100


class TestConcurrentDebits:
    @pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
    async def test_exactly_the_balance_is_taken_every_round(
        self, context: ServiceContext, operator_id: int
    ) -> None:
        for round_number in range(ROUNDS):
            _, wallet_id = await funded_wallet(context, operator_id, amount="500")

            async def take(
                number: int, wallet_id: int = wallet_id, round_number: int = round_number
            ) -> bool:
                async def work(db: AsyncSession) -> bool:
                    return await wallets.debit(
                        db=db,
                        wallet_id=wallet_id,
                        amount=eur("10"),
                        reference=f"round-{round_number}-{number}",
                        now=context.clock.now(),
                    )

                return await in_retried_unit(context, work)

            results = await asyncio.gather(*(take(number) for number in range(DEBITS)))

            assert results.count(True) == 50, f"round {round_number}"
            state = await wallet_state(context, wallet_id)
            assert state.available == 0
            assert state.ledger_balance == 0
            assert state.cache_matches_ledger
            assert await trial_balance_is_zero(context)

    @pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
    async def test_concurrent_reservations_and_credits_keep_the_cache_exact(
        self, context: ServiceContext, operator_id: int
    ) -> None:
        driver_id, wallet_id = await funded_wallet(context, operator_id, amount="100")

        async def credit() -> None:
            async def work(db: AsyncSession) -> None:
                await wallets.credit_goodwill(
                    db=db,
                    operator_id=operator_id,
                    driver_id=driver_id,
                    amount=eur("1"),
                    reason="race",
                    actor="tests",
                    now=context.clock.now(),
                )

            await in_retried_unit(context, work)

        async def spend(number: int) -> bool:
            async def work(db: AsyncSession) -> bool:
                return await wallets.debit(
                    db=db,
                    wallet_id=wallet_id,
                    amount=eur("7"),
                    reference=f"mixed-{number}",
                    now=context.clock.now(),
                )

            return await in_retried_unit(context, work)

        outcomes = await asyncio.gather(
            *(credit() for _ in range(20)), *(spend(number) for number in range(30))
        )

        taken = sum(1 for outcome in outcomes if outcome is True)
        state = await wallet_state(context, wallet_id)
        assert state.available == 100_00 + 20 * 100 - taken * 700 >= 0
        assert state.cache_matches_ledger
        assert await trial_balance_is_zero(context)


class TestConcurrentTopUps:
    @pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
    async def test_never_take_the_balance_past_its_maximum(self, payments: Payments) -> None:
        """Ten top-ups of 100 at once on an empty wallet whose maximum is 500: five are
        charged and credited, five are refused before the card is asked."""
        driver_id = await add_driver(payments.context, payments.operator_id)
        await payments.save_card(driver_id)

        async def top_up() -> bool:
            try:
                await wallet_topups.top_up(
                    context=payments.context,
                    provider=payments.runtime.provider,
                    operator_id=payments.operator_id,
                    driver_id=driver_id,
                    amount=eur("100"),
                    limits=WalletLimits(),
                )
            except BalanceLimitExceeded:
                return False
            return True

        results = await asyncio.gather(*(top_up() for _ in range(10)))

        assert results.count(True) == 5
        async with payments.context.unit_of_work() as db:
            view = await wallets.get_wallet(
                db=db, operator_id=payments.operator_id, driver_id=driver_id
            )
        assert view is not None
        state = await wallet_state(payments.context, view.wallet_id)
        assert state.available == 500_00
        assert state.cache_matches_ledger
        assert await trial_balance_is_zero(payments.context)
