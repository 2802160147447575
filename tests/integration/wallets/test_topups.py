"""Card top-ups through the provider (the sandbox): the wallet is credited only once the
capture succeeded; below the minimum, above the maximum or without a saved card nothing is
charged and nothing changes. Closure refunds the top-ups newest first; goodwill is paid out."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from evbilling.kit import Conflict, InvalidRequest
from evbilling.ledger import service as ledger
from evbilling.ledger.domain import AccountRef
from evbilling.models import ProviderCall, WalletTopup
from evbilling.payments import wallet_topups
from evbilling.wallets import service as wallets
from evbilling.wallets.domain import WalletLimits
from tests.integration.arrange import add_driver
from tests.integration.payments.support import DECLINE, Payments
from tests.integration.wallets.support import eur, trial_balance_is_zero, wallet_state

LIMITS = WalletLimits()


async def top_up(payments: Payments, driver_id: int, amount: str) -> wallet_topups.TopUpResult:
    return await wallet_topups.top_up(
        context=payments.context,
        provider=payments.runtime.provider,
        operator_id=payments.operator_id,
        driver_id=driver_id,
        amount=eur(amount),
        limits=LIMITS,
    )


async def topup_count(payments: Payments) -> int:
    async with payments.context.unit_of_work() as db:
        return int((await db.execute(select(func.count()).select_from(WalletTopup))).scalar_one())


async def clearing(payments: Payments) -> int:
    async with payments.context.unit_of_work() as db:
        account = AccountRef.psp_clearing(provider="sandbox", currency="EUR")
        return (await ledger.account_balance(db=db, account=account)).balance_minor


class TestCardTopUps:
    async def test_credits_the_wallet_once_captured(self, payments: Payments) -> None:
        driver_id = await add_driver(payments.context, payments.operator_id)
        await payments.save_card(driver_id)

        result = await top_up(payments, driver_id, "20")

        assert result.movement is not None
        assert result.movement.amount == eur("20")
        state = await wallet_state(payments.context, await wallet_id(payments, driver_id))
        assert state.available == 2000
        assert state.cache_matches_ledger
        assert await clearing(payments) == 2000
        async with payments.context.unit_of_work() as db:
            keys = sorted(
                (
                    await db.execute(
                        select(ProviderCall.idempotency_key, ProviderCall.state).where(
                            ProviderCall.subject == f"topup:{result.topup_id}"
                        )
                    )
                ).all()
            )
        assert keys == [
            (f"authorize:topup:{result.topup_id}:1", "succeeded"),
            (f"capture:topup:{result.topup_id}:1", "succeeded"),
        ]
        assert await trial_balance_is_zero(payments.context)

    async def test_a_declined_card_credits_nothing(self, payments: Payments) -> None:
        driver_id = await add_driver(payments.context, payments.operator_id)
        await payments.save_card(driver_id, DECLINE)

        with pytest.raises(wallet_topups.TopUpDeclined):
            await top_up(payments, driver_id, "20")

        state = await wallet_state(payments.context, await wallet_id(payments, driver_id))
        assert state.available == 0
        assert await clearing(payments) == 0

    @pytest.mark.parametrize(("amount", "message"), [("4.99", "smallest"), ("500.01", "maximum")])
    async def test_refuses_amounts_outside_the_limits(
        self, payments: Payments, amount: str, message: str
    ) -> None:
        driver_id = await add_driver(payments.context, payments.operator_id)
        await payments.save_card(driver_id)

        with pytest.raises(InvalidRequest, match=message):
            await top_up(payments, driver_id, amount)

        assert await topup_count(payments) == 0
        async with payments.context.unit_of_work() as db:
            view = await wallets.get_wallet(
                db=db, operator_id=payments.operator_id, driver_id=driver_id
            )
        assert view is None

    async def test_counts_the_top_ups_still_in_flight_against_the_maximum(
        self, payments: Payments
    ) -> None:
        driver_id = await add_driver(payments.context, payments.operator_id)
        await payments.save_card(driver_id)
        async with payments.context.unit_of_work() as db:
            await wallet_topups.plan_topup(
                db=db,
                operator_id=payments.operator_id,
                driver_id=driver_id,
                amount=eur("300"),
                provider="sandbox",
                limits=LIMITS,
                now=payments.clock.now(),
            )  # fmt: skip: planned, its provider call not made (yet)
            await db.commit()

        with pytest.raises(InvalidRequest, match="top-ups still in progress"):
            await top_up(payments, driver_id, "250")
        fitting = await top_up(payments, driver_id, "200")

        assert fitting.movement is not None
        assert await topup_count(payments) == 2
        state = await wallet_state(payments.context, await wallet_id(payments, driver_id))
        assert state.available == 200_00

    async def test_refuses_without_a_saved_card(self, payments: Payments) -> None:
        driver_id = await add_driver(payments.context, payments.operator_id)

        with pytest.raises(wallet_topups.NoSavedCard, match="card-setups"):
            await top_up(payments, driver_id, "10")

        assert await topup_count(payments) == 0


class TestClosure:
    async def test_refunds_the_top_ups_and_pays_out_the_goodwill(self, payments: Payments) -> None:
        driver_id = await add_driver(payments.context, payments.operator_id)
        await payments.save_card(driver_id)
        await top_up(payments, driver_id, "10")
        await top_up(payments, driver_id, "15")
        wallet = await wallet_id(payments, driver_id)
        async with payments.context.unit_of_work() as db:
            await wallets.credit_goodwill(
                db=db,
                operator_id=payments.operator_id,
                driver_id=driver_id,
                amount=eur("3"),
                reason="welcome",
                actor="tests",
                now=payments.clock.now(),
            )
            spent = await wallets.debit(
                db=db,
                wallet_id=wallet,
                amount=eur("12"),
                reference="a session",
                now=payments.clock.now(),
            )
            await db.commit()
        assert spent

        closure = await wallet_topups.close_and_refund(
            context=payments.context,
            provider=payments.runtime.provider,
            operator_id=payments.operator_id,
            driver_id=driver_id,
        )

        assert closure.balance == eur("16")
        assert closure.refunded == eur("16")
        assert closure.payout == eur("0")
        async with payments.context.unit_of_work() as db:
            refunded = [
                row.refunded_minor
                for row in (
                    await db.execute(select(WalletTopup).order_by(WalletTopup.id))
                ).scalars()
            ]
            owed = await ledger.account_balance(
                db=db,
                account=AccountRef.refunds_payable(
                    operator_id=payments.operator_id, currency="EUR"
                ),
            )
        assert refunded == [100, 1500]  # newest first: 15.00, then 1.00 of the 10.00
        assert owed.balance_minor == 0
        state = await wallet_state(payments.context, await wallet_id(payments, driver_id))
        assert (state.available, state.ledger_balance) == (0, 0)
        assert await trial_balance_is_zero(payments.context)

    async def test_a_goodwill_only_balance_is_an_operator_payout(self, payments: Payments) -> None:
        driver_id = await add_driver(payments.context, payments.operator_id)
        async with payments.context.unit_of_work() as db:
            await wallets.credit_goodwill(
                db=db,
                operator_id=payments.operator_id,
                driver_id=driver_id,
                amount=eur("3"),
                reason="welcome",
                actor="tests",
                now=payments.clock.now(),
            )
            await db.commit()

        closure = await wallet_topups.close_and_refund(
            context=payments.context,
            provider=payments.runtime.provider,
            operator_id=payments.operator_id,
            driver_id=driver_id,
        )

        assert closure.payout == eur("3")
        async with payments.context.unit_of_work() as db:
            owed = await ledger.account_balance(
                db=db,
                account=AccountRef.refunds_payable(
                    operator_id=payments.operator_id, currency="EUR"
                ),
            )
            with pytest.raises(Conflict):
                await wallets.credit_goodwill(
                    db=db,
                    operator_id=payments.operator_id,
                    driver_id=driver_id,
                    amount=eur("1"),
                    reason="late",
                    actor="tests",
                    now=payments.clock.now(),
                )
        assert owed.balance_minor == -300


async def wallet_id(payments: Payments, driver_id: int) -> int:
    async with payments.context.unit_of_work() as db:
        view = await wallets.get_wallet(
            db=db, operator_id=payments.operator_id, driver_id=driver_id
        )
    assert view is not None
    return view.wallet_id
