"""The job worker inside `evbilling serve`: it starts with the server, runs the scheduled jobs
and stops with it."""

from __future__ import annotations

import asyncio

import uvicorn
from pydantic import SecretStr
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from evbilling.config import Settings
from evbilling.infra.context import ServiceContext
from evbilling.main import build_application, job_registry, uvicorn_config
from evbilling.models import Job

# A server on PostgreSQL does not start without it (docs/security.md).
API_KEY_SECRET = SecretStr("a-test-secret-of-at-least-32-characters")


def _worker_tasks() -> list[asyncio.Task[object]]:
    return [task for task in asyncio.all_tasks() if task.get_name().startswith("jobs:")]


async def _jobs(context: ServiceContext) -> list[tuple[str, str]]:
    async with context.unit_of_work() as db:
        rows = await db.execute(select(Job.kind, Job.status).order_by(Job.id))
        return [(str(kind), str(status)) for kind, status in rows]


class TestWorkerInTheServer:
    async def test_runs_the_scheduled_jobs_while_serving_and_stops_with_the_server(
        self, engine: AsyncEngine, context: ServiceContext, database_url: str
    ) -> None:
        # Arrange
        settings = Settings(
            database_url=database_url,
            port=0,
            jobs_poll_interval_s=0.05,
            api_key_secret=API_KEY_SECRET,
        )
        application = build_application(settings=settings)
        server = uvicorn.Server(uvicorn_config(application=application, settings=settings))
        serving = asyncio.create_task(server.serve())

        # Act: each scheduled kind's current slot is enqueued and run soon after start-up.
        scheduled = sorted(
            (schedule.kind, "succeeded") for schedule in job_registry(settings=settings).schedules
        )
        assert ("jobs.prune", "succeeded") in scheduled
        seen: list[tuple[str, str]] = []
        for _ in range(400):
            seen = sorted(await _jobs(context))
            if seen == scheduled:
                break
            await asyncio.sleep(0.05)
        running = len(_worker_tasks())
        server.should_exit = True
        await asyncio.wait_for(serving, timeout=30)

        # Assert
        assert seen == scheduled
        assert running == 1
        assert _worker_tasks() == []

    def test_has_no_worker_when_jobs_are_disabled(self, database_url: str) -> None:
        application = build_application(
            settings=Settings(
                database_url=database_url, jobs_enabled=False, api_key_secret=API_KEY_SECRET
            )
        )

        assert application.jobs is None
