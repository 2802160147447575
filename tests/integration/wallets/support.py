"""Arrange steps and reads of the wallet tests: a driver with a funded wallet, and what the
wallet row says next to what the ledger says."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from evbilling.infra.context import ServiceContext
from evbilling.ledger import service as ledger
from evbilling.ledger.domain import AccountRef
from evbilling.models import Wallet, WalletReservation
from evbilling.money import Money
from evbilling.wallets import service as wallets
from tests.integration.arrange import add_driver


def eur(amount: str) -> Money:
    return Money.of(amount, "EUR")


async def funded_wallet(
    context: ServiceContext, operator_id: int, amount: str = "20"
) -> tuple[int, int]:
    """A new driver whose wallet got a goodwill credit of `amount` EUR: (driver, wallet)."""
    driver_id = await add_driver(context, operator_id)
    async with context.unit_of_work() as db:
        await wallets.credit_goodwill(
            db=db,
            operator_id=operator_id,
            driver_id=driver_id,
            amount=eur(amount),
            reason="welcome credit",
            actor="tests",
            now=context.clock.now(),
        )
        wallet = await wallets.get_wallet(db=db, operator_id=operator_id, driver_id=driver_id)
        await db.commit()
    assert wallet is not None
    return driver_id, wallet.wallet_id


@dataclass(frozen=True, slots=True)
class WalletState:
    available: int  # the wallet row's cache
    reserved: int
    live_reservations: int  # sum of live reservation rows
    ledger_balance: int  # the wallet account's posted balance, as the driver sees it (>= 0)
    ledger_pending: int  # the wallet account's pending debits (the reservations' holds)

    @property
    def cache_matches_ledger(self) -> bool:
        return (
            self.available + self.reserved == self.ledger_balance
            and self.reserved == self.ledger_pending == self.live_reservations
            and self.available >= 0
        )


async def wallet_state(context: ServiceContext, wallet_id: int) -> WalletState:
    async with context.unit_of_work() as db:
        wallet = await db.get_one(Wallet, wallet_id)
        live = (
            await db.execute(
                select(WalletReservation.amount_minor).where(
                    WalletReservation.wallet_id == wallet_id, WalletReservation.status == "live"
                )
            )
        ).scalars()
        balance = await ledger.account_balance(
            db=db, account=AccountRef.wallet(driver_id=wallet.driver_id, currency=wallet.currency)
        )
        return WalletState(
            available=wallet.available_minor,
            reserved=wallet.reserved_minor,
            live_reservations=sum(live),
            ledger_balance=-balance.balance_minor,
            ledger_pending=balance.debits_pending,
        )


async def trial_balance_is_zero(context: ServiceContext) -> bool:
    async with context.unit_of_work() as db:
        return all(row.difference == 0 for row in await ledger.trial_balance(db=db))


async def book_sale(context: ServiceContext, session_id: int) -> Money:
    """The session's sale as the settlement dispatch books it before a wallet pays: Dr
    driver_receivable (total) / Cr revenue (net) / Cr vat_payable (per rate)."""
    from evbilling.charging.settlement import get_settlement
    from evbilling.ledger.domain import Line, build_entry

    async with context.unit_of_work() as db:
        settled = await get_settlement(db=db, session_id=session_id)
        assert settled.total is not None
        assert settled.driver_id is not None
        currency = settled.total.currency
        lines = [
            Line.of(
                account=AccountRef.driver_receivable(
                    driver_id=settled.driver_id, currency=currency
                ),
                amount=settled.total,
            ),
            Line.of(
                account=AccountRef.revenue(
                    operator_id=settled.operator_id,
                    location_id=settled.location_id,
                    currency=currency,
                ),
                amount=-sum((p.net for p in settled.portions), Money.zero(currency)),
            ),
            *(
                Line.of(
                    account=AccountRef.vat_payable(
                        operator_id=settled.operator_id, rate=p.rate, currency=currency
                    ),
                    amount=-p.vat,
                )
                for p in settled.portions
                if not p.vat.is_zero()
            ),
        ]
        draft = build_entry(reference=f"sale:session:{session_id}", description="sale", lines=lines)
        await ledger.post_entry(db=db, draft=draft, now=context.clock.now())
        await db.commit()
        return settled.total


async def receivable(context: ServiceContext, driver_id: int) -> int:
    async with context.unit_of_work() as db:
        balance = await ledger.account_balance(
            db=db, account=AccountRef.driver_receivable(driver_id=driver_id, currency="EUR")
        )
        return balance.balance_minor
