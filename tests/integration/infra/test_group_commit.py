"""Messages arriving together share a transaction, yet each one commits or fails alone; a
failing batch is bisected, so one poison unit costs a few transactions, not one per unit."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest
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


def counting(context: ServiceContext) -> tuple[ServiceContext, list[int]]:
    """The same database, counting the transactions opened."""
    opened = [0]

    def factory() -> AsyncSession:
        opened[0] += 1
        return context.session_factory()

    counted = ServiceContext(session_factory=factory, clock=context.clock)  # type: ignore[arg-type]
    return counted, opened


class TestBisection:
    @pytest.mark.parametrize("poison_at", [0, 37, 63])
    async def test_one_poison_unit_among_many_fails_alone_and_the_rest_commit(
        self, context: ServiceContext, poison_at: int
    ) -> None:
        counted, opened = counting(context)
        writer = GroupCommit(context=counted)
        units = [add_operator(f"op-{i:02}", fail=i == poison_at) for i in range(64)]

        outcomes = await asyncio.gather(*(writer.run(u) for u in units), return_exceptions=True)

        failed = [i for i, outcome in enumerate(outcomes) if isinstance(outcome, Refused)]
        assert failed == [poison_at]
        assert str(outcomes[poison_at]) == f"op-{poison_at:02} refused"
        assert await names(context) == [f"op-{i:02}" for i in range(64) if i != poison_at]
        # The batch, then two halves per level down to the poison unit: 1 + 2 log2(64) = 13
        # transactions; retrying each unit alone would take 65.
        assert opened[0] <= 1 + 2 * math.ceil(math.log2(64))

    async def test_every_poison_unit_fails_alone_however_many_there_are(
        self, context: ServiceContext
    ) -> None:
        writer = GroupCommit(context=context)
        poisoned = {3, 4, 20, 31}

        outcomes = await asyncio.gather(
            *(writer.run(add_operator(f"op-{i:02}", fail=i in poisoned)) for i in range(32)),
            return_exceptions=True,
        )

        assert {i for i, o in enumerate(outcomes) if isinstance(o, Refused)} == poisoned
        assert await names(context) == [f"op-{i:02}" for i in range(32) if i not in poisoned]
