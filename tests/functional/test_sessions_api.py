"""Operators read priced sessions through the API and the CLI, filtered and paginated."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
from typer.testing import CliRunner

from evbilling.access.repository import OperatorRepository
from evbilling.cli import app as cli_app
from evbilling.infra.context import ServiceContext
from tests.factories import create_sessions, create_station, create_tariff, create_token
from tests.functional.charger import charger, ts
from tests.functional.conftest import LiveServer


async def charge_twice(context: ServiceContext, operator_id: int, server: LiveServer) -> None:
    tariff = await create_tariff(context, operator_id=operator_id)
    await create_station(context, operator_id=operator_id, identity="CP-1", tariff_id=tariff)
    await create_station(context, operator_id=operator_id, identity="CP-2", tariff_id=tariff)
    await create_token(context, operator_id=operator_id, uid="04A1B2C3D4")
    await create_token(context, operator_id=operator_id, uid="04E5F6A7B8", driver_name="Bob")
    async with charger(server, "CP-1") as first:
        started = await first.start_tx("04A1B2C3D4", minutes=0)
        await first.meter(started.transaction_id, 4000, minutes=20)
        await first.stop_tx(started.transaction_id, 11_000, minutes=40)
    async with charger(server, "CP-2") as second:
        await second.start_tx("04E5F6A7B8", meter_start=0, minutes=120)


def api(server: LiveServer, key: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url=f"{server.base_url}/api/v1", headers={"Authorization": f"Bearer {key}"}
    )


class TestSessionsApi:
    async def test_lists_sessions_newest_first_with_energy_and_cost(
        self, context: ServiceContext, operator_id: int, live_server: LiveServer, api_key: str
    ) -> None:
        await charge_twice(context, operator_id, live_server)
        async with api(live_server, api_key) as client:
            response = await client.get("/sessions")

        body = response.json()
        assert response.status_code == 200
        assert body["total"] == 2
        running, finished = body["items"]
        assert (running["station_identity"], running["status"]) == ("CP-2", "active")
        assert finished["energy_wh"] == 10_000
        assert finished["duration_s"] == 40 * 60
        # 10 kWh x 0.30 + 1.00 = 4.00; 20 % VAT -> 4.80, as exact strings
        assert (finished["cost_excl_vat"], finished["cost_incl_vat"]) == ("4.00", "4.80")

    async def test_filters_by_station_status_and_period_and_paginates(
        self, context: ServiceContext, operator_id: int, live_server: LiveServer, api_key: str
    ) -> None:
        await charge_twice(context, operator_id, live_server)
        async with api(live_server, api_key) as client:
            stations = (await client.get("/stations")).json()["items"]
            cp2 = next(s["id"] for s in stations if s["identity"] == "CP-2")
            by_station = (await client.get("/sessions", params={"station_id": cp2})).json()
            completed = (await client.get("/sessions", params={"status": "completed"})).json()
            early = (
                await client.get(
                    "/sessions", params={"started_from": ts(-1), "started_before": ts(60)}
                )
            ).json()
            second_page = (await client.get("/sessions", params={"limit": 1, "offset": 1})).json()

        assert [s["station_identity"] for s in by_station["items"]] == ["CP-2"]
        assert [s["station_identity"] for s in completed["items"]] == ["CP-1"]
        assert [s["station_identity"] for s in early["items"]] == ["CP-1"]
        assert (second_page["total"], len(second_page["items"])) == (2, 1)
        assert second_page["items"][0]["station_identity"] == "CP-1"

    async def test_reads_a_session_with_breakdown_samples_and_tariff_snapshot(
        self, context: ServiceContext, operator_id: int, live_server: LiveServer, api_key: str
    ) -> None:
        await charge_twice(context, operator_id, live_server)
        async with api(live_server, api_key) as client:
            session = (await client.get("/sessions", params={"status": "completed"})).json()
            detail = (await client.get(f"/sessions/{session['items'][0]['id']}")).json()

        assert (detail["tariff_id"], detail["tariff_version"]) == (1, 1)
        assert detail["time_zone"] == "Europe/Berlin"
        assert [line["kind"] for line in detail["cost_breakdown"]["lines"]] == ["FLAT", "ENERGY"]
        assert len(detail["meter_samples"]) == 3
        assert detail["anomalies"] == []
        async with api(live_server, api_key) as client:
            lean = await client.get(f"/sessions/{detail['id']}", params={"samples": "false"})
        assert lean.json()["meter_samples"] == []
        assert lean.json()["cost_excl_vat"] == detail["cost_excl_vat"]

    async def test_pages_by_keyset_with_after_and_next_after(
        self, context: ServiceContext, operator_id: int, api_client: httpx.AsyncClient
    ) -> None:
        station = await create_station(context, operator_id=operator_id)
        created = await create_sessions(
            context, operator_id=operator_id, station_id=station, count=5
        )
        pages = [(await api_client.get("/sessions", params={"limit": 2})).json()]
        while pages[-1]["next_after"] is not None:
            after = pages[-1]["next_after"]
            response = await api_client.get("/sessions", params={"limit": 2, "after": after})
            assert response.status_code == 200, response.text
            pages.append(response.json())
        both = await api_client.get("/sessions", params={"after": 3, "offset": 1})

        seen = [[item["id"] for item in page["items"]] for page in pages]
        assert seen == [[5, 4], [3, 2], [1]]
        assert sorted(i for page in seen for i in page) == created
        assert [page["total"] for page in pages] == [5, None, None]
        assert both.status_code == 422
        assert both.json()["errors"][0]["field"] == "offset"

    async def test_pages_a_sessions_meter_readings_by_keyset(
        self, context: ServiceContext, operator_id: int, live_server: LiveServer, api_key: str
    ) -> None:
        tariff = await create_tariff(context, operator_id=operator_id)
        await create_station(context, operator_id=operator_id, identity="CP-1", tariff_id=tariff)
        await create_token(context, operator_id=operator_id, uid="04A1B2C3D4")
        async with charger(live_server, "CP-1") as station:
            started = await station.start_tx("04A1B2C3D4", minutes=0)
            for minute in (10, 20, 30, 40):
                await station.meter(started.transaction_id, minute * 200, minutes=minute)
            await station.stop_tx(started.transaction_id, 9_000, minutes=50)
        session_id = started.transaction_id
        async with api(live_server, api_key) as client:
            detail = (await client.get(f"/sessions/{session_id}")).json()
            pages = [(await client.get(f"/sessions/{session_id}/meter-values?limit=1")).json()]
            while pages[-1]["next_after"] is not None:
                after = pages[-1]["next_after"]
                pages.append(
                    (
                        await client.get(
                            f"/sessions/{session_id}/meter-values",
                            params={"limit": 1, "after": after},
                        )
                    ).json()
                )
            missing = await client.get("/sessions/999/meter-values")

        ids = [item["id"] for page in pages for item in page["items"]]
        samples = [s for page in pages for item in page["items"] for s in item["sampled_values"]]
        assert len(ids) >= 4
        assert ids == sorted(set(ids))
        assert all(len(page["items"]) == 1 for page in pages)
        assert sorted(s["value"] for s in samples) == sorted(
            s["value"] for s in detail["meter_samples"]
        )
        assert missing.status_code == 404

    async def test_another_operators_session_is_not_found(
        self, context: ServiceContext, operator_id: int, live_server: LiveServer, api_key: str
    ) -> None:
        await charge_twice(context, operator_id, live_server)
        async with context.unit_of_work() as db:
            other = await OperatorRepository(db).create(name="Other", now=context.clock.now())
            await db.commit()
        from evbilling.access.service import create_api_key

        async with context.unit_of_work() as db:
            foreign_key = (
                await create_api_key(
                    db=db,
                    operator_id=other.id,
                    name="x",
                    now=context.clock.now(),
                    hasher=context.api_keys,
                )
            ).key
            await db.commit()
        async with api(live_server, foreign_key) as client:
            listed = (await client.get("/sessions")).json()
            read = await client.get("/sessions/1")
            readings = await client.get("/sessions/1/meter-values")

        assert listed["total"] == 0
        assert read.status_code == 404
        assert read.headers["content-type"] == "application/problem+json"
        assert readings.status_code == 404
        assert "sampled_values" not in readings.text

    async def test_rejects_a_bad_filter_with_a_problem_document(
        self, context: ServiceContext, operator_id: int, live_server: LiveServer, api_key: str
    ) -> None:
        async with api(live_server, api_key) as client:
            response = await client.get("/sessions", params={"limit": 0, "status": "paid"})

        problem = response.json()
        assert response.status_code == 422
        assert {error["field"] for error in problem["errors"]} == {"limit", "status"}

    async def test_requires_an_api_key(self, live_server: LiveServer) -> None:
        async with httpx.AsyncClient(base_url=f"{live_server.base_url}/api/v1") as client:
            missing = await client.get("/sessions")
            wrong = await client.get(
                "/sessions", headers={"Authorization": "Bearer evb_000000000000_nope"}
            )

        assert (missing.status_code, wrong.status_code) == (401, 401)


class TestSessionsCli:
    async def test_session_list_pages_with_after(
        self, context: ServiceContext, operator_id: int, database_url: str
    ) -> None:
        station = await create_station(context, operator_id=operator_id)
        await create_sessions(context, operator_id=operator_id, station_id=station, count=3)

        def listed(*args: str) -> dict[str, Any]:
            result = CliRunner().invoke(
                cli_app,
                ["session", "list", "--limit", "2", "--json", *args],
                env={"EVBILLING_DATABASE_URL": database_url},
            )
            assert result.exit_code == 0, result.output
            page: dict[str, Any] = json.loads(result.output)
            return page

        first = await asyncio.to_thread(listed)
        rest = await asyncio.to_thread(listed, "--after", str(first["next_after"]))

        assert first["next_after"] == 2
        assert rest["next_after"] is None
        assert [item["id"] for item in rest["items"]] == [1]

    async def test_session_list_show_and_station_commands(
        self,
        context: ServiceContext,
        operator_id: int,
        live_server: LiveServer,
        api_key: str,
        database_url: str,
        monkeypatch: object,
    ) -> None:
        await charge_twice(context, operator_id, live_server)
        env = {
            "EVBILLING_DATABASE_URL": database_url,
            "EVBILLING_API_URL": live_server.base_url,
            "EVBILLING_API_KEY": api_key,
        }
        runner = CliRunner()

        def run(*args: str) -> str:
            result = runner.invoke(cli_app, list(args), env=env)
            assert result.exit_code == 0, result.output
            return result.output

        listed = json.loads(await asyncio.to_thread(run, "session", "list", "--json"))
        shown = await asyncio.to_thread(run, "session", "show", str(listed["items"][1]["id"]))
        async with charger(live_server, "CP-1") as station:
            answered = await asyncio.to_thread(run, "station", "reset", "1", "--hard")

        assert listed["total"] == 2
        assert "10 kWh x 0.30 = 3.00" in shown
        assert "total 4.00 EUR excl. VAT, 4.80 incl. VAT" in shown
        assert answered.strip() == 'CP-1 answered Reset: {"status": "Accepted"}'
        assert ("Reset", {"type": "Hard"}) in station.received
