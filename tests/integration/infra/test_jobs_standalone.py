"""Jobs that talk to the outside world run outside the job's transaction: each phase commits
on its own (the idempotency key before the call, the outcome after), and the worker marks the
job succeeded once the handler returns."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from evbilling.infra.context import ServiceContext
from evbilling.infra.jobs import JobOutcome, JobRegistry
from evbilling.kit import FixedClock
from evbilling.models import Operator
from tests.integration.infra.job_helpers import (
    EXACT_BACKOFF,
    HandlerFailed,
    add_job,
    effects,
    load,
    worker,
)


class PhasedCall:
    """Commits a "before" row, checks no transaction of the worker is open meanwhile (the
    handler gets no session at all), then commits an "after" row or fails."""

    def __init__(self, *, fail: bool = False) -> None:
        self.fail = fail
        self.calls = 0

    async def __call__(
        self, *, context: ServiceContext, payload: dict[str, Any], now: datetime
    ) -> None:
        self.calls += 1
        async with context.unit_of_work() as db:
            db.add(Operator(name=f"effect {payload['n']} before", created_at=now))
            await db.commit()
        if self.fail:
            raise HandlerFailed("the outside call failed")
        async with context.unit_of_work() as db:
            db.add(Operator(name=f"effect {payload['n']} after", created_at=now))
            await db.commit()


def standalone_registry(handler: PhasedCall) -> JobRegistry:
    jobs = JobRegistry()
    jobs.register_standalone("test.phased", handler)
    return jobs


class TestStandaloneJobs:
    async def test_each_phase_commits_and_the_job_succeeds(
        self, context: ServiceContext, clock: FixedClock
    ) -> None:
        handler = PhasedCall()
        job_id = await add_job(context, kind="test.phased", n=1)

        runs = await worker(context, standalone_registry(handler)).run_once(now=clock.now())

        assert [(r.job_id, r.outcome) for r in runs] == [(job_id, JobOutcome.SUCCEEDED)]
        assert await effects(context) == ["effect 1 before", "effect 1 after"]
        assert (await load(context, job_id)).status == "succeeded"

    async def test_a_failure_keeps_the_committed_phase_and_retries_after_the_backoff(
        self, context: ServiceContext, clock: FixedClock
    ) -> None:
        handler = PhasedCall(fail=True)
        job_id = await add_job(context, kind="test.phased", n=2)

        runs = await worker(context, standalone_registry(handler)).run_once(now=clock.now())

        assert [r.outcome for r in runs] == [JobOutcome.RETRYING]
        assert await effects(context) == ["effect 2 before"]
        job = await load(context, job_id)
        assert job.status == "queued"
        assert job.run_at == clock.now() + EXACT_BACKOFF.base
        assert job.last_error is not None
        assert "HandlerFailed" in job.last_error

    async def test_a_job_whose_lease_was_taken_over_is_not_marked_by_the_late_worker(
        self, context: ServiceContext, clock: FixedClock
    ) -> None:
        job_id = await add_job(context, kind="test.phased", n=3)
        slow = worker(context, standalone_registry(PhasedCall()), name="slow")
        (claimed,) = await slow.claim(now=clock.now())
        later = clock.now() + timedelta(minutes=6)
        other = worker(context, standalone_registry(PhasedCall()), name="other")
        await other.run_once(now=later)

        run = await slow.run_claimed(claimed, now=later)

        assert run.outcome is JobOutcome.LOST
        assert (await load(context, job_id)).status == "succeeded"

    def test_a_kind_is_either_standalone_or_transactional_never_both(self) -> None:
        jobs = JobRegistry()
        jobs.register_standalone("test.phased", PhasedCall())

        with pytest.raises(ValueError, match="registered twice"):
            jobs.register("test.phased", PhasedCall())  # type: ignore[arg-type]
        assert jobs.kinds == ("test.phased",)
        assert jobs.handler("test.phased") is None
