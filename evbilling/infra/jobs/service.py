"""Use cases of the job queue: enqueue, read, retry a dead job, record an outcome, prune.

Like every service these take `db` and `now` and never commit: `enqueue` joins the caller's
transaction, so a job is queued exactly when the work that asked for it commits.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from evbilling.infra.db.repository import KeysetPage, PageRequest
from evbilling.infra.jobs.domain import (
    DEFAULT_MAX_ATTEMPTS,
    MAX_ERROR_LENGTH,
    Backoff,
    JobKind,
    JobStatus,
    checked_dedupe_key,
    checked_max_attempts,
    checked_payload,
    error_text,
)
from evbilling.infra.jobs.model import Job
from evbilling.infra.jobs.repository import JobFilter, JobRepository
from evbilling.infra.validation import aware_datetime, check_page, record_id
from evbilling.kit import Conflict, InvalidRequest, NotFound

PRUNE_KIND = "jobs.prune"
# How long succeeded jobs stay visible (`evbilling jobs list`) before pruning deletes them.
DEFAULT_RETENTION = timedelta(days=7)
_PRUNE_BATCH = 1000


async def enqueue(
    *,
    db: AsyncSession,
    kind: str,
    payload: dict[str, Any],
    now: datetime,
    run_at: datetime | None = None,
    dedupe_key: str | None = None,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
) -> Job:
    """Queue a job of `kind` (due at `run_at`, default now) in the caller's transaction.

    With a `dedupe_key` that a job already holds, nothing is added and that job is returned,
    whatever its state: the key names one piece of work, done once.
    """
    job_kind = JobKind.parse(kind)
    due = aware_datetime(run_at, field="run_at") or now
    return await JobRepository(db).insert(
        kind=job_kind,
        payload=checked_payload(payload),
        run_at=due,
        max_attempts=checked_max_attempts(max_attempts),
        dedupe_key=checked_dedupe_key(dedupe_key),
        now=now,
    )


async def get_job(*, db: AsyncSession, job_id: int) -> Job:
    repository = JobRepository(db)
    job = await repository.get(id=record_id(job_id, field="job_id"))
    if job is None:
        raise _not_found(job_id)
    return job


async def list_jobs(
    *,
    db: AsyncSession,
    status: str | None = None,
    kind: str | None = None,
    limit: int = 50,
    after: int | None = None,
) -> KeysetPage[Job]:
    """Jobs newest first, filtered by status and kind; `after` is the previous `next_after`."""
    check_page(PageRequest(limit=limit))
    where = JobFilter(
        status=None if status is None else _status(status),
        kind=None if kind is None else JobKind.parse(kind),
    )
    after_id = None if after is None else record_id(after, field="after")
    return await JobRepository(db).list_page(where=where, limit=limit, after=after_id)


async def retry_job(*, db: AsyncSession, job_id: int, now: datetime) -> Job:
    """A dead job queued again, due now, with all its attempts back (its last error kept
    until the next attempt replaces or clears it)."""
    repository = JobRepository(db)
    job = await repository.get_for_update(id=record_id(job_id, field="job_id"))
    if job is None:
        raise _not_found(job_id)
    if job.status != JobStatus.DEAD:
        raise Conflict(f"job {job.id} is {job.status}; only dead jobs can be retried")
    job.status = JobStatus.QUEUED.value
    job.attempts = 0
    job.run_at = now
    job.finished_at = None
    job.updated_at = now
    await repository.flush()
    return job


def mark_succeeded(job: Job, *, now: datetime) -> None:
    """The job, locked by its worker, done: committed with the handler's effects."""
    job.status = JobStatus.SUCCEEDED.value
    job.last_error = None
    _unlock(job, now=now)
    job.finished_at = now


def mark_dead(job: Job, *, error: str, now: datetime) -> None:
    job.status = JobStatus.DEAD.value
    job.last_error = error[:MAX_ERROR_LENGTH]
    _unlock(job, now=now)
    job.finished_at = now


async def record_failure(
    *,
    db: AsyncSession,
    job_id: int,
    worker: str,
    error: BaseException,
    now: datetime,
    backoff: Backoff,
) -> Job | None:
    """After a failed attempt (its effects rolled back): queued again after the backoff, or
    dead when no attempts are left. None when `worker` no longer holds the job's lease."""
    job = await JobRepository(db).lock_own(job_id=job_id, worker=worker)
    if job is None:
        return None
    if job.attempts >= job.max_attempts:
        mark_dead(job, error=error_text(error), now=now)
    else:
        job.status = JobStatus.QUEUED.value
        job.last_error = error_text(error)
        job.run_at = now + backoff.delay(attempts=job.attempts, job_id=job.id)
        _unlock(job, now=now)
    await db.flush()
    return job


async def prune_finished(
    *, db: AsyncSession, now: datetime, keep: timedelta = DEFAULT_RETENTION
) -> int:
    """Delete succeeded jobs finished more than `keep` ago (a batch at a time); dead jobs
    stay until an operator retries them."""
    return await JobRepository(db).delete_finished(before=now - keep, limit=_PRUNE_BATCH)


async def prune_succeeded_jobs(*, db: AsyncSession, payload: dict[str, Any], now: datetime) -> None:
    """The queue's own job (PRUNE_KIND): keeps the table to recent history. The payload may
    set `keep_days` (default 7)."""
    keep_days = payload.get("keep_days", DEFAULT_RETENTION.days)
    if not isinstance(keep_days, int) or isinstance(keep_days, bool) or not 1 <= keep_days <= 3650:
        raise InvalidRequest("keep_days must be a whole number of days from 1 to 3650")
    await prune_finished(db=db, now=now, keep=timedelta(days=keep_days))


def _unlock(job: Job, *, now: datetime) -> None:
    job.locked_by = None
    job.locked_until = None
    job.updated_at = now


def _status(value: str) -> JobStatus:
    try:
        return JobStatus(value)
    except ValueError as exc:
        allowed = ", ".join(status.value for status in JobStatus)
        raise InvalidRequest(f"must be one of {allowed}", field="status") from exc


def _not_found(job_id: object) -> NotFound:
    return NotFound(kind="job", key=job_id)
