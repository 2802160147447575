"""`evbilling jobs list|show|retry|run-once`: the background job queue from the command line.

The job kinds come from the composition root: the root command passes the registry factory
(evbilling.main.job_registry) to `register`, so `run-once` runs what the server would.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Annotated, Any

import typer
from sqlalchemy.ext.asyncio import AsyncSession

from evbilling.infra.cli import (
    JsonOption,
    LimitOption,
    emit,
    emit_read,
    fields_of,
    parsed_as,
    run_command,
    settings,
    table,
)
from evbilling.infra.context import ServiceContext
from evbilling.infra.db.engine import create_engine, create_session_factory
from evbilling.infra.jobs import service as jobs
from evbilling.infra.jobs.domain import JobKind, JobStatus
from evbilling.infra.jobs.registry import JobRegistry
from evbilling.infra.jobs.schemas import JobPage, JobRead, JobRunRead
from evbilling.infra.jobs.worker import JobRun, JobWorker, default_worker_id
from evbilling.kit import SystemClock

app = typer.Typer(
    help="Background jobs: queued, running, succeeded and dead.", no_args_is_help=True
)

_COLUMNS = ["id", "kind", "status", "attempts", "max_attempts", "run_at", "last_error"]
_RUN_COLUMNS = ["job_id", "kind", "attempt", "outcome", "error_type"]
_RUN_ONCE_BATCH = 50

_registry: Callable[[], JobRegistry] = JobRegistry


def register(root: typer.Typer, *, registry: Callable[[], JobRegistry]) -> None:
    """Mount `jobs` on the root command; `registry` builds the kinds `run-once` can run."""
    global _registry
    _registry = registry
    root.add_typer(app, name="jobs")


@app.command("list")
def jobs_list(
    status: Annotated[JobStatus | None, typer.Option(help="Only jobs in this state.")] = None,
    kind: Annotated[
        str | None, typer.Option(parser=parsed_as(JobKind), help="Only jobs of this kind.")
    ] = None,
    limit: LimitOption = 50,
    after: Annotated[
        int | None, typer.Option(min=1, help="The next_after of the previous page.")
    ] = None,
    as_json: bool = JsonOption,
) -> None:
    """Jobs, newest first (payloads only in `jobs show`)."""

    async def work(db: AsyncSession, context: ServiceContext, operator_id: int) -> JobPage:
        page = await jobs.list_jobs(
            db=db,
            status=None if status is None else status.value,
            kind=kind,
            limit=limit,
            after=after,
        )
        return JobPage.model_validate(page)

    emit(fields_of(run_command(work)), as_json=as_json, text=_page_text)


def _page_text(page: dict[str, Any]) -> str:
    rows = [{**row, "last_error": _short(row["last_error"])} for row in page["items"]]
    text = table(rows, columns=_COLUMNS)
    if page["next_after"] is not None:
        text += f"\nmore: --after {page['next_after']}"
    return text


def _short(error: str | None, *, width: int = 60) -> str | None:
    if error is None or len(error) <= width:
        return error
    return error[: width - 3] + "..."


@app.command("show")
def jobs_show(job_id: int, as_json: bool = JsonOption) -> None:
    """One job with its payload, lease and last error."""

    async def work(db: AsyncSession, context: ServiceContext, operator_id: int) -> JobRead:
        return JobRead.model_validate(await jobs.get_job(db=db, job_id=job_id))

    emit_read(run_command(work), as_json=as_json)


@app.command("retry")
def jobs_retry(job_id: int, as_json: bool = JsonOption) -> None:
    """Queue a dead job again, due now, with all its attempts back."""

    async def work(db: AsyncSession, context: ServiceContext, operator_id: int) -> JobRead:
        job = await jobs.retry_job(db=db, job_id=job_id, now=context.clock.now())
        return JobRead.model_validate(job)

    emit_read(run_command(work), as_json=as_json)


@app.command("run-once")
def jobs_run_once(
    limit: Annotated[int, typer.Option(min=1, max=10_000, help="Run at most this many.")] = 1000,
    as_json: bool = JsonOption,
) -> None:
    """Run the jobs that are due now (and this moment's scheduled ones), then exit."""
    runs = asyncio.run(_run_due(limit=limit))
    emit(
        [JobRunRead.model_validate(run) for run in runs],
        as_json=as_json,
        text=lambda items: (
            table([fields_of(item) for item in items], columns=_RUN_COLUMNS)
            + f"\n{len(items)} job(s) run"
        ),
    )


async def _run_due(*, limit: int) -> list[JobRun]:
    # Not inside run_in_unit_of_work: every job opens its own unit of work, and SQLite's one
    # connection must be free for it.
    engine = create_engine(url=settings().database_url)
    context = ServiceContext(session_factory=create_session_factory(engine), clock=SystemClock())
    worker = JobWorker(
        context=context, registry=_registry(), worker_id=f"cli:{default_worker_id()}"
    )
    runs: list[JobRun] = []
    try:
        while len(runs) < limit:
            worker.batch_size = min(_RUN_ONCE_BATCH, limit - len(runs))
            done = await worker.run_once()
            runs += done
            if len(done) < worker.batch_size:
                break
    finally:
        await engine.dispose()
    return runs
