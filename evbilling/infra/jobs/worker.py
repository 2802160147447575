"""The worker: enqueues scheduled slots, claims due jobs and runs each in its own transaction.

A job's effects and its `succeeded` mark commit together. When the handler raises, its
effects are rolled back and a second transaction records the failure (a retry after the
backoff, or dead). The worker holds the job's row lock while the handler runs and checks it
still holds the lease, so a job that another worker took over (after this one's lease
expired) never commits twice. Logs name the job's kind, id and attempt and an error's type,
never the payload or an error's message (either may carry personal data).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import socket
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from evbilling.infra.context import ServiceContext
from evbilling.infra.jobs.domain import (
    MAX_WORKER_ID_LENGTH,
    Backoff,
    JobOutcome,
    JobStatus,
    slot_dedupe_key,
    slot_start,
)
from evbilling.infra.jobs.model import Job
from evbilling.infra.jobs.registry import JobRegistry, Schedule, StandaloneJobHandler
from evbilling.infra.jobs.repository import JobRepository
from evbilling.infra.jobs.service import enqueue, mark_dead, mark_succeeded, record_failure
from evbilling.infra.logging import get_logger
from evbilling.kit import EVBillingError

log = get_logger(__name__)


class JobTimedOut(EVBillingError):
    """A handler ran past its worker's lease (another worker could have taken the job)."""


@dataclass(frozen=True, slots=True)
class JobRun:
    job_id: int
    kind: str
    attempt: int
    outcome: JobOutcome
    error_type: str | None = None


