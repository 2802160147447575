"""Monthly statements: an account's sessions completed in [period_start, period_end) (UTC),
their sums per VAT rate, and the receivable's opening balance, charges, payments and closing
balance over the period, as the ledger booked them. Issued once and never changed: building
the statement of a period issued already returns it as issued. The running month can be
previewed: composed the same way up to now, never stored."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from evbilling.infra.db.repository import OffsetPage, PageRequest
from evbilling.infra.validation import check_page
from evbilling.ledger.domain import AccountRef
from evbilling.models import PostpaidAccount, PostpaidStatement, PostpaidStatementLine
from evbilling.postpaid.domain import (
    StatementNotFound,
    check_period,
    month_of,
    rate_key,
    sums_per_rate,
)
from evbilling.postpaid.repository import (
    ExposureRepository,
    StatementRepository,
    receivable_movements,
)
from evbilling.postpaid.service import get_account


@dataclass(frozen=True, slots=True)
class Statement:
    statement: PostpaidStatement
    lines: list[PostpaidStatementLine]
    paid_minor: int  # payments received against this statement

    @property
    def due_minor(self) -> int:
        return max(self.statement.closing_balance_minor - self.paid_minor, 0)


async def build_statement(
    *,
    db: AsyncSession,
    operator_id: int,
    account_id: int,
    period_start: datetime,
    period_end: datetime,
    now: datetime,
) -> Statement:
    account = await get_account(db=db, operator_id=operator_id, account_id=account_id)
    check_period(period_start=period_start, period_end=period_end, now=now)
    statements = StatementRepository(db)
    issued = await statements.for_period(account_id=account.id, start=period_start)
    if issued is not None:
        return await _statement(db, row=issued)
    row, lines = await _compose(
        db, account=account, period_start=period_start, period_end=period_end, now=now
    )
    statements.add(row)
    await statements.flush()  # a concurrent issuer of the same period: DuplicateRow
    for line in lines:
        line.statement_id = row.id
        db.add(line)
    await db.flush()
    return Statement(statement=row, lines=lines, paid_minor=0)


async def preview_statement(
    *, db: AsyncSession, operator_id: int, account_id: int, now: datetime
) -> Statement:
    """The running month so far, [first of the month, now), composed as its statement will
    be but neither stored nor issued: what the account owes for this month until now."""
    account = await get_account(db=db, operator_id=operator_id, account_id=account_id)
    period_start, _ = month_of(now)
    row, lines = await _compose(
        db, account=account, period_start=period_start, period_end=now, now=now
    )
    return Statement(statement=row, lines=lines, paid_minor=0)


async def _compose(
    db: AsyncSession,
    *,
    account: PostpaidAccount,
    period_start: datetime,
    period_end: datetime,
    now: datetime,
) -> tuple[PostpaidStatement, list[PostpaidStatementLine]]:
    """The statement of [period_start, period_end) and its lines, not yet added to `db`."""
    found = await ExposureRepository(db).accrued_in(
        account_id=account.id, start=period_start, end=period_end
    )
    lines: list[PostpaidStatementLine] = []
    portions: list[dict[str, object]] = []
    for exposure, session, station in found:
        parts = list(exposure.portions or [])
        portions += parts
        stopped = session.stopped_at
        lines.append(
            PostpaidStatementLine(
                session_id=session.id,
                driver_id=session.driver_id,
                station=station,
                started_at=session.started_at,
                stopped_at=stopped,
                duration_s=int((stopped - session.started_at).total_seconds()) if stopped else 0,
                energy_wh=session.energy_wh or 0,
                net_minor=sum(int(part["net_minor"]) for part in parts),
                vat_minor=sum(int(part["vat_minor"]) for part in parts),
                total_minor=exposure.accrued_minor or 0,
                portions=parts,
            )
        )
    ref = AccountRef.postpaid_receivable(account_id=account.id, currency=account.currency)
    opening, charges, payments = await receivable_movements(
        db, ref=ref, start=period_start, end=period_end
    )
    row = PostpaidStatement(
        operator_id=account.operator_id,
        account_id=account.id,
        period_start=period_start,
        period_end=period_end,
        currency=account.currency,
        session_count=len(lines),
        energy_wh=sum(line.energy_wh for line in lines),
        net_minor=sum(line.net_minor for line in lines),
        vat_minor=sum(line.vat_minor for line in lines),
        total_minor=sum(line.total_minor for line in lines),
        vat_summary=[
            {
                "rate": rate_key(rate.rate),
                "net_minor": rate.net_minor,
                "vat_minor": rate.vat_minor,
                "total_minor": rate.total_minor,
            }
            for rate in sums_per_rate(portions)
        ],
        opening_balance_minor=opening,
        charges_minor=charges,
        payments_minor=payments,
        closing_balance_minor=opening + charges - payments,
        issued_at=now,
    )
    return row, lines


async def _statement(db: AsyncSession, *, row: PostpaidStatement) -> Statement:
    repo = StatementRepository(db)
    return Statement(
        statement=row,
        lines=await repo.lines(statement_id=row.id),
        paid_minor=await repo.paid_minor(statement_id=row.id),
    )


async def get_statement(
    *, db: AsyncSession, operator_id: int, account_id: int, statement_id: int
) -> Statement:
    await get_account(db=db, operator_id=operator_id, account_id=account_id)
    row = await StatementRepository(db).get(id=statement_id, owner_id=operator_id)
    if row is None or row.account_id != account_id:
        raise StatementNotFound(statement_id)
    return await _statement(db, row=row)


async def list_statements(
    *, db: AsyncSession, operator_id: int, account_id: int, page: PageRequest = PageRequest()
) -> OffsetPage[PostpaidStatement]:
    check_page(page)
    await get_account(db=db, operator_id=operator_id, account_id=account_id)
    return await StatementRepository(db).of_account(
        operator_id=operator_id, account_id=account_id, limit=page.limit, offset=page.offset
    )
