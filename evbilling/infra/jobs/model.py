"""The background job queue's table (evbilling.infra.jobs works it): one row per job."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from evbilling.infra.db.base import Base, BigId


class Job(Base):
    """A unit of background work of one `kind`, run by a worker until it succeeds or dies.

    queued -> running -> succeeded, or back to queued (a retry at `run_at`), or dead (no
    attempts left, or no handler for its kind). A running job holds a lease (`locked_by`
    until `locked_until`); once the lease has expired another worker may take it over.
    """

    __tablename__ = "jobs"
    # The claim: the oldest eligible jobs of one status, by run_at.
    __table_args__ = (Index("ix_jobs_status_run_at", "status", "run_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    kind: Mapped[str] = mapped_column(String(64))
    # Bounded on enqueue (evbilling.infra.jobs.domain.MAX_PAYLOAD_BYTES); never logged.
    payload: Mapped[dict[str, Any]]
    status: Mapped[str] = mapped_column(String(12))
    # Times a worker has started the job (counted when it is claimed).
    attempts: Mapped[int] = mapped_column(Integer)
    max_attempts: Mapped[int] = mapped_column(Integer)
    # When the job may next be claimed.
    run_at: Mapped[datetime]
    locked_by: Mapped[str | None] = mapped_column(String(100))
    locked_until: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(String(1000))
    # Enqueueing the same key twice gives the first job back (one job per schedule slot).
    dedupe_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
