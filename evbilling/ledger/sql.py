"""The ledger's statements built once (their compiled forms are then cached), the raw SQLite
statements of the hot path, and how a row names its account."""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import BigInteger, Dialect, bindparam, func, insert, select, text
from sqlalchemy.sql.dml import Insert

from evbilling.infra.db.inline_sqlite import InlineConnection
from evbilling.infra.db.inserts import insert_or_skip
from evbilling.infra.db.types import UTCDateTime
from evbilling.ledger.domain import AccountKind, AccountRef
from evbilling.models import LedgerEntry, LedgerLine


def account_ref(row: Any) -> AccountRef:
    return AccountRef(AccountKind(row.kind), row.currency, row.scope)


# The hot path's statements, built once (their compiled forms are then cached).
@functools.cache
def insert_entry_statement(dialect: str) -> Insert:
    return insert_or_skip(dialect, LedgerEntry, conflict=("reference",)).returning(LedgerEntry.id)


INSERT_LINE = insert(LedgerLine)
UNBALANCED = (
    select(LedgerLine.currency)
    .where(LedgerLine.entry_id == bindparam("entry_id"))
    .group_by(LedgerLine.currency)
    .having(func.sum(LedgerLine.amount_minor) != 0)
)
POSTGRES_ENTRY_WITH_LINES = text(
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
SQLITE_INSERT_ENTRY = (
    "INSERT INTO ledger_entries "
    "(reference, kind, description, pending_id, reverses_id, created_at) "
    "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (reference) DO NOTHING RETURNING id"
)
SQLITE_INSERT_LINE = (
    "INSERT INTO ledger_lines (entry_id, account_id, currency, amount_minor) VALUES (?, ?, ?, ?)"
)
SQLITE_UNBALANCED = (
    "SELECT currency FROM ledger_lines WHERE entry_id = ? "
    "GROUP BY currency HAVING sum(amount_minor) <> 0"
)


@functools.cache
def time_processor(dialect: Dialect) -> Callable[[Any], Any]:
    """How the created_at column stores a datetime on this dialect (UTCDateTime's rule)."""
    processor = LedgerEntry.__table__.c.created_at.type.bind_processor(dialect)
    assert processor is not None
    return processor


async def inline_insert_entry(
    inline: InlineConnection,
    entry: dict[str, Any],
    lines: Sequence[tuple[int, str, int]],
    *,
    dialect: Dialect,
) -> int | None:
    cursor = inline.cursor()
    try:
        await cursor.execute(
            SQLITE_INSERT_ENTRY,
            (
                entry["reference"],
                entry["kind"],
                entry["description"],
                entry["pending_id"],
                entry["reverses_id"],
                time_processor(dialect)(entry["created_at"]),
            ),
        )
        row = await cursor.fetchone()
        if row is None:
            return None
        entry_id = int(row[0])
        if lines:
            await cursor.executemany(SQLITE_INSERT_LINE, [(entry_id, a, c, m) for a, c, m in lines])
        return entry_id
    finally:
        await cursor.close()
