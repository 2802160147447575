"""Steps shared by the payment tests: a whole card session, and reads of what it left."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select

from evbilling.ledger import service as ledger
from evbilling.ledger.domain import AccountRef
from evbilling.models import Payment, ProviderCall, SessionCharge
from evbilling.payments.card_flow import HoldDecision, attach_session
from tests.integration.payments.support import (
    SUCCESS,
    Payments,
    add_site,
    complete_session,
    enqueue_completed,
    start_session,
)


@dataclass(frozen=True, slots=True)
class CardSession:
    station_id: int
    driver_id: int
    session_id: int
    decision: HoldDecision


async def card_session(
    payments: Payments,
    *,
    total: str,
    card: str = SUCCESS,
    price: str = "0.40",
    identity: str = "CP-1",
    settle: bool = True,
    energy_wh: int | None = None,
) -> CardSession:
    """A driver saves `card`, is held at Authorize, charges, and the session completes at
    `total` EUR; with `settle`, the session.completed job runs and webhooks are delivered."""
    station_id, driver_id = await add_site(
        payments.context, payments.operator_id, price=price, identity=identity
    )
    await payments.save_card(driver_id, card)
    decision = await payments.hold(driver_id=driver_id, station_id=station_id)
    session_id = await start_session(
        payments.context,
        operator_id=payments.operator_id,
        station_id=station_id,
        driver_id=driver_id,
    )
    async with payments.context.unit_of_work() as db:
        await attach_session(db=db, session_id=session_id, now=payments.clock.now())
        await db.commit()
    await complete_session(
        payments.context, session_id=session_id, total=total, energy_wh=energy_wh
    )
    await enqueue_completed(payments.context, session_id=session_id)
    if settle:
        await payments.run_jobs()
        await payments.drain()
    return CardSession(station_id, driver_id, session_id, decision)


async def payment_of(payments: Payments, session_id: int) -> Payment:
    async with payments.context.unit_of_work() as db:
        return (
            await db.execute(select(Payment).where(Payment.session_id == session_id))
        ).scalar_one()


async def charge_of(payments: Payments, session_id: int) -> SessionCharge:
    async with payments.context.unit_of_work() as db:
        return (
            await db.execute(select(SessionCharge).where(SessionCharge.session_id == session_id))
        ).scalar_one()


async def balance(payments: Payments, account: AccountRef) -> int:
    async with payments.context.unit_of_work() as db:
        return (await ledger.account_balance(db=db, account=account)).balance_minor


async def receivable(payments: Payments, driver_id: int) -> int:
    return await balance(
        payments, AccountRef.driver_receivable(driver_id=driver_id, currency="EUR")
    )


async def clearing(payments: Payments) -> int:
    return await balance(payments, AccountRef.psp_clearing(provider="sandbox", currency="EUR"))


async def trial_balance_is_zero(payments: Payments) -> bool:
    async with payments.context.unit_of_work() as db:
        return all(row.difference == 0 for row in await ledger.trial_balance(db=db))


async def calls(payments: Payments, operation: str) -> int:
    async with payments.context.unit_of_work() as db:
        return int(
            (
                await db.execute(select(func.count()).where(ProviderCall.operation == operation))
            ).scalar_one()
        )
