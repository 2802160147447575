"""Group commit runs one batch at a time on SQLite (one writer) and several on PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from evbilling.infra.context import ServiceContext
from evbilling.infra.db.group_commit import POSTGRESQL_CONCURRENCY, GroupCommit
from evbilling.models import Operator


class TestGroupCommitConcurrency:
    async def test_batches_in_flight_at_once_follow_the_database(
        self, context: ServiceContext, engine: AsyncEngine
    ) -> None:
        writer = GroupCommit(context=context)
        active = peak = started = 0

        async def work(db: AsyncSession, now: datetime) -> None:
            nonlocal active, peak, started
            active += 1
            started += 1
            peak = max(peak, active)
            db.add(Operator(name=f"op-{started}", created_at=now))
            await db.flush()
            await asyncio.sleep(0.01)  # hold the batch open while others could start
            active -= 1

        await asyncio.gather(*(writer.run(work) for _ in range(40)))

        expected = POSTGRESQL_CONCURRENCY if engine.dialect.name == "postgresql" else 1
        assert writer.concurrency == expected
        assert peak == expected
        async with context.unit_of_work() as db:
            assert await db.scalar(select(func.count()).select_from(Operator)) == 40
