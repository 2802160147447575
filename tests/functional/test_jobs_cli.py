"""Background jobs through the `evbilling jobs` command line, against a migrated SQLite file:
what an operator sees, retries and runs."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path
from typing import Any

from evbilling.config import Settings
from evbilling.infra.context import ServiceContext
from evbilling.infra.db.engine import create_engine, create_session_factory
from evbilling.infra.jobs import enqueue
from evbilling.kit import SystemClock
from evbilling.main import job_registry
from tests.functional.cli_calls import invoke, invoke_json


def add_job(database: Path, kind: str, payload: dict[str, Any], **options: Any) -> int:
    """A job queued the way a slice queues one (in its own committed transaction)."""

    async def run() -> int:
        engine = create_engine(url=f"sqlite+aiosqlite:///{database}")
        context = ServiceContext(
            session_factory=create_session_factory(engine), clock=SystemClock()
        )
        try:
            async with context.unit_of_work() as db:
                job = await enqueue(
                    db=db, kind=kind, payload=payload, now=context.clock.now(), **options
                )
                await db.commit()
                return job.id
        finally:
            await engine.dispose()

    return asyncio.run(run())


def kill(job_id: int) -> None:
    """Run the job (of a kind with no handler here): it is dead at once."""
    runs = invoke_json("jobs", "run-once")
    assert {"job_id": job_id, "outcome": "dead"} in [
        {"job_id": run["job_id"], "outcome": run["outcome"]} for run in runs
    ]


class TestJobsCli:
    def test_run_once_runs_due_jobs_and_the_scheduled_ones(self, cli_database: Path) -> None:
        # Arrange: a kind this installation has no handler for.
        capture = add_job(cli_database, "elsewhere.capture", {"payment": 7})

        # Act
        runs = invoke_json("jobs", "run-once")

        # Assert: the server's own hourly pruning slot ran too.
        outcomes = sorted((run["kind"], run["outcome"]) for run in runs)
        scheduled = [(s.kind, "succeeded") for s in job_registry(settings=Settings()).schedules]
        assert ("jobs.prune", "succeeded") in scheduled
        assert outcomes == sorted([*scheduled, ("elsewhere.capture", "dead")])
        assert invoke_json("jobs", "run-once") == []
        assert invoke_json("jobs", "show", str(capture))["last_error"] == (
            "no handler is registered for job kind 'elsewhere.capture'"
        )

    def test_lists_jobs_newest_first_filtered_by_state_and_kind(self, cli_database: Path) -> None:
        dead = add_job(cli_database, "elsewhere.capture", {"payment": 7})
        kill(dead)
        later = add_job(
            cli_database,
            "elsewhere.refund",
            {"payment": 8},
            run_at=SystemClock().now() + timedelta(days=1),
        )

        everything = invoke_json("jobs", "list")
        dead_ones = invoke_json("jobs", "list", "--status", "dead")
        refunds = invoke_json("jobs", "list", "--kind", "elsewhere.refund")

        # The run that killed the capture also ran the server's scheduled slots.
        kinds = [job["kind"] for job in everything["items"]]
        scheduled = {s.kind for s in job_registry(settings=Settings()).schedules}
        assert (kinds[0], kinds[-1]) == ("elsewhere.refund", "elsewhere.capture")
        assert sorted(kinds[1:-1]) == sorted(scheduled)
        assert [job["id"] for job in dead_ones["items"]] == [dead]
        assert [(job["id"], job["status"]) for job in refunds["items"]] == [(later, "queued")]
        assert "payload" not in everything["items"][0]

    def test_pages_through_jobs_with_after(self, cli_database: Path) -> None:
        ids = [add_job(cli_database, "elsewhere.capture", {"n": n}) for n in range(3)]

        first = invoke_json("jobs", "list", "--limit", "2")
        second = invoke_json("jobs", "list", "--limit", "2", "--after", str(first["next_after"]))

        assert [job["id"] for job in first["items"]] == [ids[2], ids[1]]
        assert ([job["id"] for job in second["items"]], second["next_after"]) == ([ids[0]], None)

    def test_lists_as_a_table_with_errors_shortened(self, cli_database: Path) -> None:
        dead = add_job(cli_database, "payments.capture_reserved_wallet", {"payment": 7})
        kill(dead)

        result = invoke("jobs", "list", "--status", "dead")

        assert result.exit_code == 0, result.output
        header, row = result.stdout.splitlines()[:2]
        assert header.split() == [
            "id", "kind", "status", "attempts", "max_attempts", "run_at", "last_error"
        ]  # fmt: skip
        assert row.split()[:4] == [str(dead), "payments.capture_reserved_wallet", "dead", "1"]
        error = "no handler is registered for job kind 'payments.capture_reserved_wallet'"
        assert row.endswith(f"  {error[:57]}...")  # 60 characters in a table cell

    def test_shows_a_job_with_its_payload_and_lease(self, cli_database: Path) -> None:
        job_id = add_job(cli_database, "elsewhere.capture", {"payment": 7}, dedupe_key="pay-7")

        shown = invoke_json("jobs", "show", str(job_id))
        text = invoke("jobs", "show", str(job_id))

        assert (shown["kind"], shown["status"], shown["payload"]) == (
            "elsewhere.capture",
            "queued",
            {"payment": 7},
        )
        assert (shown["dedupe_key"], shown["attempts"], shown["locked_by"]) == ("pay-7", 0, None)
        assert "elsewhere.capture" in text.stdout

    def test_retries_a_dead_job_with_all_its_attempts(self, cli_database: Path) -> None:
        # Arrange
        job_id = add_job(cli_database, "elsewhere.capture", {"payment": 7})
        kill(job_id)

        # Act
        retried = invoke_json("jobs", "retry", str(job_id))

        # Assert
        assert (retried["status"], retried["attempts"], retried["finished_at"]) == (
            "queued",
            0,
            None,
        )
        assert invoke_json("jobs", "show", str(job_id)) == retried

    def test_refuses_to_retry_a_job_that_is_not_dead_and_changes_nothing(
        self, cli_database: Path
    ) -> None:
        job_id = add_job(cli_database, "elsewhere.capture", {"payment": 7})
        before = invoke_json("jobs", "show", str(job_id))

        result = invoke("jobs", "retry", str(job_id))

        assert result.exit_code == 1
        assert f"job {job_id} is queued; only dead jobs can be retried" in result.output
        assert invoke_json("jobs", "show", str(job_id)) == before

    def test_names_an_unknown_job(self, cli_database: Path) -> None:
        for command in ("show", "retry"):
            result = invoke("jobs", command, "404")

            assert result.exit_code == 1
            assert "job 404 not found" in result.output

    def test_refuses_an_unknown_state_or_a_malformed_kind(self, cli_database: Path) -> None:
        assert invoke("jobs", "list", "--status", "stuck").exit_code == 2
        assert invoke("jobs", "list", "--kind", "Not A Kind").exit_code == 2
