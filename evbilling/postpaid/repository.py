"""The SQL of postpaid accounts: accounts (scoped to the operator), their sessions' exposure
and accruals, statements and payments, and the receivable's ledger lines over a period."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, case, func, select

from evbilling.infra.db.repository import OffsetPage, RepositoryBase
from evbilling.ledger.domain import AccountRef, EntryKind
from evbilling.models import (
    ChargingSession,
    LedgerAccount,
    LedgerEntry,
    LedgerLine,
    PostpaidAccount,
    PostpaidExposure,
    PostpaidPayment,
    PostpaidStatement,
    PostpaidStatementLine,
    Station,
)
from evbilling.postpaid.domain import LIVE_EXPOSURE, ExposureStatus


class AccountRepository(RepositoryBase[PostpaidAccount]):
    model = PostpaidAccount
    kind = "postpaid account"

    async def list(
        self, *, operator_id: int, status: str | None, limit: int, offset: int
    ) -> OffsetPage[PostpaidAccount]:
        statement = self.select_owned(owner_id=operator_id)
        if status is not None:
            statement = statement.where(PostpaidAccount.status == status)
        return await self.page(statement, limit=limit, offset=offset)

    async def issuable(self, *, created_before: datetime) -> Sequence[int]:
        """Accounts that existed before `created_before`, in id order (a closed account still
        gets the statement of its last month)."""
        rows = await self.db.scalars(
            select(PostpaidAccount.id)
            .where(PostpaidAccount.created_at < created_before)
            .order_by(PostpaidAccount.id)
        )
        return list(rows)


class ExposureRepository(RepositoryBase[PostpaidExposure]):
    model = PostpaidExposure
    owner_column = None
    kind = "postpaid exposure"

    async def live_of(
        self, *, account_id: int
    ) -> Sequence[tuple[PostpaidExposure, bool, str | None]]:
        """The account's live exposures, oldest first, each with whether its session is still
        charging (False for an open exposure and for a session stopped but not yet accrued)
        and its session's currency (None without a session or a tariff yet)."""
        rows = await self.db.execute(
            select(PostpaidExposure, ChargingSession.stopped_at.is_(None), ChargingSession.currency)
            .outerjoin(ChargingSession, ChargingSession.id == PostpaidExposure.session_id)
            .where(
                PostpaidExposure.account_id == account_id,
                PostpaidExposure.status.in_(LIVE_EXPOSURE),
            )
            .order_by(PostpaidExposure.id)
        )
        return [(row[0], bool(row[1]) and row[0].session_id is not None, row[2]) for row in rows]

    async def open_at(self, *, account_id: int, station_id: int) -> PostpaidExposure | None:
        """The newest exposure of the account at the station that no session took yet."""
        row: PostpaidExposure | None = await self.db.scalar(
            select(PostpaidExposure)
            .where(
                PostpaidExposure.account_id == account_id,
                PostpaidExposure.station_id == station_id,
                PostpaidExposure.status == ExposureStatus.OPEN.value,
            )
            .order_by(PostpaidExposure.id.desc())
            .limit(1)
            .with_for_update()
        )
        return row

    async def for_session(self, *, session_id: int) -> PostpaidExposure | None:
        row: PostpaidExposure | None = await self.db.scalar(
            select(PostpaidExposure).where(PostpaidExposure.session_id == session_id)
        )
        return row

    async def open_before(self, *, before: datetime) -> Sequence[PostpaidExposure]:
        rows = await self.db.scalars(
            select(PostpaidExposure).where(
                PostpaidExposure.status == ExposureStatus.OPEN.value,
                PostpaidExposure.created_at < before,
            )
        )
        return list(rows)

    async def accrued_in(
        self, *, account_id: int, start: datetime, end: datetime
    ) -> list[tuple[PostpaidExposure, ChargingSession, str]]:
        """The account's accrued sessions completed in [start, end), with their station's
        identity, in completion order."""
        rows = await self.db.execute(
            select(PostpaidExposure, ChargingSession, Station.identity)
            .join(ChargingSession, ChargingSession.id == PostpaidExposure.session_id)
            .join(Station, Station.id == ChargingSession.station_id)
            .where(
                PostpaidExposure.account_id == account_id,
                PostpaidExposure.status == ExposureStatus.ACCRUED.value,
                ChargingSession.completed_at >= start,
                ChargingSession.completed_at < end,
            )
            .order_by(ChargingSession.completed_at, ChargingSession.id)
        )
        return [(row[0], row[1], str(row[2])) for row in rows]


