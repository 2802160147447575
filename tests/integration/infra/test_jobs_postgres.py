"""The job queue under real concurrency on PostgreSQL: workers on separate connections (each
its own engine) take disjoint jobs without waiting for each other, and no job runs twice."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from evbilling.infra.context import ServiceContext
from evbilling.infra.db.engine import create_engine, create_session_factory
from evbilling.infra.jobs import JobOutcome, JobRegistry, enqueue
from evbilling.infra.jobs.repository import JobRepository
from evbilling.kit import FixedClock
from evbilling.models import Base
from tests.integration.infra.job_helpers import (
    LEASE,
    Gate,
    add_job,
    effects,
    load,
    record,
    registry,
    worker,
)

# Long enough for a slow machine, short enough that a lock wait fails the test, not the run.
NO_WAITING = 20.0


@pytest.fixture
async def engines(postgres_url: str) -> AsyncIterator[tuple[AsyncEngine, AsyncEngine]]:
    first, second = create_engine(url=postgres_url), create_engine(url=postgres_url)
    tables = ", ".join(f'"{table.name}"' for table in Base.metadata.sorted_tables)
    async with first.begin() as connection:
        await connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    yield first, second
    await first.dispose()
    await second.dispose()


@pytest.fixture
def contexts(
    engines: tuple[AsyncEngine, AsyncEngine], clock: FixedClock
) -> tuple[ServiceContext, ServiceContext]:
    return (
        ServiceContext(session_factory=create_session_factory(engines[0]), clock=clock),
        ServiceContext(session_factory=create_session_factory(engines[1]), clock=clock),
    )


class TestConcurrentWorkers:
    async def test_open_claims_on_two_connections_take_disjoint_jobs_without_waiting(
        self, contexts: tuple[ServiceContext, ServiceContext], clock: FixedClock
    ) -> None:
        # Arrange
        one, two = contexts
        for n in range(6):
            await add_job(one, n=n)

        async def claim_both() -> tuple[list[int], list[int]]:
            # The first claim stays uncommitted (its rows locked) while the second runs.
            async with one.unit_of_work() as first_db, two.unit_of_work() as second_db:
                first = await JobRepository(first_db).claim(
                    worker="w-a", now=clock.now(), lease=LEASE, limit=3
                )
                second = await JobRepository(second_db).claim(
                    worker="w-b", now=clock.now(), lease=LEASE, limit=3
                )
                await second_db.commit()
                await first_db.commit()
            return [job.id for job in first], [job.id for job in second]

        # Act
        first, second = await asyncio.wait_for(claim_both(), timeout=NO_WAITING)

        # Assert
        assert len(first) == len(second) == 3
        assert set(first).isdisjoint(second)

    async def test_two_workers_running_at_once_run_every_job_exactly_once(
        self, contexts: tuple[ServiceContext, ServiceContext], clock: FixedClock
    ) -> None:
        # Arrange: each worker's first job waits until the other worker is inside one too,
        # so both hold claimed, locked jobs at the same moment.
        one, two = contexts
        for n in range(30):
            await add_job(one, "test.count", n=n)
        both_running = asyncio.Barrier(2)
        ran: list[tuple[str, int]] = []

        def counting(name: str) -> JobRegistry:
            first = True

            async def count(*, db: AsyncSession, payload: dict[str, Any], now: datetime) -> None:
                nonlocal first
                ran.append((name, payload["n"]))
                await record(db=db, payload=payload, now=now)
                if first:
                    first = False
                    await both_running.wait()

            jobs = JobRegistry()
            jobs.register("test.count", count)
            return jobs

        async def drain(context: ServiceContext, name: str) -> None:
            runner = worker(context, counting(name), name, batch_size=4)
            while await runner.run_once(now=clock.now()):
                pass

        # Act
        await asyncio.wait_for(
            asyncio.gather(drain(one, "w-a"), drain(two, "w-b")), timeout=NO_WAITING
        )

        # Assert
        assert sorted(n for _, n in ran) == list(range(30))
        assert {name for name, _ in ran} == {"w-a", "w-b"}
        assert sorted(await effects(one)) == sorted(f"effect {n}" for n in range(30))

    async def test_a_running_job_is_not_taken_over_while_its_worker_holds_it(
        self, contexts: tuple[ServiceContext, ServiceContext], clock: FixedClock
    ) -> None:
        # Arrange: w-a is inside the job's transaction when its lease runs out.
        one, two = contexts
        gate = Gate()
        job_id = await add_job(one, "test.gate", n=1)
        holder = asyncio.create_task(worker(one, registry(gate=gate), "w-a").run_once())
        await asyncio.wait_for(gate.entered.wait(), timeout=NO_WAITING)

        # Act
        taken = await asyncio.wait_for(
            worker(two, registry(gate=gate), "w-b").run_once(now=clock.now() + LEASE * 2),
            timeout=NO_WAITING,
        )
        gate.release.set()
        held = await asyncio.wait_for(holder, timeout=NO_WAITING)

        # Assert
        assert taken == []
        assert [r.outcome for r in held] == [JobOutcome.SUCCEEDED]
        job = await load(one, job_id)
        assert (job.status, job.attempts) == ("succeeded", 1)
        assert await effects(one) == ["effect 1"]

    async def test_one_dedupe_key_enqueued_on_two_connections_at_once_is_one_job(
        self, contexts: tuple[ServiceContext, ServiceContext], clock: FixedClock
    ) -> None:
        one, two = contexts

        async def enqueue_in(context: ServiceContext, n: int) -> int:
            async with context.unit_of_work() as db:
                job = await enqueue(
                    db=db, kind="test.record", payload={"n": n}, now=clock.now(), dedupe_key="k"
                )
                await db.commit()
                return job.id

        async def race() -> tuple[int, int]:
            # The first insert is uncommitted when the second is sent.
            async with one.unit_of_work() as db:
                first = await enqueue(
                    db=db, kind="test.record", payload={"n": 1}, now=clock.now(), dedupe_key="k"
                )
                second = asyncio.create_task(enqueue_in(two, 2))
                await asyncio.sleep(0)
                await db.commit()
            return first.id, await second

        first, second = await asyncio.wait_for(race(), timeout=NO_WAITING)

        assert first == second
        assert (await load(one, first)).payload == {"n": 1}

    async def test_a_retry_moves_on_after_the_backoff(
        self, contexts: tuple[ServiceContext, ServiceContext], clock: FixedClock
    ) -> None:
        one, two = contexts
        job_id = await add_job(one, "test.fail", n=1)
        await worker(one, registry(), "w-a").run_once(now=clock.now())

        early = await worker(two, registry(), "w-b").run_once(
            now=clock.now() + timedelta(seconds=29)
        )
        late = await worker(two, registry(), "w-b").run_once(
            now=clock.now() + timedelta(seconds=30)
        )

        assert early == []
        assert [(r.job_id, r.attempt) for r in late] == [(job_id, 2)]
