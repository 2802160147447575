"""Arrange helpers of the ledger's tests: accounts and entries booked through the service,
each in its own committed unit of work."""

from __future__ import annotations

from decimal import Decimal

from evbilling.infra.context import ServiceContext
from evbilling.ledger import service as ledger
from evbilling.ledger.domain import AccountRef, Line, PostedEntry, build_entry

EUR = "EUR"
CLEARING = AccountRef.psp_clearing(provider="sandbox", currency=EUR)
RECEIVABLE = AccountRef.driver_receivable(driver_id=1, currency=EUR)
REVENUE = AccountRef.revenue(operator_id=1, location_id=None, currency=EUR)
VAT = AccountRef.vat_payable(operator_id=1, rate=Decimal("19"), currency=EUR)


def sale(reference: str, *, net: int = 1000, vat: int = 190) -> tuple[Line, ...]:
    return (
        Line(RECEIVABLE, net + vat),
        Line(REVENUE, -net),
        Line(VAT, -vat),
    )


async def post(context: ServiceContext, reference: str, lines: tuple[Line, ...]) -> PostedEntry:
    async with context.unit_of_work() as db:
        entry = await ledger.post_entry(
            db=db,
            draft=build_entry(reference=reference, description="test", lines=lines),
            now=context.clock.now(),
        )
        await db.commit()
    return entry


async def balance_of(context: ServiceContext, account: AccountRef) -> ledger.AccountBalance:
    async with context.unit_of_work() as db:
        return await ledger.account_balance(db=db, account=account)