class StatementRepository(RepositoryBase[PostpaidStatement]):
    model = PostpaidStatement
    kind = "postpaid statement"

    async def for_period(self, *, account_id: int, start: datetime) -> PostpaidStatement | None:
        row: PostpaidStatement | None = await self.db.scalar(
            select(PostpaidStatement).where(
                PostpaidStatement.account_id == account_id,
                PostpaidStatement.period_start == start,
            )
        )
        return row

    async def of_account(
        self, *, operator_id: int, account_id: int, limit: int, offset: int
    ) -> OffsetPage[PostpaidStatement]:
        statement = self.select_owned(owner_id=operator_id).where(
            PostpaidStatement.account_id == account_id
        )
        return await self.page(statement, limit=limit, offset=offset)

    async def lines(self, *, statement_id: int) -> list[PostpaidStatementLine]:
        rows = await self.db.scalars(
            select(PostpaidStatementLine)
            .where(PostpaidStatementLine.statement_id == statement_id)
            .order_by(PostpaidStatementLine.id)
        )
        return list(rows)

    async def paid_minor(self, *, statement_id: int) -> int:
        value = await self.db.scalar(
            select(func.coalesce(func.sum(PostpaidPayment.amount_minor), 0)).where(
                PostpaidPayment.statement_id == statement_id,
                PostpaidPayment.status == "succeeded",
            )
        )
        return int(value or 0)


class PaymentRepository(RepositoryBase[PostpaidPayment]):
    model = PostpaidPayment
    kind = "postpaid payment"

    async def by_reference(
        self, *, account_id: int, method: str, reference: str
    ) -> PostpaidPayment | None:
        row: PostpaidPayment | None = await self.db.scalar(
            select(PostpaidPayment).where(
                PostpaidPayment.account_id == account_id,
                PostpaidPayment.method == method,
                PostpaidPayment.reference == reference,
            )
        )
        return row

    async def pending_for(self, *, statement_id: int, method: str) -> PostpaidPayment | None:
        row: PostpaidPayment | None = await self.db.scalar(
            select(PostpaidPayment).where(
                PostpaidPayment.statement_id == statement_id,
                PostpaidPayment.method == method,
                PostpaidPayment.status == "pending",
            )
        )
        return row

    async def pending_cards_before(self, *, provider: str, before: datetime) -> list[int]:
        """Card payments of `provider` still pending, last touched before `before`."""
        rows = await self.db.execute(
            select(PostpaidPayment.id)
            .where(
                PostpaidPayment.method == "card",
                PostpaidPayment.provider == provider,
                PostpaidPayment.status == "pending",
                PostpaidPayment.updated_at < before,
            )
            .order_by(PostpaidPayment.id)
        )
        return list(rows.scalars())

    async def of_account(
        self, *, operator_id: int, account_id: int, limit: int, offset: int
    ) -> OffsetPage[PostpaidPayment]:
        statement = self.select_owned(owner_id=operator_id).where(
            PostpaidPayment.account_id == account_id
        )
        return await self.page(statement, limit=limit, offset=offset)


async def receivable_movements(
    db: Any, *, ref: AccountRef, start: datetime, end: datetime
) -> tuple[int, int, int]:
    """(balance before `start`, debits in [start, end), credits in [start, end)) of the
    receivable, posted lines only, by when their entries were booked."""
    amount = LedgerLine.amount_minor
    booked = LedgerEntry.created_at
    inside = and_(booked >= start, booked < end)
    row = (
        await db.execute(
            select(
                func.coalesce(func.sum(case((booked < start, amount), else_=0)), 0),
                func.coalesce(func.sum(case((and_(inside, amount > 0), amount), else_=0)), 0),
                func.coalesce(func.sum(case((and_(inside, amount < 0), -amount), else_=0)), 0),
            )
            .select_from(LedgerLine)
            .join(LedgerEntry, LedgerEntry.id == LedgerLine.entry_id)
            .join(LedgerAccount, LedgerAccount.id == LedgerLine.account_id)
            .where(
                LedgerAccount.kind == ref.kind.value,
                LedgerAccount.currency == ref.currency,
                LedgerAccount.scope == ref.scope,
                LedgerEntry.kind != EntryKind.PENDING.value,
            )
        )
    ).one()
    return int(row[0]), int(row[1]), int(row[2])
