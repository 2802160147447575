"""How a job reads in the CLI (and, once it has one, the API): validated from the row."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import AliasChoices, Field

from evbilling.infra.http.schemas import Output
from evbilling.infra.jobs.domain import JobOutcome, JobStatus


class JobSummaryRead(Output):
    """A job in a list: everything but its payload."""

    id: int
    kind: str
    status: JobStatus
    attempts: int = Field(description="Times a worker started it.")
    max_attempts: int
    run_at: datetime = Field(description="When it may next run (or be taken over, if running).")
    last_error: str | None
    finished_at: datetime | None


class JobRead(JobSummaryRead):
    payload: dict[str, Any]
    locked_by: str | None
    locked_until: datetime | None
    dedupe_key: str | None
    created_at: datetime
    updated_at: datetime


class JobPage(Output):
    """Newest first; pass `next_after` as `after` for the next page."""

    items: list[JobSummaryRead] = Field(validation_alias=AliasChoices("items", "rows"))
    limit: int
    next_after: int | None


class JobRunRead(Output):
    job_id: int
    kind: str
    attempt: int
    outcome: JobOutcome
    error_type: str | None
