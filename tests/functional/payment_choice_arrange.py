"""Arrange steps and reads of the payment-choice tests over OCPP: a priced station, a driver's
wallet, a fleet account, the operator's policy for unlinked tokens, and a charger session
run to its completion (stop, unplug) so the `session.completed` job settles it."""

from __future__ import annotations

from decimal import Decimal

from ocpp.v16 import call
from sqlalchemy import select

from evbilling.infra.context import ServiceContext
from evbilling.ledger import service as ledger
from evbilling.ledger.domain import AccountRef
from evbilling.models import ChargingSession, SessionCharge, Token
from evbilling.money import Money
from evbilling.payments import choice_policy
from evbilling.postpaid import service as postpaid
from evbilling.wallets import service as wallets
from tests.functional.charger import TestCharger


def eur(amount: str) -> Money:
    return Money.of(amount, "EUR")


async def driver_of(context: ServiceContext, token_id: int) -> int:
    async with context.unit_of_work() as db:
        token = await db.get_one(Token, token_id)
        assert token.driver_id is not None
        return token.driver_id


async def prefer(context: ServiceContext, operator_id: int, driver_id: int, how: str) -> None:
    async with context.unit_of_work() as db:
        await choice_policy.set_preference(
            db=db, operator_id=operator_id, driver_id=driver_id, preference=how,
            now=context.clock.now(),
        )  # fmt: skip
        await db.commit()


async def fund_wallet(
    context: ServiceContext, operator_id: int, driver_id: int, amount: str
) -> None:
    async with context.unit_of_work() as db:
        await wallets.credit_goodwill(
            db=db, operator_id=operator_id, driver_id=driver_id, amount=eur(amount),
            reason="welcome credit", actor="tests", now=context.clock.now(),
        )  # fmt: skip
        await db.commit()


async def wallet_available(context: ServiceContext, operator_id: int, driver_id: int) -> Money:
    async with context.unit_of_work() as db:
        wallet = await wallets.get_wallet(db=db, operator_id=operator_id, driver_id=driver_id)
    assert wallet is not None
    return wallet.available


async def fleet_account(
    context: ServiceContext, operator_id: int, token_id: int, *, limit: str
) -> int:
    """A postpaid account with `limit` of credit, the token its fleet card."""
    now = context.clock.now()
    async with context.unit_of_work() as db:
        account = await postpaid.create_account(
            db=db, operator_id=operator_id, name="Taxi fleet", currency="EUR",
            credit_limit=eur(limit), now=now,
        )  # fmt: skip
        await postpaid.link_token(
            db=db, operator_id=operator_id, account_id=account.id, token_id=token_id, now=now
        )
        await db.commit()
        return account.id


async def set_policy(
    context: ServiceContext, operator_id: int, unlinked: str, fee: str | None = None
) -> None:
    async with context.unit_of_work() as db:
        await choice_policy.set_policy(
            db=db, operator_id=operator_id, unlinked=unlinked,
            fee_amount=Decimal(fee) if fee is not None else None,
            fee_currency="EUR" if fee is not None else None, now=context.clock.now(),
        )  # fmt: skip
        await db.commit()


async def charge_and_leave(station: TestCharger, card: str, *, wh: int) -> tuple[str, str]:
    """Authorize, start, charge `wh`, stop and unplug; the Authorize's and the start's
    statuses."""
    authorized = await station.call(call.Authorize(id_tag=card))
    started = await station.start_tx(card, meter_start=0, minutes=0)
    await station.meter(started.transaction_id, wh, minutes=30)
    await station.stop_tx(started.transaction_id, wh, minutes=31, id_tag=card)
    for status, minutes in (("Finishing", 31), ("Available", 32)):
        await station.call(
            call.StatusNotification(
                connector_id=1, error_code="NoError", status=status,
                timestamp=station.stamp(minutes),
            )
        )  # fmt: skip
    return authorized.id_tag_info["status"], started.id_tag_info["status"]


async def only_session(context: ServiceContext) -> ChargingSession:
    async with context.unit_of_work() as db:
        rows = list((await db.execute(select(ChargingSession))).scalars())
    assert len(rows) == 1, rows
    return rows[0]


async def charge_of(context: ServiceContext, session_id: int) -> SessionCharge | None:
    async with context.unit_of_work() as db:
        return (
            await db.execute(select(SessionCharge).where(SessionCharge.session_id == session_id))
        ).scalar_one_or_none()


async def balance(context: ServiceContext, account: AccountRef) -> int:
    async with context.unit_of_work() as db:
        return (await ledger.account_balance(db=db, account=account)).balance_minor


async def balanced(context: ServiceContext) -> bool:
    async with context.unit_of_work() as db:
        return all(row.difference == 0 for row in await ledger.trial_balance(db=db))
