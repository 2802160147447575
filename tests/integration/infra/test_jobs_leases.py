"""Claims and leases (a crashed worker's job is taken over once its lease expires, never
before, and never committed twice), periodic schedules (one job per slot), pruning."""

from __future__ import annotations

from datetime import timedelta

from evbilling.config import Settings
from evbilling.infra.context import ServiceContext
from evbilling.infra.jobs import JobOutcome, list_jobs, prune_succeeded_jobs
from evbilling.infra.jobs.domain import slot_start
from evbilling.kit import FixedClock
from evbilling.main import job_registry
from tests.integration.infra.job_helpers import (
    LEASE,
    add_job,
    all_jobs,
    effects,
    load,
    registry,
    worker,
)


class TestLeases:
    async def test_a_claimed_job_is_leased_to_its_worker(
        self, context: ServiceContext, clock: FixedClock
    ) -> None:
        job_id = await add_job(context, n=1)

        claimed = await worker(context, registry(), "w-a").claim(now=clock.now())

        assert [job.id for job in claimed] == [job_id]
        job = await load(context, job_id)
        assert (job.status, job.attempts, job.locked_by) == ("running", 1, "w-a")
        assert job.locked_until == clock.now() + LEASE

    async def test_a_crashed_workers_job_waits_for_its_lease_then_runs_elsewhere(
        self, context: ServiceContext, clock: FixedClock
    ) -> None:
        # Arrange: w-a claims the job and dies before running it.
        job_id = await add_job(context, n=1)
        await worker(context, registry(), "w-a").claim(now=clock.now())
        rescuer = worker(context, registry(), "w-b")

        # Act
        early = await rescuer.run_once(now=clock.now() + LEASE - timedelta(seconds=1))
        late = await rescuer.run_once(now=clock.now() + LEASE)

        # Assert
        assert early == []
        assert [(r.job_id, r.outcome, r.attempt) for r in late] == [
            (job_id, JobOutcome.SUCCEEDED, 2)
        ]
        assert await effects(context) == ["effect 1"]

    async def test_a_worker_that_lost_its_lease_commits_nothing(
        self, context: ServiceContext, clock: FixedClock
    ) -> None:
        # Arrange: w-a claims, stalls past its lease; w-b takes the job over and runs it.
        job_id = await add_job(context, n=1)
        stalled = worker(context, registry(), "w-a")
        [claimed] = await stalled.claim(now=clock.now())
        await worker(context, registry(), "w-b").run_once(now=clock.now() + LEASE)

        # Act
        run = await stalled.run_claimed(claimed, now=clock.now() + LEASE)

        # Assert
        assert run.outcome == JobOutcome.LOST
        assert await effects(context) == ["effect 1"]
        job = await load(context, job_id)
        assert (job.status, job.attempts) == ("succeeded", 2)

    async def test_a_lease_lost_while_failing_records_no_failure(
        self, context: ServiceContext, clock: FixedClock
    ) -> None:
        job_id = await add_job(context, "test.fail", n=1)
        stalled = worker(context, registry(), "w-a")
        [claimed] = await stalled.claim(now=clock.now())
        await worker(context, registry(), "w-b").claim(now=clock.now() + LEASE)

        run = await stalled.run_claimed(claimed, now=clock.now() + LEASE)

        assert run.outcome == JobOutcome.LOST
        job = await load(context, job_id)
        assert (job.status, job.locked_by, job.last_error) == ("running", "w-b", None)

    async def test_an_expired_lease_on_the_last_attempt_is_dead_not_run_again(
        self, context: ServiceContext, clock: FixedClock
    ) -> None:
        job_id = await add_job(context, n=1, max_attempts=1)
        await worker(context, registry(), "w-a").claim(now=clock.now())

        runs = await worker(context, registry(), "w-b").run_once(now=clock.now() + LEASE)

        assert runs == []
        job = await load(context, job_id)
        assert (job.status, job.attempts, job.finished_at) == ("dead", 1, clock.now() + LEASE)
        assert job.last_error == "lease expired on the last attempt (the worker stopped or crashed)"
        assert await effects(context) == []


