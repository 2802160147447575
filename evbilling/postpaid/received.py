"""Money received for a postpaid account (docs/postpaid.md):

- a bank transfer an operator marks: Dr bank operator:{op} / Cr postpaid_receivable, booked
  at once; one bank reference is marked once per account (again: PaymentAlreadyRecorded);
- a card payment of a statement (payments/postpaid_charges.py calls the provider): a pending
  payment row first, then, once captured, Dr psp_clearing / Cr postpaid_receivable.

A payment may exceed what is owed: the receivable then goes below zero and the surplus is
credit (the next sessions use it first, the credit check counts it).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from evbilling.infra.db.repository import OffsetPage, PageRequest
from evbilling.infra.validation import MAX_NAME_LENGTH, check_page, price, required_text
from evbilling.kit.errors import InvalidRequest
from evbilling.ledger import domain as ledger_domain
from evbilling.ledger import service as ledger
from evbilling.ledger.domain import AccountRef, Line
from evbilling.models import PostpaidAccount, PostpaidPayment
from evbilling.money import InvalidAmount, Money
from evbilling.postpaid.domain import (
    MAX_CREDIT_LIMIT,
    MAX_REFERENCE_LENGTH,
    PaymentAlreadyRecorded,
    PaymentMethod,
    PaymentStatus,
    StatementNotFound,
)
from evbilling.postpaid.repository import PaymentRepository, StatementRepository
from evbilling.postpaid.service import get_account

# One payment is at most this many units of the currency.
MAX_PAYMENT = MAX_CREDIT_LIMIT


def payment_minor(value: object, *, currency: str, field: str = "amount") -> int:
    if isinstance(value, Money):
        if value.currency != currency:
            raise InvalidRequest(f"the account is in {currency}", field=field)
        value = value.amount
    amount = price(value, field=field, maximum=MAX_PAYMENT)
    try:
        minor = Money.of(amount, currency).minor_units()
    except InvalidAmount as exc:
        raise InvalidRequest(f"more precise than {currency} allows", field=field) from exc
    if minor <= 0:
        raise InvalidRequest("must be more than zero", field=field)
    return minor


async def _account_and_statement(
    db: AsyncSession, *, operator_id: int, account_id: int, statement_id: int | None
) -> PostpaidAccount:
    account = await get_account(db=db, operator_id=operator_id, account_id=account_id)
    if statement_id is not None:
        row = await StatementRepository(db).get(id=statement_id, owner_id=operator_id)
        if row is None or row.account_id != account_id:
            raise StatementNotFound(statement_id)
    return account


async def mark_bank_transfer(
    *,
    db: AsyncSession,
    operator_id: int,
    account_id: int,
    amount: Money | object,
    reference: str,
    now: datetime,
    statement_id: int | None = None,
    actor: str | None = None,
) -> PostpaidPayment:
    """A bank transfer received, booked Dr bank / Cr postpaid_receivable."""
    account = await _account_and_statement(
        db, operator_id=operator_id, account_id=account_id, statement_id=statement_id
    )
    minor = payment_minor(amount, currency=account.currency)
    text = required_text(reference, field="reference", max_length=MAX_REFERENCE_LENGTH)
    payments = PaymentRepository(db)
    method = PaymentMethod.BANK_TRANSFER.value
    if await payments.by_reference(account_id=account.id, method=method, reference=text):
        raise PaymentAlreadyRecorded(f"bank transfer {text!r} was marked for this account")
    row = payments.add(
        PostpaidPayment(
            operator_id=operator_id,
            account_id=account.id,
            statement_id=statement_id,
            method=method,
            reference=text,
            currency=account.currency,
            amount_minor=minor,
            status=PaymentStatus.SUCCEEDED.value,
            actor=None if actor is None else actor[:MAX_NAME_LENGTH],
            created_at=now,
            updated_at=now,
        )
    )
    await payments.flush()
    await book_received(
        db=db,
        payment=row,
        debit=AccountRef.bank(operator_id=operator_id, currency=account.currency),
        now=now,
    )
    return row


async def book_received(
    *, db: AsyncSession, payment: PostpaidPayment, debit: AccountRef, now: datetime
) -> None:
    receivable = AccountRef.postpaid_receivable(
        account_id=payment.account_id, currency=payment.currency
    )
    draft = ledger_domain.build_entry(
        reference=f"postpaid-payment:{payment.id}",
        description=f"{payment.method} {payment.reference} for postpaid account "
        f"{payment.account_id}",
        lines=[
            Line(account=debit, amount_minor=payment.amount_minor),
            Line(account=receivable, amount_minor=-payment.amount_minor),
        ],
    )
    await ledger.post_entry(db=db, draft=draft, now=now)


async def list_payments(
    *, db: AsyncSession, operator_id: int, account_id: int, page: PageRequest = PageRequest()
) -> OffsetPage[PostpaidPayment]:
    check_page(page)
    await get_account(db=db, operator_id=operator_id, account_id=account_id)
    return await PaymentRepository(db).of_account(
        operator_id=operator_id, account_id=account_id, limit=page.limit, offset=page.offset
    )
