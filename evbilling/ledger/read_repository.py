"""The ledger's read queries: balances as sums of lines, accounts an operator may see, an
account's lines page by page."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import String, and_, case, cast, func, literal, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from evbilling.infra.db.repository import KeysetPage
from evbilling.ledger.domain import (
    AccountBalance,
    AccountKind,
    AccountRef,
    EntryKind,
    PendingStatus,
    account_balance_of,
)
from evbilling.ledger.sql import account_ref
from evbilling.models import (
    Driver,
    LedgerAccount,
    LedgerEntry,
    LedgerLine,
    LedgerPending,
    PostpaidAccount,
)


@dataclass(frozen=True, slots=True)
class AccountLine:
    """One line of an account with what its entry says."""

    id: int
    entry_id: int
    reference: str
    entry_kind: EntryKind
    description: str
    amount_minor: int
    currency: str
    created_at: datetime


# Which lines count where: a hold's own lines only in pending balances, and only while it is
# pending; every other line in posted balances.
_IS_HOLD_LINE = LedgerEntry.kind == EntryKind.PENDING.value


def _debits(amount: Any) -> ColumnElement[Any]:
    return func.coalesce(func.sum(case((amount > 0, amount), else_=0)), 0)


def _credits(amount: Any) -> ColumnElement[Any]:
    return func.coalesce(func.sum(case((amount < 0, -amount), else_=0)), 0)


class LedgerReadRepository:
    def __init__(self, db: AsyncSession) -> None:
        self.db = db

    @staticmethod
    def _sums() -> tuple[ColumnElement[Any], ...]:
        amount = LedgerLine.amount_minor
        posted = LedgerEntry.kind != EntryKind.PENDING.value
        held = and_(_IS_HOLD_LINE, LedgerPending.status == PendingStatus.PENDING.value)
        return (
            _debits(case((posted, amount), else_=0)),
            _credits(case((posted, amount), else_=0)),
            _debits(case((held, amount), else_=0)),
            _credits(case((held, amount), else_=0)),
        )

    @staticmethod
    def _lines_with_status() -> Any:
        return LedgerLine.__table__.join(
            LedgerEntry, LedgerEntry.id == LedgerLine.entry_id
        ).outerjoin(LedgerPending, LedgerPending.pending_entry_id == LedgerLine.entry_id)

    async def sums(
        self, account_ids: Sequence[int]
    ) -> dict[int, tuple[tuple[int, int], tuple[int, int]]]:
        """(posted (debits, credits), pending (debits, credits)) of each account."""
        if not account_ids:
            return {}
        rows = await self.db.execute(
            select(LedgerLine.account_id, *self._sums())
            .select_from(self._lines_with_status())
            .where(LedgerLine.account_id.in_(list(account_ids)))
            .group_by(LedgerLine.account_id)
        )
        return {
            int(row[0]): ((int(row[1]), int(row[2])), (int(row[3]), int(row[4]))) for row in rows
        }

    async def balance(self, *, account_id: int, account: AccountRef) -> AccountBalance:
        sums = (await self.sums([account_id])).get(account_id, ((0, 0), (0, 0)))
        return account_balance_of(
            account_id=account_id, account=account, posted=sums[0], pending=sums[1]
        )

    async def sums_by_currency(self) -> list[tuple[str, tuple[int, int], tuple[int, int]]]:
        rows = await self.db.execute(
            select(LedgerLine.currency, *self._sums())
            .select_from(self._lines_with_status())
            .group_by(LedgerLine.currency)
            .order_by(LedgerLine.currency)
        )
        return [
            (str(row[0]), (int(row[1]), int(row[2])), (int(row[3]), int(row[4]))) for row in rows
        ]

    @staticmethod
    def _visible(operator_id: int | None) -> ColumnElement[bool]:
        """Accounts an operator sees: its own scopes, its drivers' and its postpaid
        accounts'; None sees all."""
        if operator_id is None:
            return literal(True)
        own = f"operator:{operator_id}"
        drivers = select(literal("driver:") + cast(Driver.id, String)).where(
            Driver.operator_id == operator_id
        )
        postpaid = select(literal("account:") + cast(PostpaidAccount.id, String)).where(
            PostpaidAccount.operator_id == operator_id
        )
        return or_(
            LedgerAccount.scope == own,
            LedgerAccount.scope.startswith(own + "/", autoescape=True),
            and_(LedgerAccount.scope.startswith("driver:"), LedgerAccount.scope.in_(drivers)),
            and_(LedgerAccount.scope.startswith("account:"), LedgerAccount.scope.in_(postpaid)),
        )

    async def account(self, *, account_id: int, operator_id: int | None) -> AccountBalance | None:
        row = (
            await self.db.execute(
                select(
                    LedgerAccount.id,
                    LedgerAccount.kind,
                    LedgerAccount.currency,
                    LedgerAccount.scope,
                ).where(LedgerAccount.id == account_id, self._visible(operator_id))
            )
        ).one_or_none()
        if row is None:
            return None
        return await self.balance(account_id=int(row.id), account=account_ref(row))

    async def accounts(
        self,
        *,
        operator_id: int | None,
        kind: AccountKind | None,
        currency: str | None,
        limit: int,
        after: int | None,
    ) -> KeysetPage[AccountBalance]:
        """Accounts in id order with their balances, the page after the id `after`."""
        statement = select(
            LedgerAccount.id, LedgerAccount.kind, LedgerAccount.currency, LedgerAccount.scope
        ).where(self._visible(operator_id))
        if kind is not None:
            statement = statement.where(LedgerAccount.kind == kind.value)
        if currency is not None:
            statement = statement.where(LedgerAccount.currency == currency)
        if after is not None:
            statement = statement.where(LedgerAccount.id > after)
        rows = (await self.db.execute(statement.order_by(LedgerAccount.id).limit(limit + 1))).all()
        more = len(rows) > limit
        rows = rows[:limit]
        sums = await self.sums([int(row.id) for row in rows])
        empty = ((0, 0), (0, 0))
        items = [
            account_balance_of(
                account_id=int(row.id),
                account=account_ref(row),
                posted=sums.get(int(row.id), empty)[0],
                pending=sums.get(int(row.id), empty)[1],
            )
            for row in rows
        ]
        return KeysetPage(
            rows=items, limit=limit, next_after=items[-1].account_id if more else None
        )

    async def account_lines(
        self, *, account_id: int, limit: int, after: int | None
    ) -> KeysetPage[AccountLine]:
        """An account's lines newest first, the page after the line id `after`."""
        statement = (
            select(
                LedgerLine.id,
                LedgerLine.entry_id,
                LedgerLine.amount_minor,
                LedgerLine.currency,
                LedgerEntry.reference,
                LedgerEntry.kind,
                LedgerEntry.description,
                LedgerEntry.created_at,
            )
            .join(LedgerEntry, LedgerEntry.id == LedgerLine.entry_id)
            .where(LedgerLine.account_id == account_id)
        )
        if after is not None:
            statement = statement.where(LedgerLine.id < after)
        rows = (
            await self.db.execute(statement.order_by(LedgerLine.id.desc()).limit(limit + 1))
        ).all()
        more = len(rows) > limit
        items = [
            AccountLine(
                id=int(row.id),
                entry_id=int(row.entry_id),
                reference=row.reference,
                entry_kind=EntryKind(row.kind),
                description=row.description,
                amount_minor=int(row.amount_minor),
                currency=row.currency,
                created_at=row.created_at,
            )
            for row in rows[:limit]
        ]
        return KeysetPage(rows=items, limit=limit, next_after=items[-1].id if more else None)
