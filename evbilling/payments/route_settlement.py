"""Settling a completed session that is not paid by card (docs/payment-choice.md): one unit
of work, no provider call. The session's charge says how it was paid (`payment_kind`).

- wallet: the sale booked as for a card (Dr driver_receivable), then the reservation settled
  (`wallets.service.settle_reservation`: min(total, reserved) from the wallet, the rest
  released); what the wallet did not cover stays owed by the driver;
- postpaid: the sale booked to the account's receivable (`postpaid.accrual.accrue_session`);
  owed through the account's statement, not by the driver;
- free: priced for the record (the session keeps its cost), not charged: the charge is 0;
- fixed fee: the operator's fee (incl. VAT, at the VAT rate of the session's priced lines, 0
  without one) booked to the token's receivable.

A session that delivered no energy costs nothing (a failed start), except on a postpaid
account, whose accrual books the session as priced.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from evbilling.access.repository import OperatorRepository
from evbilling.charging.settlement import SessionSettlement
from evbilling.models import SessionCharge
from evbilling.money import Money
from evbilling.payments import bookings
from evbilling.payments.choice import fee_of
from evbilling.payments.choice_rules import PaymentRoute, fee_split
from evbilling.payments.domain import ChargeStatus, ShortfallReason
from evbilling.payments.repository import ChargeRepository
from evbilling.payments.service import minor
from evbilling.postpaid.accrual import accrue_session
from evbilling.wallets import service as wallets

__all__ = ["ROUTES", "settle_route"]

ROUTES = frozenset(
    {PaymentRoute.WALLET, PaymentRoute.POSTPAID, PaymentRoute.FREE, PaymentRoute.FIXED_FEE}
)


def _charge(
    settlement: SessionSettlement,
    *,
    kind: PaymentRoute,
    currency: str,
    total_minor: int,
    portions: list[dict[str, object]],
    now: datetime,
) -> SessionCharge:
    return SessionCharge(
        operator_id=settlement.operator_id,
        session_id=settlement.session_id,
        driver_id=settlement.driver_id,
        payment_id=None,
        location_id=settlement.location_id,
        currency=currency,
        total_minor=total_minor,
        portions=portions,
        capture_minor=0,
        captured_minor=0,
        receivable_minor=0,
        written_off_minor=0,
        shortfall_reason=ShortfallReason.NONE.value,
        status=ChargeStatus.SETTLED.value,
        capture_failures=0,
        payment_kind=kind.value,
        created_at=now,
        updated_at=now,
    )


async def settle_route(
    *, db: AsyncSession, settlement: SessionSettlement, now: datetime
) -> SessionCharge:
    """The session's charge for a route in ROUTES, settled with its ledger entries."""
    kind = PaymentRoute(settlement.payment_kind or PaymentRoute.CARD.value)
    # The account's accrual books what the session was priced at (its statement shows it).
    charged = settlement.billable and (settlement.energy_wh > 0 or kind is PaymentRoute.POSTPAID)
    total = settlement.total if charged else None
    currency = total.currency if total is not None else (settlement.currency or "EUR")
    portions: list[dict[str, object]] = [
        {"rate": str(p.rate), "net_minor": minor(p.net), "vat_minor": minor(p.vat)}
        for p in (settlement.portions if total is not None else ())
    ]
    total_minor = minor(total) if total is not None else 0
    charges = ChargeRepository(db)
    if kind is PaymentRoute.FREE:
        charge = charges.add(
            _charge(settlement, kind=kind, currency=currency, total_minor=0, portions=[], now=now)
        )
        await db.flush()
        return charge
    if kind is PaymentRoute.FIXED_FEE:
        return await _fixed_fee(db=db, settlement=settlement, charged=charged, now=now)
    charge = charges.add(
        _charge(
            settlement,
            kind=kind,
            currency=currency,
            total_minor=total_minor,
            portions=portions,
            now=now,
        )
    )
    await db.flush()
    if kind is PaymentRoute.POSTPAID:
        await accrue_session(db=db, session_id=settlement.session_id, now=now)
        charge.receivable_minor = total_minor  # owed by the account, on its statement
    else:
        await bookings.book_sale(db=db, charge=charge, now=now)
        owed = Money.from_minor_units(total_minor, currency)
        posted = await wallets.settle_reservation(
            db=db, session_id=settlement.session_id, total=owed, now=now
        )
        charge.captured_minor = min(minor(posted), total_minor)
        charge.receivable_minor = total_minor - charge.captured_minor
        if charge.receivable_minor > 0:
            charge.shortfall_reason = (
                ShortfallReason.ABOVE_HOLD.value
                if charge.captured_minor
                else ShortfallReason.NO_HOLD.value
            )
    await db.flush()
    return charge


async def _fixed_fee(
    *, db: AsyncSession, settlement: SessionSettlement, charged: bool, now: datetime
) -> SessionCharge:
    operator = await OperatorRepository(db).get(id=settlement.operator_id)
    fee = fee_of(operator) if operator is not None and charged else None
    if fee is None or settlement.token_id is None:
        currency = settlement.currency or "EUR"
        charge = ChargeRepository(db).add(
            _charge(
                settlement,
                kind=PaymentRoute.FIXED_FEE,
                currency=currency,
                total_minor=0,
                portions=[],
                now=now,
            )
        )
        await db.flush()
        return charge
    rate = max((p.rate for p in settlement.portions), default=Decimal(0))
    net, vat = fee_split(fee=fee, vat_percent=rate)
    charge = ChargeRepository(db).add(
        _charge(
            settlement,
            kind=PaymentRoute.FIXED_FEE,
            currency=fee.currency,
            total_minor=net + vat,
            portions=[{"rate": str(rate), "net_minor": net, "vat_minor": vat}],
            now=now,
        )
    )
    charge.receivable_minor = net + vat  # owed by the token's holder
    await db.flush()
    await bookings.book_token_fee(db=db, charge=charge, token_id=settlement.token_id, now=now)
    return charge