class TestSchedules:
    async def test_enqueues_one_job_per_slot_however_many_workers_run(
        self, context: ServiceContext, clock: FixedClock
    ) -> None:
        # Arrange
        jobs = registry()
        jobs.schedule("test.record", every=timedelta(minutes=10), payload={"n": "tick"})
        slot = slot_start(now=clock.now(), every=timedelta(minutes=10))

        # Act: two instances, several polls within one slot.
        for name in ("w-a", "w-b", "w-a"):
            await worker(context, jobs, name).run_once(now=clock.now())
            clock.advance(seconds=60)

        # Assert
        [job] = await all_jobs(context)
        assert (job.kind, job.status, job.run_at) == ("test.record", "succeeded", slot)
        assert job.dedupe_key == f"schedule:test.record@{slot:%Y-%m-%dT%H:%M:%S.%f}Z"
        assert await effects(context) == ["effect tick"]

    async def test_the_next_slot_gets_its_own_job(
        self, context: ServiceContext, clock: FixedClock
    ) -> None:
        jobs = registry()
        jobs.schedule("test.record", every=timedelta(minutes=10), payload={"n": "tick"})
        runner = worker(context, jobs)

        await runner.run_once(now=clock.now())
        await runner.run_once(now=clock.now() + timedelta(minutes=10))

        slots = [job.run_at for job in await all_jobs(context)]
        first = slot_start(now=clock.now(), every=timedelta(minutes=10))
        assert slots == [first, first + timedelta(minutes=10)]

    async def test_a_failed_slot_is_retried_not_enqueued_again(
        self, context: ServiceContext, clock: FixedClock
    ) -> None:
        jobs = registry()
        jobs.schedule("test.fail", every=timedelta(hours=1), payload={"n": "tick"})
        runner = worker(context, jobs)
        await runner.run_once(now=clock.now())

        # A restarted worker (no memory of the slot) in the same hour.
        await worker(context, jobs).run_once(now=clock.now() + timedelta(seconds=30))

        [job] = await all_jobs(context)
        assert (job.status, job.attempts) == ("queued", 2)


class TestListingAndPruning:
    async def test_lists_newest_first_filtered_by_state_and_kind(
        self, context: ServiceContext, clock: FixedClock
    ) -> None:
        ok = await add_job(context, n=1)
        failing = await add_job(context, "test.fail", n=2, max_attempts=1)
        queued = await add_job(context, n=3, run_at=clock.now() + timedelta(hours=1))
        await worker(context, registry()).run_once(now=clock.now())

        async with context.unit_of_work() as db:
            everything = await list_jobs(db=db)
            dead = await list_jobs(db=db, status="dead")
            records = await list_jobs(db=db, kind="test.record")
            first_page = await list_jobs(db=db, limit=2)
            second_page = await list_jobs(db=db, limit=2, after=first_page.next_after)

        assert [job.id for job in everything.rows] == [queued, failing, ok]
        assert [job.id for job in dead.rows] == [failing]
        assert [job.id for job in records.rows] == [queued, ok]
        assert [job.id for job in first_page.rows] == [queued, failing]
        assert ([job.id for job in second_page.rows], second_page.next_after) == ([ok], None)

    async def test_pruning_deletes_old_successes_and_keeps_dead_and_recent_jobs(
        self, context: ServiceContext, clock: FixedClock
    ) -> None:
        # Arrange: a success and a dead job ten days old, a success from yesterday.
        old = clock.now()
        await add_job(context, n=1)
        dead = await add_job(context, "test.fail", n=2, max_attempts=1)
        await worker(context, registry()).run_once(now=old)
        recent = await add_job(context, n=3)
        await worker(context, registry()).run_once(now=old + timedelta(days=9))

        # Act
        async with context.unit_of_work() as db:
            await prune_succeeded_jobs(db=db, payload={}, now=old + timedelta(days=10))
            await db.commit()

        # Assert
        assert [job.id for job in await all_jobs(context)] == [dead, recent]

    async def test_pruning_is_a_job_the_server_schedules(
        self, context: ServiceContext, clock: FixedClock
    ) -> None:
        await add_job(context, n=1)
        await worker(context, registry()).run_once(now=clock.now())

        server_jobs = job_registry(settings=Settings())
        server = worker(context, server_jobs)
        # Rounds until the slots are done: there are more schedules than one round's batch.
        while await server.run_once(now=clock.now() + timedelta(days=8)):
            pass

        # The week-old job is gone; what is left are this round's scheduled slots.
        kinds = sorted((job.kind, job.status) for job in await all_jobs(context))
        assert ("jobs.prune", "succeeded") in kinds
        assert kinds == sorted((s.kind, "succeeded") for s in server_jobs.schedules)
