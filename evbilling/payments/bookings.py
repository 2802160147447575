"""The ledger entries of card payments (each idempotent on its reference):

- hold:       pending transfer Dr psp_clearing / Cr driver_receivable (the amount authorized)
- sale:       Dr driver_receivable total / Cr revenue net per location / Cr vat_payable per rate
              (a session without a driver: Dr written_off instead)
- capture:    the hold's pending transfer posted with the amount captured (the rest released);
              voided when nothing is captured
- refund:     Dr revenue / Dr vat_payable (the refund's share) / Cr refunds_payable, in the
              transaction that records the refund; once the provider paid it:
              Dr refunds_payable / Cr psp_clearing; a refund the provider refused is reversed
- write-off:  Dr written_off / Cr driver_receivable
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from evbilling.ledger import domain as ledger_domain
from evbilling.ledger import service as ledger
from evbilling.ledger.domain import AccountRef, Line
from evbilling.models import Payment, PaymentRefund, SessionCharge
from evbilling.payments.domain import Portion


def portions_of(charge: SessionCharge) -> list[Portion]:
    return [
        Portion(
            rate=Decimal(str(item["rate"])),
            net_minor=int(item["net_minor"]),
            vat_minor=int(item["vat_minor"]),
        )
        for item in charge.portions
    ]


async def book_hold(*, db: AsyncSession, payment: Payment, now: datetime) -> int:
    pending = await ledger.open_pending(
        db=db,
        reference=f"hold:{payment.id}",
        debit=AccountRef.psp_clearing(provider=payment.provider, currency=payment.currency),
        credit=AccountRef.driver_receivable(driver_id=payment.driver_id, currency=payment.currency),
        amount_minor=payment.authorized_minor,
        now=now,
        expires_at=payment.capture_before,
    )
    return pending.id


async def rebook_hold(*, db: AsyncSession, payment: Payment, now: datetime) -> int:
    """After an increment: the hold's pending transfer voided and one opened for the new
    authorized amount (references name the amount, so each increment books once)."""
    if payment.ledger_pending_id is not None:
        await ledger.void_pending(
            db=db,
            pending_id=payment.ledger_pending_id,
            reference=f"increment:hold:{payment.id}:{payment.authorized_minor}",
            now=now,
        )
    pending = await ledger.open_pending(
        db=db,
        reference=f"hold:{payment.id}:{payment.authorized_minor}",
        debit=AccountRef.psp_clearing(provider=payment.provider, currency=payment.currency),
        credit=AccountRef.driver_receivable(driver_id=payment.driver_id, currency=payment.currency),
        amount_minor=payment.authorized_minor,
        now=now,
        expires_at=payment.capture_before,
    )
    return pending.id


async def book_capture(
    *, db: AsyncSession, payment: Payment, amount_minor: int, now: datetime
) -> None:
    assert payment.ledger_pending_id is not None, "a captured hold was booked when authorized"
    await ledger.post_pending(
        db=db,
        pending_id=payment.ledger_pending_id,
        amount_minor=amount_minor,
        reference=f"capture:hold:{payment.id}",
        now=now,
    )


async def book_release(*, db: AsyncSession, payment: Payment, now: datetime) -> None:
    if payment.ledger_pending_id is None:
        return  # never authorized: nothing was booked
    await ledger.void_pending(
        db=db,
        pending_id=payment.ledger_pending_id,
        reference=f"release:hold:{payment.id}",
        now=now,
    )


def _sale_credits(
    *, operator_id: int, location_id: int | None, currency: str, portions: Sequence[Portion]
) -> list[Line]:
    lines: list[Line] = []
    net = sum(portion.net_minor for portion in portions)
    if net:
        revenue = AccountRef.revenue(
            operator_id=operator_id, location_id=location_id, currency=currency
        )
        lines.append(Line(account=revenue, amount_minor=-net))
    for portion in portions:
        if portion.vat_minor:
            vat = AccountRef.vat_payable(
                operator_id=operator_id, rate=portion.rate, currency=currency
            )
            lines.append(Line(account=vat, amount_minor=-portion.vat_minor))
    return lines


async def book_sale(*, db: AsyncSession, charge: SessionCharge, now: datetime) -> None:
    if charge.total_minor == 0:
        return
    if charge.driver_id is not None:
        payer = AccountRef.driver_receivable(driver_id=charge.driver_id, currency=charge.currency)
    else:
        payer = AccountRef.written_off(operator_id=charge.operator_id, currency=charge.currency)
    lines = [
        Line(account=payer, amount_minor=charge.total_minor),
        *_sale_credits(
            operator_id=charge.operator_id,
            location_id=charge.location_id,
            currency=charge.currency,
            portions=portions_of(charge),
        ),
    ]
    draft = ledger_domain.build_entry(
        reference=f"sale:session:{charge.session_id}",
        description=f"charging session {charge.session_id}",
        lines=lines,
    )
    await ledger.post_entry(db=db, draft=draft, now=now)


async def book_refund(
    *,
    db: AsyncSession,
    refund: PaymentRefund,
    charge: SessionCharge,
    split: Sequence[Portion],
    now: datetime,
) -> int:
    """The refund's entry (its id; posting it again returns the same entry)."""
    debits = [
        Line(account=line.account, amount_minor=-line.amount_minor)
        for line in _sale_credits(
            operator_id=charge.operator_id,
            location_id=charge.location_id,
            currency=charge.currency,
            portions=split,
        )
    ]
    owed = AccountRef.refunds_payable(operator_id=charge.operator_id, currency=charge.currency)
    draft = ledger_domain.build_entry(
        reference=f"refund:{refund.id}",
        description=f"refund {refund.id} of payment {refund.payment_id}",
        lines=[*debits, Line(account=owed, amount_minor=-refund.amount_minor)],
    )
    return (await ledger.post_entry(db=db, draft=draft, now=now)).id


