"""Which handler runs each kind of job, and which kinds recur on a schedule.

The composition root (evbilling.main.job_registry) builds one registry; each slice offers its
handlers (in its `jobs.py`) and main registers them there, one line per kind.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from evbilling.infra.context import ServiceContext
from evbilling.infra.jobs.domain import (
    DEFAULT_MAX_ATTEMPTS,
    JobKind,
    checked_max_attempts,
    checked_payload,
)


class JobHandler(Protocol):
    """Does one job's work in `db` (the job's own transaction: flush, never commit). Raising
    rolls the work back and schedules a retry; the payload is what `enqueue` was given."""

    async def __call__(
        self, *, db: AsyncSession, payload: dict[str, Any], now: datetime
    ) -> None: ...


class StandaloneJobHandler(Protocol):
    """Does one job's work in units of work it opens itself (`context.unit_of_work()`), for
    work that leaves the process (a payment provider, a charger): store the idempotency key
    and commit, call out with no transaction open, record the outcome in a second unit of
    work. It must be safe to run again after a crash at any point; raising schedules a retry
    like any job, and the worker marks the job succeeded once it returns."""

    async def __call__(
        self, *, context: ServiceContext, payload: dict[str, Any], now: datetime
    ) -> None: ...


@dataclass(frozen=True, slots=True)
class Schedule:
    """Enqueue one `kind` job per slot of `every` (slots counted from the Unix epoch)."""

    kind: str
    every: timedelta
    payload: Mapping[str, Any]
    max_attempts: int


@dataclass(slots=True)
class JobRegistry:
    _handlers: dict[str, JobHandler] = field(default_factory=dict)
    _standalone: dict[str, StandaloneJobHandler] = field(default_factory=dict)
    _schedules: dict[str, Schedule] = field(default_factory=dict)

    def register(self, kind: str, handler: JobHandler) -> None:
        """Run `handler` for jobs of `kind` (dotted, named after the slice: charging.x)."""
        self._handlers[self._new_kind(kind)] = handler

    def register_standalone(self, kind: str, handler: StandaloneJobHandler) -> None:
        """Run `handler` outside the job's transaction (see StandaloneJobHandler)."""
        self._standalone[self._new_kind(kind)] = handler

    def _new_kind(self, kind: str) -> str:
        name = JobKind.parse(kind)
        if name in self._handlers or name in self._standalone:
            raise ValueError(f"job kind {name!r} is registered twice")
        return name

    def schedule(
        self,
        kind: str,
        *,
        every: timedelta,
        payload: Mapping[str, Any] | None = None,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
    ) -> None:
        """Run `kind` (registered first) once in every slot of `every`, on however many
        instances: a slot's job is enqueued under a key naming the slot."""
        name = JobKind.parse(kind)
        if name not in self._handlers and name not in self._standalone:
            raise ValueError(f"job kind {name!r} has no handler; register it first")
        if name in self._schedules:
            raise ValueError(f"job kind {name!r} is scheduled twice")
        if every < timedelta(seconds=1) or every % timedelta(seconds=1):
            raise ValueError("a schedule runs every whole number of seconds, at least 1")
        self._schedules[name] = Schedule(
            kind=name,
            every=every,
            payload=checked_payload(dict(payload or {})),
            max_attempts=checked_max_attempts(max_attempts),
        )

    def handler(self, kind: str) -> JobHandler | None:
        return self._handlers.get(kind)

    def standalone(self, kind: str) -> StandaloneJobHandler | None:
        return self._standalone.get(kind)

    @property
    def kinds(self) -> tuple[str, ...]:
        return tuple(sorted([*self._handlers, *self._standalone]))

    @property
    def schedules(self) -> tuple[Schedule, ...]:
        return tuple(self._schedules.values())
