"""`make run`'s demo data and `evbilling simulate`, as a newcomer uses them."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime

from typer.testing import CliRunner

from evbilling.charging.read_repository import SessionFilter
from evbilling.charging.sessions import list_sessions
from evbilling.cli import app as cli_app
from evbilling.demo import seed_demo
from evbilling.infra.context import ServiceContext
from evbilling.infra.secrets import ApiKeyHasher
from evbilling.kit import FixedClock
from evbilling.models import Operator
from tests.functional.conftest import LiveServer


class TestDemoData:
    async def test_seeds_once_and_rotates_passwords_on_every_start(self, database_url: str) -> None:
        api_keys = ApiKeyHasher.ephemeral()
        first = await seed_demo(database_url=database_url, stations=2, api_keys=api_keys)
        again = await seed_demo(database_url=database_url, stations=2, api_keys=api_keys)

        assert [s[1] for s in first.stations] == ["DEMO-1", "DEMO-2"]
        assert [s[0] for s in again.stations] == [s[0] for s in first.stations]
        assert {s[2] for s in again.stations}.isdisjoint({s[2] for s in first.stations})
        assert first.api_key != again.api_key
        assert [uid for uid, _, blocked in first.tokens if blocked] == ["04DEADBEEF"]


class TestSimulateCommand:
    async def test_simulated_chargers_produce_priced_sessions(
        self,
        context: ServiceContext,
        clock: FixedClock,
        live_server: LiveServer,
        database_url: str,
    ) -> None:
        # The simulator stamps wall-clock time (its timeline ends by now); the server believes
        # station timestamps up to five minutes ahead of its own clock only.
        clock.current = datetime.now(UTC)
        credentials = await seed_demo(
            database_url=database_url, stations=1, api_keys=context.api_keys
        )
        _, identity, password = credentials.stations[0]

        def simulate() -> str:
            result = CliRunner().invoke(
                cli_app,
                [
                    "simulate",
                    "--url",
                    live_server.ws_url,
                    "--stations",
                    "1",
                    "--id-prefix",
                    identity[:-1],
                    "--password",
                    password,
                    "--id-tag",
                    "04A1B2C3D4",
                    "--connectors",
                    "1",
                    "--sessions",
                    "2",
                    "--time-scale",
                    "100000",
                    "--seed",
                    "7",
                    "--json",
                ],
            )
            assert result.exit_code == 0, result.output
            return result.output

        report = json.loads(await asyncio.to_thread(simulate))
        async with context.unit_of_work() as db:
            operator_id = (await db.get_one(Operator, 1)).id
            page = await list_sessions(db=db, where=SessionFilter(operator_id=operator_id))

        assert report["stations"][0]["outcome"] == "completed"
        assert len(report["stations"][0]["sessions"]) == 2
        completed = [s for s in page.items if s.status == "completed"]
        assert len(completed) == 2
        assert all(s.cost_incl_vat is not None and s.cost_incl_vat > 0 for s in completed)
        assert all((s.energy_wh or 0) > 0 for s in completed)
