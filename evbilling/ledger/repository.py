"""All SQL of the ledger.

Writes are Core statements on the session's connection (a transfer is two or three short
statements: no ORM unit of work, no row per account touched). Account rows are immutable,
so their ids are cached per engine once the row is known to be committed: a hot account
(PSP clearing, revenue) is never read, locked or updated per transfer.
"""

from __future__ import annotations

import functools
import weakref
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Dialect,
    Engine,
    Select,
    String,
    and_,
    bindparam,
    case,
    cast,
    event,
    func,
    insert,
    literal,
    or_,
    select,
    text,
    tuple_,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.orm import Session
from sqlalchemy.sql.dml import Insert
from sqlalchemy.sql.elements import ColumnElement

from evbilling.infra.db.inline_sqlite import InlineConnection
from evbilling.infra.db.repository import KeysetPage
from evbilling.infra.db.types import UTCDateTime
from evbilling.ledger.domain import (
    AccountBalance,
    AccountKind,
    AccountRef,
    EntryKind,
    Line,
    PendingStatus,
    PendingTransfer,
    PostedEntry,
    account_balance_of,
)
from evbilling.models import Driver, LedgerAccount, LedgerEntry, LedgerLine, LedgerPending

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


@dataclass(frozen=True, slots=True)
class StoredPending:
    transfer: PendingTransfer
    debit_account_id: int
    credit_account_id: int
    pending_entry_id: int


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


def _ref(row: Any) -> AccountRef:
    return AccountRef(AccountKind(row.kind), row.currency, row.scope)


# Which lines count where: a hold's own lines only in pending balances, and only while it is
# pending; every other line in posted balances.
_IS_HOLD_LINE = LedgerEntry.kind == EntryKind.PENDING.value


def _debits(amount: Any) -> ColumnElement[Any]:
    return func.coalesce(func.sum(case((amount > 0, amount), else_=0)), 0)


def _credits(amount: Any) -> ColumnElement[Any]:
    return func.coalesce(func.sum(case((amount < 0, -amount), else_=0)), 0)


def _insert_or_skip(dialect: str, table: Any, *, conflict: Sequence[str]) -> Insert:
    if dialect == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing(index_elements=conflict)
    if dialect == "sqlite":
        return sqlite.insert(table).on_conflict_do_nothing(index_elements=conflict)
    raise NotImplementedError(f"the ledger runs on PostgreSQL and SQLite, not {dialect}")


# The hot path's statements, built once (their compiled forms are then cached).
@functools.cache
def _insert_entry(dialect: str) -> Insert:
    return _insert_or_skip(dialect, LedgerEntry, conflict=("reference",)).returning(LedgerEntry.id)


_INSERT_LINE = insert(LedgerLine)
_UNBALANCED = (
    select(LedgerLine.currency)
    .where(LedgerLine.entry_id == bindparam("entry_id"))
    .group_by(LedgerLine.currency)
    .having(func.sum(LedgerLine.amount_minor) != 0)
)
_POSTGRES_ENTRY_WITH_LINES = text(
    """
    WITH entry AS (
        INSERT INTO ledger_entries
            (reference, kind, description, pending_id, reverses_id, created_at)
        VALUES (:reference, :kind, :description, :pending_id, :reverses_id, :created_at)
        ON CONFLICT (reference) DO NOTHING
        RETURNING id
    ), lines AS (
        INSERT INTO ledger_lines (entry_id, account_id, currency, amount_minor)
        SELECT entry.id, line.account_id, line.currency, line.amount_minor
        FROM entry, unnest(
            CAST(:accounts AS BIGINT[]), CAST(:currencies AS VARCHAR[]), CAST(:amounts AS BIGINT[])
        ) WITH ORDINALITY AS line (account_id, currency, amount_minor, position)
        ORDER BY line.position
    )
    SELECT id FROM entry
    """
).bindparams(
    bindparam("pending_id", type_=BigInteger()),
    bindparam("reverses_id", type_=BigInteger()),
    bindparam("created_at", type_=UTCDateTime()),
)


