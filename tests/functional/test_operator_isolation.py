"""Operators of one installation see nothing of each other: each slice's objects of operator
A are absent from operator B's lists and not found by their ids (a representative check per
slice), and B can neither change nor command them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI

from evbilling.access.service import CreatedOperator, create_operator
from evbilling.infra.context import ServiceContext
from evbilling.main import create_api
from tests.factories import create_sessions, create_station, create_tariff, create_token
from tests.functional.api_calls import assert_problem


async def new_operator(context: ServiceContext, name: str) -> CreatedOperator:
    async with context.unit_of_work() as db:
        created = await create_operator(
            db=db, name=name, now=context.clock.now(), hasher=context.api_keys
        )
        await db.commit()
    return created


@asynccontextmanager
async def api_as(context: ServiceContext, key: str) -> AsyncIterator[httpx.AsyncClient]:
    root = FastAPI()
    root.mount("/api/v1", create_api(context=context))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=root),
        base_url="http://testserver/api/v1",
        headers={"Authorization": f"Bearer {key}"},
    ) as client:
        yield client


class TestOperatorIsolation:
    async def test_operator_b_sees_none_of_operator_as_objects(
        self, context: ServiceContext
    ) -> None:
        # Arrange
        a = await new_operator(context, "Alpha Charging")
        b = await new_operator(context, "Beta Charging")
        tariff = await create_tariff(context, operator_id=a.id)
        station = await create_station(context, operator_id=a.id, tariff_id=tariff)
        await create_token(context, operator_id=a.id)
        [session] = await create_sessions(context, operator_id=a.id, station_id=station, count=1)

        # Act
        async with api_as(context, b.api_key.key) as as_b:
            lists = {
                path: (await as_b.get(path)).json()
                for path in ("/stations", "/tariffs", "/sessions", "/tokens", "/locations")
            }
            keys = (await as_b.get("/api-keys")).json()
            reads = [
                await as_b.get(f"/stations/{station}"),
                await as_b.get(f"/tariffs/{tariff}"),
                await as_b.get(f"/sessions/{session}"),
            ]
            writes = [
                await as_b.delete(f"/api-keys/{a.api_key.id}"),
                await as_b.patch(f"/tariffs/{tariff}", json={"name": "Taken"}),
                await as_b.put(f"/stations/{station}/password"),
                await as_b.post(f"/stations/{station}/password"),
                await as_b.post(f"/stations/{station}/commands/clear-cache"),
                await as_b.post(f"/sessions/{session}/stop"),
            ]
        async with api_as(context, a.api_key.key) as as_a:
            own_station = await as_a.get(f"/stations/{station}")
            own_tariff = (await as_a.get(f"/tariffs/{tariff}")).json()
            own_keys = (await as_a.get("/api-keys")).json()

        # Assert
        assert all(page["items"] == [] for page in lists.values()), lists
        assert [k["id"] for k in keys["items"]] == [b.api_key.id]
        for response in reads + writes:
            assert_problem(response, status=404)
        assert own_station.status_code == 200
        assert own_station.json()["password_pending"] is False
        assert own_tariff["name"] == "Standard"
        assert [(k["id"], k["revoked_at"]) for k in own_keys["items"]] == [(a.api_key.id, None)]

    async def test_each_operators_first_key_works_for_that_operator_only(
        self, context: ServiceContext
    ) -> None:
        a = await new_operator(context, "Alpha Charging")
        b = await new_operator(context, "Beta Charging")

        async with api_as(context, a.api_key.key) as as_a, api_as(context, b.api_key.key) as as_b:
            made = await as_a.post("/locations", json={"name": "Depot", "time_zone": "UTC"})
            seen_by_b = (await as_b.get("/locations")).json()

        assert made.status_code == 201
        assert a.api_key.operator_id == a.id
        assert b.api_key.operator_id == b.id
        assert seen_by_b["total"] == 0
