"""What the job queue's tests share: handlers whose effects are rows (operators named after
the job), a registry of them, and reads of the jobs table."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from evbilling.infra.context import ServiceContext
from evbilling.infra.jobs import Backoff, JobRegistry, JobWorker, enqueue
from evbilling.kit import EVBillingError
from evbilling.models import Job, Operator

LEASE = timedelta(minutes=5)
# No jitter: a retry's time is exactly base * 2 ** (attempts - 1).
EXACT_BACKOFF = Backoff(base=timedelta(seconds=30), cap=timedelta(hours=1), jitter=0)


class HandlerFailed(EVBillingError):
    """A handler that fails after it has written."""


async def record(*, db: AsyncSession, payload: dict[str, Any], now: datetime) -> None:
    """Writes an operator named after the job: a row the job's transaction commits or not."""
    db.add(Operator(name=f"effect {payload['n']}", created_at=now))
    await db.flush()


async def record_then_fail(*, db: AsyncSession, payload: dict[str, Any], now: datetime) -> None:
    await record(db=db, payload=payload, now=now)
    raise HandlerFailed(f"job {payload['n']} refused")


class Gate:
    """A handler that writes, then waits until released: a job caught while running."""

    def __init__(self) -> None:
        self.entered = asyncio.Event()
        self.release = asyncio.Event()

    async def __call__(self, *, db: AsyncSession, payload: dict[str, Any], now: datetime) -> None:
        await record(db=db, payload=payload, now=now)
        self.entered.set()
        await self.release.wait()


def registry(**extra: Any) -> JobRegistry:
    jobs = JobRegistry()
    jobs.register("test.record", record)
    jobs.register("test.fail", record_then_fail)
    for kind, handler in extra.items():
        jobs.register(f"test.{kind}", handler)
    return jobs


def worker(
    context: ServiceContext, jobs: JobRegistry, name: str = "w1", **options: Any
) -> JobWorker:
    settings: dict[str, Any] = {"lease": LEASE, "backoff": EXACT_BACKOFF, **options}
    return JobWorker(context=context, registry=jobs, worker_id=name, **settings)


async def add_job(
    context: ServiceContext, kind: str = "test.record", n: int = 1, **options: Any
) -> int:
    async with context.unit_of_work() as db:
        job = await enqueue(db=db, kind=kind, payload={"n": n}, now=context.clock.now(), **options)
        await db.commit()
        return job.id


async def load(context: ServiceContext, job_id: int) -> Job:
    async with context.unit_of_work() as db:
        return await db.get_one(Job, job_id)


async def all_jobs(context: ServiceContext) -> list[Job]:
    async with context.unit_of_work() as db:
        return list((await db.execute(select(Job).order_by(Job.id))).scalars())


async def effects(context: ServiceContext) -> list[str]:
    async with context.unit_of_work() as db:
        rows = await db.execute(
            select(Operator.name).where(Operator.name.like("effect %")).order_by(Operator.id)
        )
        return list(rows.scalars())
