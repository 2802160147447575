"""Closing a driver's account: every slice's part, then the account's own.

This is the hook other slices extend: a slice whose objects must be settled when a driver
leaves (a wallet refunded, a payment preference cleared) adds one awaited line before the
account's own step, in the same transaction.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from evbilling.access.driver_caller import DriverCaller
from evbilling.drivers import accounts


async def close_driver_account(*, db: AsyncSession, caller: DriverCaller, now: datetime) -> None:
    # Other slices' steps go here, one line each, e.g.
    #   await wallets.close_wallet(db=db, operator_id=caller.operator_id,
    #                              driver_id=caller.driver_id, now=now)
    await accounts.close_account(db=db, account_id=caller.account_id, now=now)