# SQLite's hot path, on the inline connection: the same statements as the Core ones above,
# without compiling or result processing (SQLite answers each in microseconds; building them
# through SQLAlchemy cost several times the statement).
_SQLITE_INSERT_ENTRY = (
    "INSERT INTO ledger_entries "
    "(reference, kind, description, pending_id, reverses_id, created_at) "
    "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (reference) DO NOTHING RETURNING id"
)
_SQLITE_INSERT_LINE = (
    "INSERT INTO ledger_lines (entry_id, account_id, currency, amount_minor) VALUES (?, ?, ?, ?)"
)
_SQLITE_UNBALANCED = (
    "SELECT currency FROM ledger_lines WHERE entry_id = ? "
    "GROUP BY currency HAVING sum(amount_minor) <> 0"
)


@functools.cache
def _time_processor(dialect: Dialect) -> Callable[[Any], Any]:
    """How the created_at column stores a datetime on this dialect (UTCDateTime's rule)."""
    processor = LedgerEntry.__table__.c.created_at.type.bind_processor(dialect)
    assert processor is not None
    return processor


async def _inline_insert_entry(
    inline: InlineConnection,
    entry: dict[str, Any],
    lines: Sequence[tuple[int, str, int]],
    *,
    dialect: Dialect,
) -> int | None:
    cursor = inline.cursor()
    try:
        await cursor.execute(
            _SQLITE_INSERT_ENTRY,
            (
                entry["reference"],
                entry["kind"],
                entry["description"],
                entry["pending_id"],
                entry["reverses_id"],
                _time_processor(dialect)(entry["created_at"]),
            ),
        )
        row = await cursor.fetchone()
        if row is None:
            return None
        entry_id = int(row[0])
        if lines:
            await cursor.executemany(
                _SQLITE_INSERT_LINE, [(entry_id, a, c, m) for a, c, m in lines]
            )
        return entry_id
    finally:
        await cursor.close()


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

    def _insert_or_skip(self, table: Any, *, conflict: Sequence[str]) -> Insert:
        return _insert_or_skip(self._dialect, table, conflict=conflict)

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
        connection = await self._connection()
        inserted = await connection.execute(
            self._insert_or_skip(LedgerAccount, conflict=("kind", "currency", "scope"))
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
        new = {_ref(row): int(row.id) for row in inserted}
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
            existing = {_ref(row): int(row.id) for row in rows}
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
                _POSTGRES_ENTRY_WITH_LINES,
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
            return await _inline_insert_entry(inline, entry, lines, dialect=connection.dialect)
        result = await connection.execute(_insert_entry(self._dialect), entry)
        value = result.scalar()
        if value is None:
            return None
        if lines:
            await connection.execute(
                _INSERT_LINE,
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
            await cursor.execute(_SQLITE_UNBALANCED, (entry_id,))
            found = await cursor.fetchall()
            await cursor.close()
            return [str(row[0]) for row in found]
        rows = await connection.execute(_UNBALANCED, {"entry_id": entry_id})
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
            by_entry[line.entry_id].append(Line(_ref(line), int(line.amount_minor)))
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

    # -----------------------------------------------------------------------------------------
    # Holds

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
        connection = await self._connection()
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
        connection = await self._connection()
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

    # -----------------------------------------------------------------------------------------
    # Balances and reads

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
        """Accounts an operator sees: its own scopes and its drivers'; None sees all."""
        if operator_id is None:
            return literal(True)
        own = f"operator:{operator_id}"
        drivers = select(literal("driver:") + cast(Driver.id, String)).where(
            Driver.operator_id == operator_id
        )
        return or_(
            LedgerAccount.scope == own,
            LedgerAccount.scope.startswith(own + "/", autoescape=True),
            and_(LedgerAccount.scope.startswith("driver:"), LedgerAccount.scope.in_(drivers)),
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
        return await self.balance(account_id=int(row.id), account=_ref(row))

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
                account=_ref(row),
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
