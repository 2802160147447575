"""The SQL of holds (ledger_pending): read one (locked for its resolution), insert one, and
its one guarded move from pending to posted or voided."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from evbilling.ledger.domain import AccountKind, AccountRef, PendingStatus, PendingTransfer
from evbilling.models import LedgerAccount, LedgerPending


@dataclass(frozen=True, slots=True)
class StoredPending:
    transfer: PendingTransfer
    debit_account_id: int
    credit_account_id: int
    pending_entry_id: int


class HoldRepository:
    def __init__(self, db: AsyncSession) -> None:
        self.db = db

    def _pending_select(self) -> Select[Any]:
        debit = LedgerAccount.__table__.alias("debit")
        credit = LedgerAccount.__table__.alias("credit")
        return (
            select(
                LedgerPending,
                debit.c.kind.label("debit_kind"),
                debit.c.scope.label("debit_scope"),
                credit.c.kind.label("credit_kind"),
                credit.c.scope.label("credit_scope"),
            )
            .join(debit, debit.c.id == LedgerPending.debit_account_id)
            .join(credit, credit.c.id == LedgerPending.credit_account_id)
        )

    @staticmethod
    def _stored_pending(row: Any) -> StoredPending:
        pending: LedgerPending = row[0]
        return StoredPending(
            transfer=PendingTransfer(
                id=pending.id,
                reference=pending.reference,
                debit=AccountRef(AccountKind(row.debit_kind), pending.currency, row.debit_scope),
                credit=AccountRef(AccountKind(row.credit_kind), pending.currency, row.credit_scope),
                currency=pending.currency,
                amount_minor=pending.amount_minor,
                status=PendingStatus(pending.status),
                posted_minor=pending.posted_minor,
                expires_at=pending.expires_at,
                created_at=pending.created_at,
                resolved_at=pending.resolved_at,
            ),
            debit_account_id=pending.debit_account_id,
            credit_account_id=pending.credit_account_id,
            pending_entry_id=pending.pending_entry_id,
        )

    async def pending(
        self,
        *,
        pending_id: int | None = None,
        reference: str | None = None,
        for_update: bool = False,
    ) -> StoredPending | None:
        statement = self._pending_select()
        if pending_id is not None:
            statement = statement.where(LedgerPending.id == pending_id)
        if reference is not None:
            statement = statement.where(LedgerPending.reference == reference)
        if for_update:
            statement = statement.with_for_update(of=LedgerPending)
        row = (
            await self.db.execute(statement.execution_options(populate_existing=True))
        ).one_or_none()
        return None if row is None else self._stored_pending(row)

    async def insert_pending(
        self,
        *,
        reference: str,
        debit_account_id: int,
        credit_account_id: int,
        currency: str,
        amount_minor: int,
        pending_entry_id: int,
        expires_at: datetime | None,
        now: datetime,
    ) -> int:
        connection = await self.db.connection()
        result = await connection.execute(
            insert(LedgerPending)
            .values(
                reference=reference,
                debit_account_id=debit_account_id,
                credit_account_id=credit_account_id,
                currency=currency,
                amount_minor=amount_minor,
                status=PendingStatus.PENDING.value,
                posted_minor=0,
                pending_entry_id=pending_entry_id,
                resolution_entry_id=None,
                expires_at=expires_at,
                created_at=now,
                resolved_at=None,
            )
            .returning(LedgerPending.id)
        )
        return int(result.scalar_one())

    async def resolve_pending(
        self,
        *,
        pending_id: int,
        status: PendingStatus,
        posted_minor: int,
        resolution_entry_id: int,
        now: datetime,
    ) -> bool:
        """The one move of a hold, guarded: False when it was no longer pending."""
        connection = await self.db.connection()
        result = await connection.execute(
            update(LedgerPending)
            .where(
                LedgerPending.id == pending_id, LedgerPending.status == PendingStatus.PENDING.value
            )
            .values(
                status=status.value,
                posted_minor=posted_minor,
                resolution_entry_id=resolution_entry_id,
                resolved_at=now,
            )
        )
        return result.rowcount == 1
