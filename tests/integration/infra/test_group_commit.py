"""Messages arriving together share a transaction, yet each one commits or fails alone."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from evbilling.infra.context import ServiceContext
from evbilling.infra.db.group_commit import GroupCommit
from evbilling.kit import EVBillingError
from evbilling.models import Operator


class Refused(EVBillingError):
    """A unit of work that fails after writing."""


def add_operator(name: str, *, fail: bool = False) -> Callable[[AsyncSession, datetime], Any]:
    async def work(db: AsyncSession, now: datetime) -> str:
        db.add(Operator(name=name, created_at=now))
        await db.flush()
        if fail:
            raise Refused(f"{name} refused")
        return name

    return work


async def names(context: ServiceContext) -> list[str]:
    async with context.unit_of_work() as db:
        rows = await db.execute(select(Operator.name).order_by(Operator.name))
        return list(rows.scalars())


class TestGroupCommit:
    async def test_commits_every_unit_of_a_batch_before_answering(
        self, context: ServiceContext
    ) -> None:
        writer = GroupCommit(context=context)

        results = await asyncio.gather(*(writer.run(add_operator(f"op-{i}")) for i in range(20)))

        assert sorted(results) == sorted(f"op-{i}" for i in range(20))
        assert len(await names(context)) == 20

    async def test_a_failing_unit_changes_nothing_and_the_others_still_commit(
        self, context: ServiceContext
    ) -> None:
        writer = GroupCommit(context=context)

        outcomes = await asyncio.gather(
            writer.run(add_operator("a")),
            writer.run(add_operator("b", fail=True)),
            writer.run(add_operator("c")),
            return_exceptions=True,
        )

        assert list(outcomes[::2]) == ["a", "c"]
        assert isinstance(outcomes[1], Refused)
        assert await names(context) == ["a", "c"]

    async def test_batches_units_that_arrive_while_a_transaction_runs(
        self, context: ServiceContext
    ) -> None:
        transactions = 0

        def counting_factory() -> AsyncSession:
            nonlocal transactions
            transactions += 1
            return context.session_factory()

        counted = ServiceContext(session_factory=counting_factory, clock=context.clock)  # type: ignore[arg-type]
        writer = GroupCommit(context=counted)

        await asyncio.gather(*(writer.run(add_operator(f"op-{i}")) for i in range(50)))

        assert 1 <= transactions < 50
        async with context.unit_of_work() as db:
            assert await db.scalar(select(func.count()).select_from(Operator)) == 50
