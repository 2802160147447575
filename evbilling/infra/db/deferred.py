"""Writes deferred to the end of a transaction, sent as one executemany per statement.

Group commit runs many stations' messages in one transaction; each MeterValues message
inserts its readings and advances its session's register. Sent one by one, that is two
round trips per message; deferred, it is two per transaction, whatever the number of
messages. On PostgreSQL a round trip (a socket write, a wake-up of the server, a poll) costs
more than the statement itself.

Deferred rows are written, in the order they were deferred:
- before the transaction commits (the session's `before_commit`),
- before any ORM statement (a load or refresh too) or ORM flush of the same session, which
  may read or write the same rows,
- when a repository that reads the tables with Core calls `flush_deferred` first.
A rollback of the transaction drops them with everything else. Inside a savepoint nothing
is deferred: the rows are written at once, so a savepoint's rollback undoes exactly its own.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import ORMExecuteState, Session, SessionTransaction
from sqlalchemy.sql import Executable

_KEY = "evbilling.deferred_writes"

Rows = list[Mapping[str, Any]]


async def defer_rows(
    db: AsyncSession, statement: Executable, rows: Sequence[Mapping[str, Any]]
) -> None:
    """Execute `statement` with `rows` (executemany) before the transaction ends."""
    if not rows:
        return
    if db.in_nested_transaction():
        connection = await db.connection()
        await connection.execute(statement, list(rows))
        return
    if not db.in_transaction():
        await db.connection()  # begin it, so that its rollback is seen and drops the rows
    pending: dict[Executable, Rows] = db.sync_session.info.setdefault(_KEY, {})
    pending.setdefault(statement, []).extend(rows)


def deferred_rows(db: AsyncSession, statement: Executable) -> Rows:
    """The rows deferred for `statement` and not written yet (read-your-writes)."""
    pending: dict[Executable, Rows] = db.sync_session.info.get(_KEY) or {}
    return pending.get(statement, [])


async def flush_deferred(db: AsyncSession) -> None:
    """Write the deferred rows now (before reading their tables with Core)."""
    if db.sync_session.info.get(_KEY):
        await db.run_sync(_write)


def _write(session: Session, *_: Any) -> None:
    pending: dict[Executable, Rows] | None = session.info.pop(_KEY, None)
    if not pending:
        return
    connection = session.connection()
    for statement, rows in pending.items():
        connection.execute(statement, rows)


@event.listens_for(Session, "before_commit")
def _before_commit(session: Session) -> None:
    _write(session)


@event.listens_for(Session, "do_orm_execute")
def _before_orm_statement(state: ORMExecuteState) -> None:
    if state.session.info.get(_KEY):
        _write(state.session)


@event.listens_for(Session, "before_flush")
def _before_orm_flush(session: Session, *_: Any) -> None:
    if session.info.get(_KEY):
        _write(session)


@event.listens_for(Session, "after_soft_rollback")
def _after_rollback(session: Session, previous: SessionTransaction) -> None:
    if previous.parent is None:  # the transaction itself, not a savepoint inside it
        session.info.pop(_KEY, None)
