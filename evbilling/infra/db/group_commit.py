"""Group commit: many stations' messages share one database transaction, and each is
answered only after that transaction has committed.

A commit is the most expensive step of a small write (SQLite appends to its WAL, PostgreSQL
flushes its log), and SQLite has a single writer anyway. So work submitted while a transaction
is in progress waits and runs in the next one. Isolation is kept: if any unit of work in a batch
fails, the batch is rolled back and bisected: each half runs again in a transaction of its own,
and a half that fails is split again, until the failing unit fails alone. It changes nothing,
its caller gets its error (the OCPP edge then keeps the message as a dead letter), and every
other unit still commits: one poison message among n costs about 2 log2(n) transactions, not n.
Units of work must therefore be safe to run more than once (they are: each is a pure function
of its message and the clock).

SQLite has one writer, so one batch runs at a time. PostgreSQL has many: there, several
batches run at once, each on its own connection, so that one batch's round trips and commit
flush overlap another's work (`concurrency`). A station sends one message at a time, so its
messages never meet in concurrent batches.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from evbilling.infra.context import ServiceContext
from evbilling.infra.logging import get_logger

log = get_logger(__name__)

T = TypeVar("T")
Work = Callable[[AsyncSession, datetime], Awaitable[Any]]


# Batches in flight at once on PostgreSQL (each holds one pooled connection while it runs).
POSTGRESQL_CONCURRENCY = 4


@dataclass(slots=True)
class GroupCommit:
    context: ServiceContext
    max_batch: int = 128
    # Batches in flight at once; None: 1 on SQLite, POSTGRESQL_CONCURRENCY on PostgreSQL.
    concurrency: int | None = None
    _pending: deque[tuple[Work, asyncio.Future[Any]]] = field(default_factory=deque)
    _drainers: set[asyncio.Task[None]] = field(default_factory=set)
    _draining: int = 0  # drainers not yet returned (counted as they leave, not when reaped)

    def __post_init__(self) -> None:
        if self.concurrency is None:
            bind = getattr(self.context.session_factory, "kw", {}).get("bind")
            dialect = bind.dialect.name if bind is not None else "sqlite"
            self.concurrency = POSTGRESQL_CONCURRENCY if dialect == "postgresql" else 1

    async def run(self, work: Callable[[AsyncSession, datetime], Awaitable[T]]) -> T:
        """Run `work(db, now)` and return its result once its transaction has committed."""
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._pending.append((work, future))
        if self._draining < (self.concurrency or 1):
            self._draining += 1
            drainer = asyncio.create_task(self._drain_counted())
            self._drainers.add(drainer)
            drainer.add_done_callback(self._drainers.discard)
        return await future

    async def _drain_counted(self) -> None:
        try:
            await self._drain()
        finally:
            self._draining -= 1

    async def _drain(self) -> None:
        while self._pending:
            # With several drainers, each takes its share, so that they all have work.
            share = -(-len(self._pending) // (self.concurrency or 1))
            batch = [self._pending.popleft() for _ in range(min(self.max_batch, share))]
            try:
                await self._run_batch(batch)
            except BaseException as error:  # never leave a caller waiting
                for _, future in batch:
                    if not future.done():
                        future.set_exception(error)
                if not isinstance(error, Exception):
                    raise

    async def _run_batch(self, batch: list[tuple[Work, asyncio.Future[Any]]]) -> None:
        now = self.context.clock.now()
        try:
            async with self.context.unit_of_work() as db:
                results = [await work(db, now) for work, _ in batch]
                await db.commit()
        except Exception as error:
            if len(batch) == 1:
                batch[0][1].set_exception(error)
                return
            log.debug("group_commit.bisect", size=len(batch), error=type(error).__name__)
            middle = len(batch) // 2
            await self._run_batch(batch[:middle])
            await self._run_batch(batch[middle:])
            return
        for (_, future), result in zip(batch, results, strict=True):
            if not future.done():
                future.set_result(result)