async def book_refund_paid(
    *, db: AsyncSession, refund: PaymentRefund, operator_id: int, now: datetime
) -> None:
    currency = refund.currency
    draft = ledger_domain.build_entry(
        reference=f"refund-paid:{refund.id}",
        description=f"refund {refund.id} paid by {refund.provider}",
        lines=[
            Line(
                account=AccountRef.refunds_payable(operator_id=operator_id, currency=currency),
                amount_minor=refund.amount_minor,
            ),
            Line(
                account=AccountRef.psp_clearing(provider=refund.provider, currency=currency),
                amount_minor=-refund.amount_minor,
            ),
        ],
    )
    await ledger.post_entry(db=db, draft=draft, now=now)


async def book_refund_failed(
    *,
    db: AsyncSession,
    refund: PaymentRefund,
    charge: SessionCharge,
    split: Sequence[Portion],
    now: datetime,
) -> None:
    """The provider refused the refund: the refund's entry (found by posting it again, which
    is idempotent) is reversed."""
    entry_id = await book_refund(db=db, refund=refund, charge=charge, split=split, now=now)
    await ledger.reverse_entry(
        db=db, entry_id=entry_id, reference=f"refund-failed:{refund.id}", now=now
    )


async def book_write_off(
    *, db: AsyncSession, charge: SessionCharge, amount_minor: int, now: datetime
) -> None:
    assert charge.driver_id is not None
    count = charge.written_off_minor  # distinct references for successive write-offs
    draft = ledger_domain.build_entry(
        reference=f"write-off:session:{charge.session_id}:{count}",
        description=f"receivable of session {charge.session_id} written off",
        lines=[
            Line(
                account=AccountRef.written_off(
                    operator_id=charge.operator_id, currency=charge.currency
                ),
                amount_minor=amount_minor,
            ),
            Line(
                account=AccountRef.driver_receivable(
                    driver_id=charge.driver_id, currency=charge.currency
                ),
                amount_minor=-amount_minor,
            ),
        ],
    )
    await ledger.post_entry(db=db, draft=draft, now=now)


async def book_token_fee(
    *,
    db: AsyncSession,
    charge: SessionCharge,
    token_id: int,
    now: datetime,
) -> None:
    """A fixed fee of a token linked to nobody: Dr token_receivable the fee (incl. VAT) / Cr
    revenue net / Cr vat_payable (docs/payment-choice.md)."""
    if charge.total_minor == 0:
        return
    payer = AccountRef.token_receivable(token_id=token_id, currency=charge.currency)
    lines = [
        Line(account=payer, amount_minor=charge.total_minor),
        *_sale_credits(
            operator_id=charge.operator_id,
            location_id=charge.location_id,
            currency=charge.currency,
            portions=portions_of(charge),
        ),
    ]
    draft = ledger_domain.build_entry(
        reference=f"fee:session:{charge.session_id}",
        description=f"fixed fee of charging session {charge.session_id}",
        lines=lines,
    )
    await ledger.post_entry(db=db, draft=draft, now=now)