def default_worker_id() -> str:
    """host:pid:random, so the leases of two processes (or two starts) never look alike."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"[-MAX_WORKER_ID_LENGTH:]


@dataclass(slots=True)
class JobWorker:
    context: ServiceContext
    registry: JobRegistry
    worker_id: str = field(default_factory=default_worker_id)
    batch_size: int = 10
    # A claimed job is this worker's until then; past it another worker may take it over.
    lease: timedelta = timedelta(minutes=5)
    poll_interval: timedelta = timedelta(seconds=1)
    backoff: Backoff = field(default_factory=Backoff)
    _stopping: asyncio.Event = field(default_factory=asyncio.Event)
    # The last slot each schedule was enqueued for by this worker (saves a write per poll).
    _enqueued_slots: dict[str, datetime] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not 1 <= self.batch_size <= 1000:
            raise ValueError("batch_size must be between 1 and 1000")
        if self.lease < timedelta(seconds=1) or self.poll_interval <= timedelta(0):
            raise ValueError("the lease must be at least 1 s and the poll interval positive")
        if not 0 < len(self.worker_id) <= MAX_WORKER_ID_LENGTH:
            raise ValueError(f"worker_id must be 1 to {MAX_WORKER_ID_LENGTH} characters")

    # -- one round -----------------------------------------------------------------------

    async def run_once(self, *, now: datetime | None = None) -> list[JobRun]:
        """Enqueue due schedule slots, claim up to `batch_size` due jobs and run them.

        `now` pins the time of the whole round (tests); by default the context's clock is read
        at each step."""
        await self.enqueue_schedules(now=now or self.context.clock.now())
        claimed = await self.claim(now=now or self.context.clock.now())
        runs: list[JobRun] = []
        for index, job in enumerate(claimed):
            if self._stopping.is_set():
                await self._release(claimed[index:], now=now or self.context.clock.now())
                break
            runs.append(await self.run_claimed(job, now=now or self.context.clock.now()))
        return runs

    async def enqueue_schedules(self, *, now: datetime) -> list[Job]:
        """One job per schedule for the slot `now` falls in, unless already enqueued (here or
        by another instance: the slot's dedupe key)."""
        due: list[tuple[Schedule, datetime]] = []
        for schedule in self.registry.schedules:
            slot = slot_start(now=now, every=schedule.every)
            if self._enqueued_slots.get(schedule.kind) != slot:
                due.append((schedule, slot))
        if not due:
            return []
        async with self.context.unit_of_work() as db:
            jobs = [
                await enqueue(
                    db=db,
                    kind=schedule.kind,
                    payload=dict(schedule.payload),
                    now=now,
                    run_at=slot,
                    dedupe_key=slot_dedupe_key(kind=schedule.kind, slot=slot),
                    max_attempts=schedule.max_attempts,
                )
                for schedule, slot in due
            ]
            await db.commit()
        for schedule, slot in due:
            self._enqueued_slots[schedule.kind] = slot
        return jobs

    async def claim(self, *, now: datetime) -> list[Job]:
        """Take up to `batch_size` due jobs (committed: they are this worker's until the lease
        ends), after dead-lettering expired leases that had no attempts left."""
        async with self.context.unit_of_work() as db:
            repository = JobRepository(db)
            buried = await repository.bury_expired(now=now, limit=self.batch_size)
            claimed = await repository.claim(
                worker=self.worker_id, now=now, lease=self.lease, limit=self.batch_size
            )
            await db.commit()
        for job_id in buried:
            log.error("jobs.dead", job_id=job_id, reason="lease_expired")
        return list(claimed)

    async def run_claimed(self, job: Job, *, now: datetime) -> JobRun:
        """Run one claimed job in its own transaction and record how it ended."""
        fields = {"job_id": job.id, "kind": job.kind, "attempt": job.attempts}
        standalone = self.registry.standalone(job.kind)
        if standalone is not None:
            return await self._run_standalone(job, standalone, now=now)
        handler = self.registry.handler(job.kind)
        if handler is None:
            return await self._bury_unknown(job, now=now)
        try:
            async with self.context.unit_of_work() as db:
                locked = await JobRepository(db).lock_own(job_id=job.id, worker=self.worker_id)
                if locked is None:
                    log.warning("jobs.lost", **fields)
                    return self._run(job, JobOutcome.LOST)
                try:
                    async with asyncio.timeout(self.lease.total_seconds()):
                        await handler(db=db, payload=dict(locked.payload), now=now)
                except TimeoutError as exc:
                    raise JobTimedOut(f"did not finish within the lease ({self.lease})") from exc
                mark_succeeded(locked, now=now)
                await db.commit()
        except Exception as error:
            return await self._fail(job, error=error, now=now)
        log.info("jobs.succeeded", **fields)
        return self._run(job, JobOutcome.SUCCEEDED)

    async def _run_standalone(
        self, job: Job, handler: StandaloneJobHandler, *, now: datetime
    ) -> JobRun:
        """Run a handler that opens its own units of work, then mark the job succeeded. Its
        effects are committed as it goes, so a lease lost meanwhile only loses the mark: the
        job runs again elsewhere, and the handler is written to be run again."""
        fields = {"job_id": job.id, "kind": job.kind, "attempt": job.attempts}
        try:
            try:
                async with asyncio.timeout(self.lease.total_seconds()):
                    await handler(context=self.context, payload=dict(job.payload), now=now)
            except TimeoutError as exc:
                raise JobTimedOut(f"did not finish within the lease ({self.lease})") from exc
            async with self.context.unit_of_work() as db:
                locked = await JobRepository(db).lock_own(job_id=job.id, worker=self.worker_id)
                if locked is None:
                    log.warning("jobs.lost", **fields)
                    return self._run(job, JobOutcome.LOST)
                mark_succeeded(locked, now=now)
                await db.commit()
        except Exception as error:
            return await self._fail(job, error=error, now=now)
        log.info("jobs.succeeded", **fields)
        return self._run(job, JobOutcome.SUCCEEDED)

    async def _fail(self, job: Job, *, error: Exception, now: datetime) -> JobRun:
        fields = {"job_id": job.id, "kind": job.kind, "attempt": job.attempts}
        error_type = type(error).__name__
        async with self.context.unit_of_work() as db:
            failed = await record_failure(
                db=db,
                job_id=job.id,
                worker=self.worker_id,
                error=error,
                now=now,
                backoff=self.backoff,
            )
            await db.commit()
        if failed is None:
            log.warning("jobs.lost", error_type=error_type, **fields)
            return self._run(job, JobOutcome.LOST, error_type=error_type)
        if failed.status == JobStatus.DEAD:
            log.error("jobs.dead", error_type=error_type, **fields)
            return self._run(job, JobOutcome.DEAD, error_type=error_type)
        log.warning(
            "jobs.failed", error_type=error_type, retry_at=failed.run_at.isoformat(), **fields
        )
        return self._run(job, JobOutcome.RETRYING, error_type=error_type)

    async def _bury_unknown(self, job: Job, *, now: datetime) -> JobRun:
        async with self.context.unit_of_work() as db:
            locked = await JobRepository(db).lock_own(job_id=job.id, worker=self.worker_id)
            if locked is None:
                return self._run(job, JobOutcome.LOST)
            mark_dead(locked, error=f"no handler is registered for job kind {job.kind!r}", now=now)
            await db.commit()
        log.error("jobs.dead", job_id=job.id, kind=job.kind, reason="unknown_kind")
        return self._run(job, JobOutcome.DEAD, error_type="UnknownKind")

    async def _release(self, jobs: Sequence[Job], *, now: datetime) -> None:
        async with self.context.unit_of_work() as db:
            await JobRepository(db).release(
                job_ids=[job.id for job in jobs], worker=self.worker_id, now=now
            )
            await db.commit()

    @staticmethod
    def _run(job: Job, outcome: JobOutcome, *, error_type: str | None = None) -> JobRun:
        return JobRun(
            job_id=job.id,
            kind=job.kind,
            attempt=job.attempts,
            outcome=outcome,
            error_type=error_type,
        )

    # -- the server's loop ---------------------------------------------------------------

    async def run_forever(self) -> None:
        """Poll until `stop()`: a full batch is followed at once by the next round, anything
        less by a pause of `poll_interval`. A failing round (database away) is logged and
        retried after the pause; the loop itself never ends on an error."""
        log.info("jobs.worker_started", worker=self.worker_id, kinds=list(self.registry.kinds))
        while not self._stopping.is_set():
            try:
                runs = await self.run_once()
            except Exception as error:
                log.error("jobs.round_failed", error_type=type(error).__name__)
                runs = []
            if len(runs) < self.batch_size:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(
                        self._stopping.wait(), timeout=self.poll_interval.total_seconds()
                    )
        log.info("jobs.worker_stopped", worker=self.worker_id)

    def stop(self) -> None:
        """Ask the loop to end after the job it is running; jobs it claimed but has not
        started are given back."""
        self._stopping.set()

    @asynccontextmanager
    async def running(self, *, grace: timedelta = timedelta(seconds=10)) -> AsyncIterator[None]:
        """The loop in a background task for the duration of the block (the server's
        lifespan). On leaving, it is stopped, and cancelled if its job outlasts `grace`: the
        job's transaction rolls back and the job is retried once its lease expires."""
        task = asyncio.create_task(self.run_forever(), name=f"jobs:{self.worker_id}")
        try:
            yield
        finally:
            self.stop()
            try:
                await asyncio.wait_for(task, timeout=grace.total_seconds())
            except TimeoutError:
                log.warning("jobs.worker_cancelled", worker=self.worker_id)
