"""The background job queue (docs/jobs.md): a `jobs` table claimed with FOR UPDATE SKIP
LOCKED on PostgreSQL, retries with exponential backoff, a dead-letter state, periodic
schedules enqueued once per slot, and `evbilling jobs ...` to look at it.

A slice offers a handler (`JobHandler`: `async (*, db, payload, now) -> None`, in its
`jobs.py`); the composition root registers it on the `JobRegistry`; work that needs doing
later calls `enqueue(db=..., kind=..., payload=..., now=...)` in its own transaction; the
`JobWorker` in the server runs it. The queue imports no slice.
"""

from evbilling.infra.jobs.domain import Backoff, JobKind, JobOutcome, JobStatus
from evbilling.infra.jobs.registry import JobHandler, JobRegistry, Schedule, StandaloneJobHandler
from evbilling.infra.jobs.service import (
    PRUNE_KIND,
    enqueue,
    get_job,
    list_jobs,
    prune_finished,
    prune_succeeded_jobs,
    retry_job,
)
from evbilling.infra.jobs.worker import JobRun, JobTimedOut, JobWorker

__all__ = [
    "PRUNE_KIND",
    "Backoff",
    "JobHandler",
    "JobKind",
    "JobOutcome",
    "JobRegistry",
    "JobRun",
    "JobStatus",
    "JobTimedOut",
    "JobWorker",
    "Schedule",
    "StandaloneJobHandler",
    "enqueue",
    "get_job",
    "list_jobs",
    "prune_finished",
    "prune_succeeded_jobs",
    "retry_job",
]
