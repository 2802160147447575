"""The ledger's accounts and entries: account ids, entries with their lines, the reads
idempotency needs. Holds' SQL is in hold_repository, balances and lists in read_repository,
prebuilt statements in sql.

Writes are Core statements on the session's connection (a transfer is two or three short
statements: no ORM unit of work, no row per account touched). Account rows are immutable,
so their ids are cached per engine once the row is known to be committed: a hot account
(PSP clearing, revenue) is never read, locked or updated per transfer.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Engine,
    event,
    select,
    tuple_,
)
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.orm import Session
from sqlalchemy.sql.dml import Insert
from sqlalchemy.sql.elements import ColumnElement

from evbilling.infra.db.inline_sqlite import InlineConnection
from evbilling.infra.db.inserts import insert_or_skip
from evbilling.ledger.domain import (
    AccountRef,
    EntryKind,
    Line,
    PostedEntry,
)
from evbilling.ledger.sql import (
    INSERT_LINE,
    POSTGRES_ENTRY_WITH_LINES,
    SQLITE_UNBALANCED,
    UNBALANCED,
    account_ref,
    inline_insert_entry,
    insert_entry_statement,
)
from evbilling.models import LedgerAccount, LedgerEntry, LedgerLine

# ---------------------------------------------------------------------------------------------
# Account ids: known (committed) ones per engine; ones created in a transaction are promoted
# when it commits and forgotten when it rolls back (an id is never reused wrongly).

_KNOWN: weakref.WeakKeyDictionary[Engine, dict[AccountRef, int]] = weakref.WeakKeyDictionary()
_CREATED = "evbilling.ledger.created_accounts"


@event.listens_for(Session, "after_commit")
def _promote_created(session: Session) -> None:
    created = session.info.pop(_CREATED, None)
    if created is not None:
        engine, ids = created
        _KNOWN.setdefault(engine, {}).update(ids)


@event.listens_for(Session, "after_soft_rollback")
def _forget_created(session: Session, previous_transaction: Any) -> None:
    session.info.pop(_CREATED, None)


def _engine_of(db: AsyncSession) -> Engine:
    bind = db.sync_session.get_bind()
    return bind if isinstance(bind, Engine) else bind.engine


@dataclass(frozen=True, slots=True)
class StoredEntry:
    id: int
    reference: str
    kind: EntryKind
    description: str
    pending_id: int | None
    reverses_id: int | None
    created_at: datetime
    lines: tuple[Line, ...]

    def posted(self) -> PostedEntry:
        return PostedEntry(
            id=self.id,
            reference=self.reference,
            created_at=self.created_at,
            lines=self.lines,
            kind=self.kind,
            description=self.description,
        )


class LedgerRepository:
    def __init__(self, db: AsyncSession) -> None:
        self.db = db
        self._dialect = db.sync_session.get_bind().dialect.name
        self._bound: AsyncConnection | None = None
        self._inline_connection: InlineConnection | None = None

    async def _connection(self) -> AsyncConnection:
        # One repository serves one service call, inside one transaction: its connection
        # stays the same (services never commit).
        if self._bound is None:
            self._bound = await self.db.connection()
        return self._bound

    def insert_or_skip(self, table: Any, *, conflict: Sequence[str]) -> Insert:
        return insert_or_skip(self._dialect, table, conflict=conflict)

    # -----------------------------------------------------------------------------------------
    # Accounts

    async def account_ids(
        self, refs: Iterable[AccountRef], *, now: datetime
    ) -> dict[AccountRef, int]:
        """The id of each account, created (INSERT ... ON CONFLICT DO NOTHING) when new."""
        engine = _engine_of(self.db)
        known = _KNOWN.get(engine, {})
        created: dict[AccountRef, int] = {}
        held = self.db.sync_session.info.get(_CREATED)
        if held is not None:
            created = held[1]
        ids: dict[AccountRef, int] = {}
        missing: list[AccountRef] = []
        for ref in refs:
            found = known.get(ref)
            if found is None:
                found = created.get(ref)
            if found is None:
                if ref not in missing:
                    missing.append(ref)
            else:
                ids[ref] = found
        if not missing:
            return ids
        # One order for every writer: two transactions creating the same new accounts wait
        # for each other in the same order instead of deadlocking.
        missing.sort(key=lambda ref: (ref.kind.value, ref.currency, ref.scope))
        connection = await self._connection()
        inserted = await connection.execute(
            self.insert_or_skip(LedgerAccount, conflict=("kind", "currency", "scope"))
            .values(
                [
                    {
                        "kind": r.kind.value,
                        "currency": r.currency,
                        "scope": r.scope,
                        "created_at": now,
                    }
                    for r in missing
                ]
            )
            .returning(
                LedgerAccount.id, LedgerAccount.kind, LedgerAccount.currency, LedgerAccount.scope
            )
        )
        new = {account_ref(row): int(row.id) for row in inserted}
        rest = [ref for ref in missing if ref not in new]
        existing: dict[AccountRef, int] = {}
        if rest:
            rows = await connection.execute(
                select(
                    LedgerAccount.id,
                    LedgerAccount.kind,
                    LedgerAccount.currency,
                    LedgerAccount.scope,
                ).where(
                    tuple_(LedgerAccount.kind, LedgerAccount.currency, LedgerAccount.scope).in_(
                        [(r.kind.value, r.currency, r.scope) for r in rest]
                    )
                )
            )
            existing = {account_ref(row): int(row.id) for row in rows}
            # Rows this statement did not create were committed by someone (PostgreSQL's ON
            # CONFLICT waits for the other transaction), or created earlier in this one.
            _KNOWN.setdefault(engine, {}).update(existing)
        if new:
            created = dict(created)
            created.update(new)
            self.db.sync_session.info[_CREATED] = (engine, created)
        ids.update(new)
        ids.update(existing)
        return ids

    async def account_id(self, ref: AccountRef) -> int | None:
        """The id of an account already used, without creating it."""
        engine = _engine_of(self.db)
        found = _KNOWN.get(engine, {}).get(ref)
        if found is not None:
            return found
        held = self.db.sync_session.info.get(_CREATED)
        if held is not None and ref in held[1]:
            return int(held[1][ref])
        value = await self.db.scalar(
            select(LedgerAccount.id).where(
                LedgerAccount.kind == ref.kind.value,
                LedgerAccount.currency == ref.currency,
                LedgerAccount.scope == ref.scope,
            )
        )
        return None if value is None else int(value)

    # -----------------------------------------------------------------------------------------
    # Entries and lines

    async def insert_entry(
        self,
        *,
        reference: str,
        kind: EntryKind,
        description: str,
        now: datetime,
        lines: Sequence[tuple[int, str, int]] = (),
        pending_id: int | None = None,
        reverses_id: int | None = None,
    ) -> int | None:
        """Insert an entry and its (account id, currency, amount) lines; the new entry's id,
        or None (and nothing written) when the reference is booked already.

        PostgreSQL: one statement (the entry and its lines in one data-modifying CTE; the
        deferred trigger checks the balance at commit). SQLite: the entry, then its lines;
        the caller runs `unbalanced_currencies` in the transaction."""
        connection = await self._connection()
        entry = {
            "reference": reference,
            "kind": kind.value,
            "description": description,
            "pending_id": pending_id,
            "reverses_id": reverses_id,
            "created_at": now,
        }
        if self._dialect == "postgresql" and lines:
            accounts, currencies, amounts = zip(*lines, strict=True)
            result = await connection.execute(
                POSTGRES_ENTRY_WITH_LINES,
                {
                    **entry,
                    "accounts": list(accounts),
                    "currencies": list(currencies),
                    "amounts": list(amounts),
                },
            )
            value = result.scalar()
            return None if value is None else int(value)
        inline = await self._inline(connection)
        if inline is not None:
            return await inline_insert_entry(inline, entry, lines, dialect=connection.dialect)
        result = await connection.execute(insert_entry_statement(self._dialect), entry)
        value = result.scalar()
        if value is None:
            return None
        if lines:
            await connection.execute(
                INSERT_LINE,
                [
                    {"entry_id": value, "account_id": a, "currency": c, "amount_minor": m}
                    for a, c, m in lines
                ],
            )
        return int(value)

    async def unbalanced_currencies(self, *, entry_id: int) -> list[str]:
        """The currencies whose lines of the entry do not sum to zero (none, normally)."""
        connection = await self._connection()
        inline = await self._inline(connection)
        if inline is not None:
            cursor = inline.cursor()
            await cursor.execute(SQLITE_UNBALANCED, (entry_id,))
            found = await cursor.fetchall()
            await cursor.close()
            return [str(row[0]) for row in found]
        rows = await connection.execute(UNBALANCED, {"entry_id": entry_id})
        return [str(currency) for currency in rows.scalars()]

    async def _inline(self, connection: AsyncConnection) -> InlineConnection | None:
        """evbilling's own SQLite connection (see infra.db.inline_sqlite), when it is one:
        the hot path's statements then go to it directly, in the same transaction."""
        if self._dialect != "sqlite":
            return None
        if self._inline_connection is None:
            raw = await connection.get_raw_connection()
            driver = raw.driver_connection
            if isinstance(driver, InlineConnection):
                self._inline_connection = driver
        return self._inline_connection

    @property
    def checks_balance_at_commit(self) -> bool:
        return self._dialect == "postgresql"

    async def _entries(self, where: ColumnElement[bool]) -> list[StoredEntry]:
        connection = await self._connection()
        entries = (
            await connection.execute(select(LedgerEntry).where(where).order_by(LedgerEntry.id))
        ).all()
        if not entries:
            return []
        ids = [entry.id for entry in entries]
        lines = await connection.execute(
            select(
                LedgerLine.entry_id,
                LedgerLine.amount_minor,
                LedgerAccount.kind,
                LedgerAccount.currency,
                LedgerAccount.scope,
            )
            .join(LedgerAccount, LedgerAccount.id == LedgerLine.account_id)
            .where(LedgerLine.entry_id.in_(ids))
            .order_by(LedgerLine.id)
        )
        by_entry: dict[int, list[Line]] = {entry_id: [] for entry_id in ids}
        for line in lines:
            by_entry[line.entry_id].append(Line(account_ref(line), int(line.amount_minor)))
        return [
            StoredEntry(
                id=e.id,
                reference=e.reference,
                kind=EntryKind(e.kind),
                description=e.description,
                pending_id=e.pending_id,
                reverses_id=e.reverses_id,
                created_at=e.created_at,
                lines=tuple(by_entry[e.id]),
            )
            for e in entries
        ]

    async def entry_by_reference(self, reference: str) -> StoredEntry | None:
        found = await self._entries(LedgerEntry.reference == reference)
        return found[0] if found else None

    async def entry(self, entry_id: int) -> StoredEntry | None:
        found = await self._entries(LedgerEntry.id == entry_id)
        return found[0] if found else None

    async def reversal_of(self, entry_id: int) -> StoredEntry | None:
        found = await self._entries(LedgerEntry.reverses_id == entry_id)
        return found[0] if found else None
