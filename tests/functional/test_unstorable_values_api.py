"""Integers beyond 64 bits and text holding U+0000 get a 422 naming the field, on SQLite and
PostgreSQL alike, in bodies, path and query parameters of every slice, and change nothing."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import func, select

from evbilling.infra.context import ServiceContext
from evbilling.main import create_api
from evbilling.models import Base
from tests.factories import create_sessions
from tests.functional.api_calls import (
    assert_problem,
    make_location,
    make_station,
    make_tariff,
    post,
    simple_ocpi,
)

BEYOND_INT64 = 2**63
HUGE = 10**23
BEYOND_INT32 = 2**31


async def row_counts(context: ServiceContext) -> dict[str, int]:
    async with context.unit_of_work() as db:
        return {
            table.name: int(await db.scalar(select(func.count()).select_from(table)) or 0)
            for table in Base.metadata.sorted_tables
        }


class RecordingStations:
    """A station link that notes what it would have sent."""

    def __init__(self) -> None:
        self.sent: list[str] = []

    def is_connected(self, station_identity: str) -> bool:
        return True

    async def send(
        self, *, station_identity: str, action: str, payload: dict[str, Any], timeout_s: float
    ) -> dict[str, Any]:
        self.sent.append(action)
        return {"status": "Accepted"}


async def refused(
    client: httpx.AsyncClient,
    context: ServiceContext,
    method: str,
    path: str,
    *,
    field: str,
    json: Any = None,
    content: str | None = None,
) -> None:
    """The request is a 422 naming `field`, and no row was created or changed."""
    before = await row_counts(context)
    headers = {"content-type": "application/json"} if content is not None else None
    response = await client.request(method, path, json=json, content=content, headers=headers)

    assert_problem(response, status=422, field=field)
    assert await row_counts(context) == before


class TestBodies:
    async def test_stations(self, api_client: httpx.AsyncClient, context: ServiceContext) -> None:
        station = await make_station(api_client)
        location = await make_location(api_client)
        path = f"/stations/{station['id']}"

        await refused(
            api_client,
            context,
            "POST",
            "/stations",
            json={"identity": "CP-9", "location_id": BEYOND_INT64},
            field="location_id",
        )
        await refused(
            api_client,
            context,
            "POST",
            "/stations",
            json={"identity": "CP-\x009", "location_id": location["id"]},
            field="identity",
        )
        await refused(
            api_client,
            context,
            "PATCH",
            path,
            json={"location_id": location["id"], "tariff_id": HUGE},
            field="tariff_id",
        )
        await refused(
            api_client,
            context,
            "POST",
            f"{path}/evses",
            json={"connector_id": 3, "max_power_w": -HUGE},
            field="max_power_w",
        )
        assert (await api_client.get(path)).json()["location_id"] == station["location_id"]

    async def test_tariffs_down_to_the_ocpi_document(
        self, api_client: httpx.AsyncClient, context: ServiceContext
    ) -> None:
        tariff = await make_tariff(api_client)
        huge_step = simple_ocpi().replace('"step_size": 1', f'"step_size": {HUGE}', 1)
        nul_id = simple_ocpi().replace('{"currency"', '{"id": "T\\u00001", "currency"')

        await refused(
            api_client,
            context,
            "POST",
            "/tariffs",
            content=f'{{"name": "Big", "ocpi": {huge_step}}}',
            field="ocpi.elements.0.price_components.0.step_size",
        )
        await refused(
            api_client,
            context,
            "POST",
            "/tariffs",
            content=f'{{"name": "Nul", "ocpi": {nul_id}}}',
            field="ocpi.id",
        )
        await refused(
            api_client,
            context,
            "PATCH",
            f"/tariffs/{tariff['id']}",
            json={"name": "Renamed\x00"},
            field="name",
        )
        assert (await api_client.get(f"/tariffs/{tariff['id']}")).json()["name"] == "Standard"

    async def test_drivers_and_tokens(
        self, api_client: httpx.AsyncClient, context: ServiceContext
    ) -> None:
        driver = await post(api_client, "/drivers", {"name": "Ada"})
        token = await post(api_client, "/tokens", {"uid": "04A1B2"})

        await refused(
            api_client, context, "POST", "/drivers", json={"name": "Ada\x00"}, field="name"
        )
        await refused(
            api_client,
            context,
            "PATCH",
            f"/drivers/{driver['id']}",
            json={"group_id": BEYOND_INT64},
            field="group_id",
        )
        await refused(
            api_client,
            context,
            "POST",
            "/tokens",
            json={"uid": "04C3D4", "driver_id": HUGE},
            field="driver_id",
        )
        await refused(
            api_client,
            context,
            "PATCH",
            f"/tokens/{token['id']}",
            json={"parent_id_tag": "AB\x00CD"},
            field="parent_id_tag",
        )
        assert (await api_client.get("/tokens")).json()["items"][0]["parent_id_tag"] is None

    async def test_locations(self, api_client: httpx.AsyncClient, context: ServiceContext) -> None:
        location = await make_location(api_client)

        await refused(
            api_client,
            context,
            "POST",
            "/locations",
            json={"name": "Depot", "time_zone": "Europe/Berlin", "city": "Ber\x00lin"},
            field="city",
        )
        await refused(
            api_client,
            context,
            "PATCH",
            f"/locations/{location['id']}",
            json={"address": "Main St\x00", "tariff_id": BEYOND_INT64},
            field="tariff_id",
        )
        listed = (await api_client.get("/locations")).json()["items"]
        assert [(item["address"], item["tariff_id"]) for item in listed] == [(None, None)]

    async def test_commands_are_not_sent(
        self, api_client: httpx.AsyncClient, context: ServiceContext
    ) -> None:
        stations = RecordingStations()
        context.commands = stations
        station = await make_station(api_client)
        base = f"/stations/{station['id']}/commands"

        await refused(
            api_client,
            context,
            "POST",
            f"{base}/change-configuration",
            json={"key": "Heartbeat\x00Interval", "value": "60"},
            field="key",
        )
        await refused(
            api_client,
            context,
            "POST",
            f"{base}/remote-stop",
            json={"transaction_id": BEYOND_INT64},
            field="transaction_id",
        )
        await refused(
            api_client,
            context,
            "POST",
            f"{base}/remote-start",
            json={"id_tag": "04A1\x00", "connector_id": HUGE},
            field="connector_id",
        )
        assert stations.sent == []


class TestParameters:
    async def test_sessions(self, api_client: httpx.AsyncClient, context: ServiceContext) -> None:
        for path, field in [
            (f"/sessions/{HUGE}", "session_id"),
            (f"/sessions/{BEYOND_INT64}/meter-values", "session_id"),
            (f"/sessions/1/meter-values?after={HUGE}", "after"),
            (f"/sessions?after={BEYOND_INT64}", "after"),
            (f"/sessions?limit={HUGE}", "limit"),
            (f"/sessions?offset={BEYOND_INT64}", "offset"),
            (f"/sessions?station_id=-{BEYOND_INT64 + 1}", "station_id"),
        ]:
            await refused(api_client, context, "GET", path, field=field)

    async def test_stations_tariffs_tokens_and_quotes(
        self, api_client: httpx.AsyncClient, context: ServiceContext
    ) -> None:
        tariff = await make_tariff(api_client)
        for path, field in [
            (f"/stations/{HUGE}", "station_id"),
            (f"/stations?location_id={BEYOND_INT64}", "location_id"),
            (f"/tariffs/{tariff['id']}/versions/{BEYOND_INT32}", "version"),
            (f"/tariffs/{tariff['id']}/ocpi?version={BEYOND_INT32}", "version"),
            ("/tokens?uid=04A1%00B2", "uid"),
            (f"/evses/{HUGE}/quote?energy_kwh=1&duration_minutes=1", "evse_id"),
        ]:
            await refused(api_client, context, "GET", path, field=field)

    async def test_a_command_for_a_session_beyond_64_bits_is_not_sent(
        self, api_client: httpx.AsyncClient, context: ServiceContext
    ) -> None:
        stations = RecordingStations()
        context.commands = stations

        await refused(api_client, context, "POST", f"/sessions/{HUGE}/stop", field="session_id")
        assert stations.sent == []


def integer_parameters() -> list[tuple[str, str, str, str]]:
    """(method, path, where, name) of every integer parameter the API documents."""
    document = create_api(context=None).openapi()  # type: ignore[arg-type]
    found = []
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            for parameter in operation.get("parameters", []):
                schema = parameter["schema"]
                types = [schema.get("type")] + [s.get("type") for s in schema.get("anyOf", [])]
                if "integer" in types:
                    found.append((method.upper(), path, parameter["in"], parameter["name"]))
    return found


def url_with(path: str, where: str, name: str, value: int) -> str:
    filled = path.replace(f"{{{name}}}", str(value)) if where == "path" else path
    while "{" in filled:  # any other path parameter: a plausible id
        start = filled.index("{")
        filled = filled[:start] + "1" + filled[filled.index("}", start) + 1 :]
    return f"{filled}?{name}={value}" if where == "query" else filled


async def one_of_each(client: httpx.AsyncClient, context: ServiceContext, operator_id: int) -> None:
    """Object 1 of every kind exists, so routes reach the query with the parameter under
    test instead of stopping at a missing parent."""
    tariff = await make_tariff(client)
    station = await make_station(client, tariff_id=tariff["id"])
    group = await post(client, "/driver-groups", {"name": "Fleet"})
    driver = await post(client, "/drivers", {"name": "Ada", "group_id": group["id"]})
    await post(client, "/tokens", {"uid": "04A1B2", "driver_id": driver["id"]})
    await create_sessions(context, operator_id=operator_id, station_id=station["id"], count=1)


class TestEveryIntegerParameter:
    """Over the OpenAPI document, so a route added later is covered without a new test."""

    async def test_beyond_64_bits_is_a_422_naming_it(
        self, api_client: httpx.AsyncClient, context: ServiceContext, operator_id: int
    ) -> None:
        await one_of_each(api_client, context, operator_id)
        parameters = integer_parameters()
        wrong = []
        for method, path, where, name in parameters:
            url = url_with(path, where, name, BEYOND_INT64)
            response = await api_client.request(method, url)
            named = [e["field"] for e in response.json().get("errors") or []]
            if response.status_code != 422 or name not in named:
                wrong.append((method, url, response.status_code, named))

        assert len(parameters) > 40
        assert wrong == []

    async def test_beyond_32_bits_is_never_a_server_error(
        self, api_client: httpx.AsyncClient, context: ServiceContext, operator_id: int
    ) -> None:
        await one_of_each(api_client, context, operator_id)
        failed = []
        for method, path, where, name in integer_parameters():
            url = url_with(path, where, name, BEYOND_INT32)
            response = await api_client.request(method, url)
            if response.status_code >= 500:
                failed.append((method, url, response.text))

        assert failed == []
