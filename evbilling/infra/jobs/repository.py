"""All SQL of the job queue: enqueue (once per dedupe key), claim, finish, retry, list."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, delete, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from evbilling.infra.db.repository import KeysetPage, RepositoryBase
from evbilling.infra.jobs.domain import JobStatus
from evbilling.infra.jobs.model import Job


@dataclass(frozen=True, slots=True)
class JobFilter:
    status: JobStatus | None = None
    kind: str | None = None


class JobRepository(RepositoryBase[Job]):
    model = Job
    owner_column = None  # jobs belong to the installation, not to an operator
    kind = "job"

    async def insert(
        self,
        *,
        kind: str,
        payload: dict[str, Any],
        run_at: datetime,
        max_attempts: int,
        dedupe_key: str | None,
        now: datetime,
    ) -> Job:
        """A new queued job; with a dedupe key already taken, the job holding it instead.

        ON CONFLICT DO NOTHING rather than catching the unique violation: on PostgreSQL a
        failed INSERT would abort the caller's whole transaction.
        """
        values = {
            "kind": kind,
            "payload": payload,
            "status": JobStatus.QUEUED.value,
            "attempts": 0,
            "max_attempts": max_attempts,
            "run_at": run_at,
            "dedupe_key": dedupe_key,
            "created_at": now,
            "updated_at": now,
        }
        on_postgresql = self.db.get_bind().dialect.name == "postgresql"
        insert = postgresql.insert if on_postgresql else sqlite.insert
        statement = insert(Job).values(**values).on_conflict_do_nothing().returning(Job.id)
        job_id = (await self.db.execute(statement)).scalar_one_or_none()
        if job_id is None:
            existing = await self.db.execute(select(Job).where(Job.dedupe_key == dedupe_key))
            return existing.scalar_one()
        return await self.db.get_one(Job, job_id)

    async def claim(
        self, *, worker: str, now: datetime, lease: timedelta, limit: int
    ) -> Sequence[Job]:
        """Take up to `limit` due jobs for `worker` until `now + lease`, oldest first.

        On PostgreSQL the candidates are locked with FOR UPDATE SKIP LOCKED, so concurrent
        workers take disjoint jobs without waiting on each other. SQLite has one writer; the
        UPDATE repeats the eligibility test, so a job another process took in between (a
        stale read) is left out rather than taken twice.
        """
        candidates = (
            select(Job.id)
            .where(_eligible(now))
            .order_by(Job.run_at, Job.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        ids = list((await self.db.execute(candidates)).scalars())
        if not ids:
            return []
        statement = (
            update(Job)
            .where(Job.id.in_(ids), _eligible(now))
            .values(
                status=JobStatus.RUNNING.value,
                attempts=Job.attempts + 1,
                locked_by=worker,
                locked_until=now + lease,
                updated_at=now,
            )
            .returning(Job)
            .execution_options(synchronize_session=False)
        )
        claimed = list((await self.db.execute(statement)).scalars())
        return sorted(claimed, key=lambda job: (job.run_at, job.id))

    async def bury_expired(self, *, now: datetime, limit: int) -> Sequence[int]:
        """Dead-letter running jobs whose lease expired with no attempts left: their worker
        died (or lost its connection) on the last attempt, so nothing retries them."""
        candidates = (
            select(Job.id)
            .where(_lease_expired(now), Job.attempts >= Job.max_attempts)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        ids = list((await self.db.execute(candidates)).scalars())
        if not ids:
            return []
        statement = (
            update(Job)
            .where(Job.id.in_(ids), _lease_expired(now))
            .values(
                status=JobStatus.DEAD.value,
                last_error="lease expired on the last attempt (the worker stopped or crashed)",
                locked_by=None,
                locked_until=None,
                finished_at=now,
                updated_at=now,
            )
            .returning(Job.id)
        )
        return list((await self.db.execute(statement)).scalars())

    async def lock_own(self, *, job_id: int, worker: str) -> Job | None:
        """The job, locked until the transaction ends, if `worker` still holds its lease."""
        statement = (
            select(Job)
            .where(
                Job.id == job_id,
                Job.status == JobStatus.RUNNING.value,
                Job.locked_by == worker,
            )
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        job: Job | None = (await self.db.execute(statement)).scalar_one_or_none()
        return job

    async def release(self, *, job_ids: Sequence[int], worker: str, now: datetime) -> None:
        """Give back jobs claimed but never started (the worker is stopping): queued again,
        due now, the claim's attempt not counted."""
        await self.db.execute(
            update(Job)
            .where(
                Job.id.in_(job_ids),
                Job.status == JobStatus.RUNNING.value,
                Job.locked_by == worker,
            )
            .values(
                status=JobStatus.QUEUED.value,
                attempts=Job.attempts - 1,
                run_at=now,
                locked_by=None,
                locked_until=None,
                updated_at=now,
            )
        )

    async def list_page(
        self, *, where: JobFilter, limit: int, after: int | None
    ) -> KeysetPage[Job]:
        statement = select(Job)
        if where.status is not None:
            statement = statement.where(Job.status == where.status.value)
        if where.kind is not None:
            statement = statement.where(Job.kind == where.kind)
        return await self.keyset_page(statement, limit=limit, after=after)

    async def delete_finished(self, *, before: datetime, limit: int) -> int:
        """Delete up to `limit` jobs that succeeded before `before`; dead ones are kept for
        the operator."""
        doomed = (
            select(Job.id)
            .where(Job.status == JobStatus.SUCCEEDED.value, Job.finished_at < before)
            .limit(limit)
            .scalar_subquery()
        )
        result = await self.db.execute(
            delete(Job).where(Job.id.in_(doomed)).execution_options(synchronize_session=False)
        )
        return int(getattr(result, "rowcount", 0) or 0)


def _lease_expired(now: datetime) -> ColumnElement[bool]:
    return and_(Job.status == JobStatus.RUNNING.value, Job.locked_until <= now)


def _eligible(now: datetime) -> ColumnElement[bool]:
    """Due queued jobs, and running ones whose worker's lease expired with attempts left."""
    return or_(
        and_(Job.status == JobStatus.QUEUED.value, Job.run_at <= now),
        and_(_lease_expired(now), Job.attempts < Job.max_attempts),
    )
