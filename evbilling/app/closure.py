"""Closing a driver's account: every slice's part, then the account's own.

This is the hook other slices extend: a slice whose objects must be settled when a driver
leaves adds its step before the account's own. The wallet comes first: its unused balance
goes back to the cards it was topped up from, through the provider (each refund's
idempotency key stored before its call, no transaction open during it); what no card can
take back is left owed to the driver as an operator payout (docs/wallets.md). A wallet a
running session still holds money of is refused (409), and the account stays open.
"""

from __future__ import annotations

from evbilling.access.driver_caller import DriverCaller
from evbilling.drivers import accounts
from evbilling.infra.context import ServiceContext
from evbilling.payments.psp import PaymentProvider
from evbilling.payments.wallet_topups import close_and_refund
from evbilling.wallets import service as wallets
from evbilling.wallets.domain import WalletStatus


async def close_driver_account(
    *, context: ServiceContext, provider: PaymentProvider | None, caller: DriverCaller
) -> None:
    async with context.unit_of_work() as db:
        wallet = await wallets.get_wallet(
            db=db, operator_id=caller.operator_id, driver_id=caller.driver_id
        )
    if wallet is not None and wallet.status is WalletStatus.OPEN:
        if provider is not None:
            await close_and_refund(
                context=context,
                provider=provider,
                operator_id=caller.operator_id,
                driver_id=caller.driver_id,
            )
        else:  # no card payments here: the whole balance is an operator payout
            async with context.unit_of_work() as db:
                await wallets.close_wallet(
                    db=db,
                    operator_id=caller.operator_id,
                    driver_id=caller.driver_id,
                    now=context.clock.now(),
                )
                await db.commit()
    async with context.unit_of_work() as db:
        await accounts.close_account(db=db, account_id=caller.account_id, now=context.clock.now())
        await db.commit()
