"""Running jobs: a job's effects commit with its success, a failure rolls them back and
retries after the backoff, the last failure dead-letters it, and an operator can retry it."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from evbilling.infra.context import ServiceContext
from evbilling.infra.jobs import JobOutcome, enqueue, retry_job
from evbilling.kit import Conflict, FixedClock, InvalidRequest, NotFound
from tests.integration.infra.job_helpers import (
    Gate,
    add_job,
    all_jobs,
    effects,
    load,
    record,
    registry,
    worker,
)


class TestRunningAJob:
    async def test_commits_the_effects_and_the_success_together(
        self, context: ServiceContext, clock: FixedClock
    ) -> None:
        # Arrange
        job_id = await add_job(context, n=1)

        # Act
        runs = await worker(context, registry()).run_once(now=clock.now())

        # Assert
        assert [(r.job_id, r.outcome, r.attempt) for r in runs] == [
            (job_id, JobOutcome.SUCCEEDED, 1)
        ]
        assert await effects(context) == ["effect 1"]
        job = await load(context, job_id)
        assert (job.status, job.attempts, job.finished_at) == ("succeeded", 1, clock.now())
        assert (job.locked_by, job.locked_until, job.last_error) == (None, None, None)

    async def test_runs_due_jobs_oldest_first_and_leaves_future_ones(
        self, context: ServiceContext, clock: FixedClock
    ) -> None:
        now = clock.now()
        later = await add_job(context, n=1, run_at=now + timedelta(minutes=1))
        second = await add_job(context, n=2, run_at=now - timedelta(seconds=5))
        first = await add_job(context, n=3, run_at=now - timedelta(seconds=10))

        runs = await worker(context, registry()).run_once(now=now)

        assert [r.job_id for r in runs] == [first, second]
        assert (await load(context, later)).status == "queued"

    async def test_takes_at_most_a_batch_per_round(
        self, context: ServiceContext, clock: FixedClock
    ) -> None:
        for n in range(5):
            await add_job(context, n=n)
        jobs = worker(context, registry(), batch_size=2)

        rounds = [len(await jobs.run_once(now=clock.now())) for _ in range(4)]

        assert rounds == [2, 2, 1, 0]
        assert len(await effects(context)) == 5


class TestAFailingJob:
    async def test_rolls_back_its_effects_and_retries_after_the_backoff(
        self, context: ServiceContext, clock: FixedClock
    ) -> None:
        # Arrange
        now = clock.now()
        job_id = await add_job(context, "test.fail", n=1)

        # Act
        runs = await worker(context, registry()).run_once(now=now)

        # Assert
        assert [(r.outcome, r.error_type) for r in runs] == [(JobOutcome.RETRYING, "HandlerFailed")]
        assert await effects(context) == []
        job = await load(context, job_id)
        assert (job.status, job.attempts) == ("queued", 1)
        assert job.run_at == now + timedelta(seconds=30)
        assert job.last_error == "HandlerFailed: job 1 refused"
        assert (job.locked_by, job.locked_until, job.finished_at) == (None, None, None)

    async def test_waits_twice_as_long_after_each_further_failure(
        self, context: ServiceContext, clock: FixedClock
    ) -> None:
        job_id = await add_job(context, "test.fail", n=1)
        jobs = worker(context, registry())
        waits = []

        for _ in range(4):
            before = (await load(context, job_id)).run_at
            assert await jobs.run_once(now=before - timedelta(seconds=1)) == []
            await jobs.run_once(now=before)
            waits.append((await load(context, job_id)).run_at - before)

        assert [w.total_seconds() for w in waits] == [30, 60, 120, 240]

    async def test_is_dead_after_its_last_attempt_and_runs_no_more(
        self, context: ServiceContext, clock: FixedClock
    ) -> None:
        # Arrange
        job_id = await add_job(context, "test.fail", n=1, max_attempts=2)
        jobs = worker(context, registry())
        await jobs.run_once(now=clock.now())
        retry_at = (await load(context, job_id)).run_at

        # Act
        runs = await jobs.run_once(now=retry_at)
        again = await jobs.run_once(now=retry_at + timedelta(days=1))

        # Assert
        assert [(r.outcome, r.attempt) for r in runs] == [(JobOutcome.DEAD, 2)]
        assert again == []
        job = await load(context, job_id)
        assert (job.status, job.attempts, job.finished_at) == ("dead", 2, retry_at)
        assert job.last_error == "HandlerFailed: job 1 refused"
        assert await effects(context) == []

    async def test_of_an_unknown_kind_is_dead_at_once_with_the_reason(
        self, context: ServiceContext, clock: FixedClock
    ) -> None:
        job_id = await add_job(context, "payments.capture", n=1)

        runs = await worker(context, registry()).run_once(now=clock.now())

        assert [r.outcome for r in runs] == [JobOutcome.DEAD]
        job = await load(context, job_id)
        assert job.status == "dead"
        assert job.last_error == "no handler is registered for job kind 'payments.capture'"

    async def test_that_outlives_its_lease_is_stopped_and_retried(
        self, context: ServiceContext, clock: FixedClock
    ) -> None:
        gate = Gate()  # never released
        job_id = await add_job(context, "test.gate", n=1)
        jobs = worker(context, registry(gate=gate), lease=timedelta(seconds=1))

        runs = await jobs.run_once(now=clock.now())

        assert [(r.outcome, r.error_type) for r in runs] == [(JobOutcome.RETRYING, "JobTimedOut")]
        assert (await load(context, job_id)).last_error == (
            "JobTimedOut: did not finish within the lease (0:00:01)"
        )
        assert await effects(context) == []


class TestRetryingADeadJob:
    async def test_queues_it_again_with_all_its_attempts(
        self, context: ServiceContext, clock: FixedClock
    ) -> None:
        # Arrange
        job_id = await add_job(context, "payments.capture", n=1, max_attempts=3)
        await worker(context, registry()).run_once(now=clock.now())
        clock.advance(seconds=600)

        # Act
        async with context.unit_of_work() as db:
            retried = await retry_job(db=db, job_id=job_id, now=clock.now())
            await db.commit()

        # Assert
        assert (retried.status, retried.attempts, retried.run_at) == ("queued", 0, clock.now())
        assert retried.finished_at is None
        assert retried.last_error is not None  # why it died, until the next attempt

    async def test_runs_it_again_once_a_handler_exists(
        self, context: ServiceContext, clock: FixedClock
    ) -> None:
        job_id = await add_job(context, "test.later", n=7)
        await worker(context, registry()).run_once(now=clock.now())
        async with context.unit_of_work() as db:
            await retry_job(db=db, job_id=job_id, now=clock.now())
            await db.commit()

        fixed = registry(later=record)
        runs = await worker(context, fixed).run_once(now=clock.now())

        assert [r.outcome for r in runs] == [JobOutcome.SUCCEEDED]
        assert await effects(context) == ["effect 7"]
        assert (await load(context, job_id)).last_error is None

    @pytest.mark.parametrize("status", ["queued", "succeeded"])
    async def test_refuses_a_job_that_is_not_dead_and_changes_nothing(
        self, context: ServiceContext, clock: FixedClock, status: str
    ) -> None:
        job_id = await add_job(context, n=1)
        if status == "succeeded":
            await worker(context, registry()).run_once(now=clock.now())
        before = await load(context, job_id)

        with pytest.raises(Conflict, match=f"job {job_id} is {status}; only dead jobs"):
            async with context.unit_of_work() as db:
                await retry_job(db=db, job_id=job_id, now=clock.now())

        after = await load(context, job_id)
        assert (after.status, after.attempts, after.updated_at) == (
            before.status,
            before.attempts,
            before.updated_at,
        )

    async def test_refuses_an_unknown_job(self, context: ServiceContext, clock: FixedClock) -> None:
        with pytest.raises(NotFound, match="job 404 not found"):
            async with context.unit_of_work() as db:
                await retry_job(db=db, job_id=404, now=clock.now())


class TestEnqueueing:
    async def test_queues_in_the_callers_transaction(
        self, context: ServiceContext, clock: FixedClock
    ) -> None:
        async with context.unit_of_work() as db:
            await enqueue(db=db, kind="test.record", payload={"n": 1}, now=clock.now())
            await db.rollback()

        assert await all_jobs(context) == []

    @pytest.mark.parametrize(
        ("options", "field"),
        [
            ({"kind": "Not a kind"}, "kind"),
            ({"payload": {"blob": "x" * 10_000}}, "payload"),
            ({"payload": {"tag": "A\x00"}}, "payload"),
            ({"payload": {"n": 2**64}}, "payload"),
            ({"max_attempts": 0}, "max_attempts"),
            ({"dedupe_key": "k" * 201}, "dedupe_key"),
            ({"run_at": datetime(2026, 3, 2, 9, 0)}, "run_at"),  # noqa: DTZ001 (naive on purpose)
        ],
    )
    async def test_refuses_bad_input_and_queues_nothing(
        self, context: ServiceContext, clock: FixedClock, options: dict[str, Any], field: str
    ) -> None:
        arguments: dict[str, Any] = {"kind": "test.record", "payload": {"n": 1}, **options}

        async def enqueue_and_commit() -> None:
            async with context.unit_of_work() as db:
                await enqueue(db=db, now=clock.now(), **arguments)
                await db.commit()

        with pytest.raises(InvalidRequest) as raised:
            await enqueue_and_commit()

        assert raised.value.field == field
        assert await all_jobs(context) == []

    async def test_a_dedupe_key_already_taken_returns_the_first_job(
        self, context: ServiceContext, clock: FixedClock
    ) -> None:
        first = await add_job(context, n=1, dedupe_key="session-7-close")

        again = await add_job(context, n=2, dedupe_key="session-7-close")
        other = await add_job(context, n=3, dedupe_key="session-8-close")

        assert again == first
        assert other != first
        assert [job.payload for job in await all_jobs(context)] == [{"n": 1}, {"n": 3}]

    async def test_a_taken_dedupe_key_leaves_the_callers_transaction_usable(
        self, context: ServiceContext, clock: FixedClock
    ) -> None:
        await add_job(context, n=1, dedupe_key="once")

        async with context.unit_of_work() as db:
            await enqueue(
                db=db, kind="test.record", payload={"n": 2}, now=clock.now(), dedupe_key="once"
            )
            await enqueue(db=db, kind="test.record", payload={"n": 3}, now=clock.now())
            await db.commit()

        assert [job.payload for job in await all_jobs(context)] == [{"n": 1}, {"n": 3}]


class TestTheLoop:
    async def test_runs_jobs_in_the_background_and_stops_cleanly(
        self, context: ServiceContext
    ) -> None:
        gate = Gate()
        jobs = worker(context, registry(gate=gate), poll_interval=timedelta(milliseconds=10))
        job_id = await add_job(context, "test.gate", n=1)

        async with jobs.running():
            await asyncio.wait_for(gate.entered.wait(), timeout=10)
            gate.release.set()
        # Stopping lets the running job finish and commit.

        assert (await load(context, job_id)).status == "succeeded"
        assert await effects(context) == ["effect 1"]

    async def test_gives_back_the_jobs_it_claimed_but_did_not_start_when_stopped(
        self, context: ServiceContext, clock: FixedClock
    ) -> None:
        # Arrange: the first job's handler asks the worker to stop.
        jobs = worker(context, registry())

        async def stop(*, db: AsyncSession, payload: dict[str, Any], now: datetime) -> None:
            jobs.stop()

        jobs.registry.register("test.stop", stop)
        first = await add_job(context, "test.stop", n=0)
        rest = [await add_job(context, n=n) for n in (1, 2)]

        # Act
        runs = await jobs.run_once(now=clock.now())

        # Assert
        assert [r.job_id for r in runs] == [first]
        for job_id in rest:
            job = await load(context, job_id)
            assert (job.status, job.attempts, job.locked_by) == ("queued", 0, None)
