"""The catalog through the REST API: round trips, ownership, problem documents, pagination."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select

from evbilling.access.repository import OperatorRepository
from evbilling.access.service import create_api_key
from evbilling.infra.context import ServiceContext
from evbilling.infra.secrets import verify_secret
from evbilling.kit import FixedClock
from evbilling.main import create_api
from evbilling.models import Location, Station
from evbilling.tariffs.domain import dumps_ocpi, loads_ocpi
from tests.fixtures import OCPI_EXAMPLES

PROBLEM = "application/problem+json"
EXAMPLES = OCPI_EXAMPLES
EXAMPLE_FILES = sorted(path.name for path in EXAMPLES.glob("tariff_*.json"))


@pytest.fixture
async def other_client(
    context: ServiceContext, operator_id: int
) -> AsyncIterator[httpx.AsyncClient]:
    """The same API, authenticated as a second operator."""
    async with context.unit_of_work() as db:
        other = await OperatorRepository(db).add(name="Other operator", now=context.clock.now())
        issued = await create_api_key(
            db=db, operator_id=other.id, name="other", now=context.clock.now()
        )
        await db.commit()
    root = FastAPI()
    root.mount("/api/v1", create_api(context=context))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=root),
        base_url="http://testserver/api/v1",
        headers={"Authorization": f"Bearer {issued.key}"},
    ) as client:
        yield client


async def post(client: httpx.AsyncClient, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = await client.post(path, json=body)
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()
    return data


async def make_location(client: httpx.AsyncClient, **extra: Any) -> dict[str, Any]:
    body = {"name": "Depot", "time_zone": "Europe/Berlin", "country": "DEU", **extra}
    return await post(client, "/locations", body)


def simple_ocpi(price: str = "0.35") -> str:
    return (
        '{"currency": "EUR", "elements": [{"price_components": ['
        f'{{"type": "ENERGY", "price": {price}, "vat": 19, "step_size": 1}}, '
        '{"type": "FLAT", "price": 1.00, "vat": 19, "step_size": 1}]}]}'
    )


async def post_raw(client: httpx.AsyncClient, path: str, body: str) -> httpx.Response:
    """POST JSON text as written: OCPI numbers must not pass through a float."""
    return await client.post(path, content=body, headers={"content-type": "application/json"})


async def make_tariff(
    client: httpx.AsyncClient, *, name: str = "Standard", is_default: bool = False
) -> dict[str, Any]:
    body = f'{{"name": "{name}", "is_default": {str(is_default).lower()}, "ocpi": {simple_ocpi()}}}'
    response = await post_raw(client, "/tariffs", body)
    assert response.status_code == 201, response.text
    data: dict[str, Any] = loads_ocpi(response.text)
    return data


def exact(value: Any) -> Any:
    """JSON data with each Decimal as its digits, so 2.00 and 2.0 compare unequal."""
    if isinstance(value, Decimal):
        return ("decimal", str(value))
    if isinstance(value, dict):
        return {key: exact(item) for key, item in value.items()}
    if isinstance(value, list):
        return [exact(item) for item in value]
    return value


async def make_station(
    client: httpx.AsyncClient, *, identity: str = "CP-1", **extra: Any
) -> dict[str, Any]:
    if "location_id" not in extra:
        extra["location_id"] = (await make_location(client))["id"]
    return await post(client, "/stations", {"identity": identity, **extra})


def assert_problem(response: httpx.Response, *, status: int, field: str | None = None) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body = response.json()
    assert body["status"] == status
    assert {"type", "title", "detail"} <= body.keys()
    if field is not None:
        assert field in [error["field"] for error in body["errors"]], body


class TestLocationApi:
    async def test_creates_reads_and_patches(self, api_client: httpx.AsyncClient) -> None:
        # Arrange
        response = await api_client.post(
            "/locations",
            json={"name": "Depot", "time_zone": "Europe/Berlin", "city": "Berlin"},
        )
        created = response.json()

        # Act
        patched = await api_client.patch(
            f"/locations/{created['id']}", json={"city": None, "country": "DEU"}
        )
        read = await api_client.get(f"/locations/{created['id']}")

        # Assert
        assert response.status_code == 201
        assert response.headers["location"] == f"http://testserver/api/v1/locations/{created['id']}"
        assert patched.status_code == 200
        assert read.json() == patched.json()
        assert (read.json()["city"], read.json()["country"]) == (None, "DEU")
        assert read.json()["name"] == "Depot"

    async def test_rejects_unknown_time_zone_and_creates_nothing(
        self, api_client: httpx.AsyncClient, context: ServiceContext
    ) -> None:
        # Act
        response = await api_client.post(
            "/locations", json={"name": "Depot", "time_zone": "Mars/Olympus"}
        )

        # Assert
        assert_problem(response, status=422, field="time_zone")
        async with context.unit_of_work() as db:
            assert await db.scalar(select(func.count()).select_from(Location)) == 0

    async def test_rejects_unknown_fields(self, api_client: httpx.AsyncClient) -> None:
        response = await api_client.post(
            "/locations", json={"name": "Depot", "time_zone": "UTC", "colour": "blue"}
        )

        assert_problem(response, status=422, field="colour")

    async def test_rejects_null_for_a_required_field_on_patch(
        self, api_client: httpx.AsyncClient
    ) -> None:
        # Arrange
        location = await make_location(api_client)

        # Act
        response = await api_client.patch(f"/locations/{location['id']}", json={"name": None})

        # Assert
        assert_problem(response, status=422, field="name")
        assert (await api_client.get(f"/locations/{location['id']}")).json()["name"] == "Depot"

    async def test_paginates_with_total(self, api_client: httpx.AsyncClient) -> None:
        # Arrange
        ids = [(await make_location(api_client, name=f"Site {n}"))["id"] for n in range(5)]

        # Act
        response = await api_client.get("/locations", params={"limit": 2, "offset": 2})

        # Assert
        body = response.json()
        assert [item["id"] for item in body["items"]] == ids[2:4]
        assert (body["total"], body["limit"], body["offset"]) == (5, 2, 2)

    @pytest.mark.parametrize(("limit", "offset"), [(0, 0), (501, 0), (50, -1)])
    async def test_rejects_page_outside_limits(
        self, api_client: httpx.AsyncClient, limit: int, offset: int
    ) -> None:
        response = await api_client.get("/locations", params={"limit": limit, "offset": offset})

        assert_problem(response, status=422)

    async def test_requires_an_api_key(self, api_client: httpx.AsyncClient) -> None:
        response = await api_client.get("/locations", headers={"Authorization": "Bearer nope"})

        assert_problem(response, status=401)


class TestStationApi:
    async def test_returns_the_password_once_and_stores_a_hash(
        self, api_client: httpx.AsyncClient, context: ServiceContext
    ) -> None:
        # Act
        response = await api_client.post(
            "/stations",
            json={
                "identity": "CP-1",
                "location_id": (await make_location(api_client))["id"],
                "connectors": 2,
                "max_power_w": 11000,
            },
        )
        created = response.json()
        read = await api_client.get(f"/stations/{created['id']}")
        listed = await api_client.get("/stations")

        # Assert
        assert response.status_code == 201
        assert response.headers["cache-control"] == "no-store"
        assert response.headers["location"].endswith(f"/api/v1/stations/{created['id']}")
        assert [(e["connector_id"], e["max_power_w"]) for e in created["evses"]] == [
            (1, 11000),
            (2, 11000),
        ]
        assert created["connected"] is False
        password = created["password"]
        for body in (read.text, listed.text):
            assert password not in body
            assert "password_hash" not in body
            assert "argon2" not in body
        assert "password" not in read.json()
        async with context.unit_of_work() as db:
            stored = await db.scalar(select(Station.password_hash))
        assert stored is not None
        assert stored.startswith("$argon2id$")
        assert verify_secret(secret=password, secret_hash=stored)

    async def test_rejects_duplicate_identity_with_conflict(
        self, api_client: httpx.AsyncClient
    ) -> None:
        # Arrange
        station = await make_station(api_client, identity="CP-1")

        # Act
        response = await api_client.post(
            "/stations", json={"identity": "CP-1", "location_id": station["location_id"]}
        )

        # Assert
        assert_problem(response, status=409)
        assert (await api_client.get("/stations")).json()["total"] == 1

    @pytest.mark.parametrize(
        ("body", "field"),
        [
            ({"identity": "CP/1"}, "identity"),
            ({"identity": "CP-1", "password": "short"}, "password"),
            ({"identity": "CP-1", "connectors": 9}, "connectors"),
            ({"identity": "CP-1", "max_power_w": 0}, "max_power_w"),
            ({"identity": "CP-1", "tariff_id": 999}, "tariff_id"),
            ({"identity": "CP-1", "location_id": 999}, "location_id"),
        ],
    )
    async def test_rejects_invalid_station_and_creates_nothing(
        self, api_client: httpx.AsyncClient, body: dict[str, Any], field: str
    ) -> None:
        # Arrange
        location = await make_location(api_client)

        # Act
        response = await api_client.post("/stations", json={"location_id": location["id"], **body})

        # Assert
        assert_problem(response, status=422, field=field)
        assert (await api_client.get("/stations")).json()["total"] == 0

    async def test_rotates_the_password(self, api_client: httpx.AsyncClient) -> None:
        # Arrange
        station = await make_station(api_client)

        # Act
        generated = await api_client.post(f"/stations/{station['id']}/password")
        chosen = await api_client.post(
            f"/stations/{station['id']}/password", json={"password": "a-chosen-password-16"}
        )

        # Assert
        assert generated.status_code == 200
        assert generated.headers["cache-control"] == "no-store"
        assert generated.json()["password"] != station["password"]
        assert chosen.json() == {
            "station_id": station["id"],
            "identity": "CP-1",
            "password": "a-chosen-password-16",
        }

    async def test_filters_by_location(self, api_client: httpx.AsyncClient) -> None:
        # Arrange
        north = await make_location(api_client, name="North")
        south = await make_location(api_client, name="South")
        await make_station(api_client, identity="N-1", location_id=north["id"])
        await make_station(api_client, identity="S-1", location_id=south["id"])

        # Act
        response = await api_client.get("/stations", params={"location_id": south["id"]})

        # Assert
        assert [item["identity"] for item in response.json()["items"]] == ["S-1"]

    async def test_moves_a_station_and_assigns_a_tariff(
        self, api_client: httpx.AsyncClient
    ) -> None:
        # Arrange
        station = await make_station(api_client)
        elsewhere = await make_location(api_client, name="Elsewhere")
        tariff = await make_tariff(api_client)

        # Act
        response = await api_client.patch(
            f"/stations/{station['id']}",
            json={"location_id": elsewhere["id"], "tariff_id": tariff["id"]},
        )

        # Assert
        assert response.status_code == 200
        assert (response.json()["location_id"], response.json()["tariff_id"]) == (
            elsewhere["id"],
            tariff["id"],
        )

    async def test_switches_the_price_display(self, api_client: httpx.AsyncClient) -> None:
        # Arrange
        station = await make_station(api_client, pricing_display=True)

        # Act
        response = await api_client.patch(
            f"/stations/{station['id']}", json={"pricing_display": False}
        )

        # Assert
        assert station["pricing_display"] is True
        assert response.json()["pricing_display"] is False
        assert_problem(
            await api_client.patch(f"/stations/{station['id']}", json={"pricing_display": None}),
            status=422,
            field="pricing_display",
        )

    async def test_identity_cannot_be_changed(self, api_client: httpx.AsyncClient) -> None:
        station = await make_station(api_client)

        response = await api_client.patch(f"/stations/{station['id']}", json={"identity": "X"})

        assert_problem(response, status=422, field="identity")


class TestEvseApi:
    async def test_lists_creates_and_updates_evses(self, api_client: httpx.AsyncClient) -> None:
        # Arrange
        station = await make_station(api_client, connectors=2)

        # Act
        created = await api_client.post(
            f"/stations/{station['id']}/evses",
            json={"power_type": "DC", "max_power_w": 150000, "connector_standard": "CHADEMO"},
        )
        patched = await api_client.patch(
            f"/evses/{created.json()['id']}", json={"uid": "DE*ABC*E1234", "power_type": None}
        )
        listed = await api_client.get(f"/stations/{station['id']}/evses")

        # Assert
        assert created.status_code == 201
        assert created.headers["location"].endswith(f"/evses/{created.json()['id']}")
        assert created.json()["connector_id"] == 3
        assert (patched.json()["uid"], patched.json()["power_type"]) == ("DE*ABC*E1234", None)
        assert [e["connector_id"] for e in listed.json()["items"]] == [1, 2, 3]
        assert (await api_client.get(f"/evses/{created.json()['id']}")).json() == patched.json()

    async def test_rejects_duplicate_connector_with_conflict(
        self, api_client: httpx.AsyncClient
    ) -> None:
        station = await make_station(api_client)

        response = await api_client.post(
            f"/stations/{station['id']}/evses", json={"connector_id": 1}
        )

        assert_problem(response, status=409)

    @pytest.mark.parametrize(
        ("body", "field"),
        [
            ({"max_power_w": 1_000_001}, "max_power_w"),
            ({"power_type": "AC_2_PHASE"}, "power_type"),
            ({"uid": "nonsense"}, "uid"),
        ],
    )
    async def test_rejects_invalid_evse_update(
        self, api_client: httpx.AsyncClient, body: dict[str, Any], field: str
    ) -> None:
        # Arrange
        station = await make_station(api_client)
        evse_id = station["evses"][0]["id"]

        # Act
        response = await api_client.patch(f"/evses/{evse_id}", json=body)

        # Assert
        assert_problem(response, status=422, field=field)
        assert (await api_client.get(f"/evses/{evse_id}")).json() == station["evses"][0]


class TestDriverApi:
    async def test_creates_and_patches_a_driver(self, api_client: httpx.AsyncClient) -> None:
        # Arrange
        tariff = await make_tariff(api_client)
        driver = await post(api_client, "/drivers", {"name": "Ada", "email": "ada@example.com"})

        # Act
        response = await api_client.patch(
            f"/drivers/{driver['id']}", json={"tariff_id": tariff["id"]}
        )

        # Assert
        assert response.json()["tariff_id"] == tariff["id"]
        assert response.json()["email"] == "ada@example.com"
        assert (await api_client.get("/drivers")).json()["total"] == 1

    async def test_rejects_malformed_email(self, api_client: httpx.AsyncClient) -> None:
        response = await api_client.post("/drivers", json={"name": "Ada", "email": "ada@"})

        assert_problem(response, status=422, field="email")


class TestTokenApi:
    async def test_creates_normalised_uid_and_filters(self, api_client: httpx.AsyncClient) -> None:
        # Arrange
        driver = await post(api_client, "/drivers", {"name": "Ada"})
        token = await post(
            api_client,
            "/tokens",
            {"uid": "04a2b3c4", "driver_id": driver["id"], "expires_at": "2027-01-01T00:00:00Z"},
        )
        await post(api_client, "/tokens", {"uid": "BLOCKED1", "status": "blocked"})

        # Act
        of_driver = await api_client.get("/tokens", params={"driver_id": driver["id"]})
        blocked = await api_client.get("/tokens", params={"status": "blocked"})
        by_uid = await api_client.get("/tokens", params={"uid": "04A2b3c4"})

        # Assert
        assert token["uid"] == "04A2B3C4"
        assert token["expires_at"] == "2027-01-01T00:00:00Z"
        assert [t["uid"] for t in of_driver.json()["items"]] == ["04A2B3C4"]
        assert [t["uid"] for t in blocked.json()["items"]] == ["BLOCKED1"]
        assert [t["id"] for t in by_uid.json()["items"]] == [token["id"]]

    async def test_rejects_duplicate_uid_with_conflict(self, api_client: httpx.AsyncClient) -> None:
        await post(api_client, "/tokens", {"uid": "04A2B3C4"})

        response = await api_client.post("/tokens", json={"uid": "04a2b3c4"})

        assert_problem(response, status=409)

    async def test_rejects_expiry_without_time_zone(self, api_client: httpx.AsyncClient) -> None:
        response = await api_client.post(
            "/tokens", json={"uid": "04A2B3C4", "expires_at": "2027-01-01T00:00:00"}
        )

        assert_problem(response, status=422, field="expires_at")
        assert (await api_client.get("/tokens")).json()["total"] == 0

    async def test_blocks_a_token(self, api_client: httpx.AsyncClient) -> None:
        token = await post(api_client, "/tokens", {"uid": "04A2B3C4"})

        response = await api_client.patch(f"/tokens/{token['id']}", json={"status": "blocked"})

        assert response.json()["status"] == "blocked"


class TestTariffApi:
    async def test_exchanges_ocpi_documents_exactly(self, api_client: httpx.AsyncClient) -> None:
        # Arrange
        body = (
            '{"name": "Exact", "ocpi": {"currency": "EUR", "elements": [{"price_components": ['
            '{"type": "ENERGY", "price": 0.123456789012345678, "vat": 19.00, "step_size": 1}, '
            '{"type": "FLAT", "price": 1.10, "vat": 19.00, "step_size": 1}]}]}}'
        )

        # Act
        response = await post_raw(api_client, "/tariffs", body)
        created = loads_ocpi(response.text)
        read = await api_client.get(f"/tariffs/{created['id']}")
        exported = await api_client.get(f"/tariffs/{created['id']}/ocpi")

        # Assert
        assert response.status_code == 201, response.text
        assert response.headers["location"].endswith(f"/tariffs/{created['id']}")
        components = created["ocpi"]["elements"][0]["price_components"]
        assert [str(c["price"]) for c in components] == ["0.123456789012345678", "1.10"]
        assert str(components[0]["vat"]) == "19.00"
        assert created["ocpi"]["id"] == created["ocpi_id"] == str(created["id"])
        assert (created["ocpi"]["country_code"], created["ocpi"]["party_id"]) == ("XX", "EVB")
        assert created["ocpi"]["last_updated"] == "2026-03-02T09:00:00Z"
        assert (created["currency"], created["version"], created["is_default"]) == (
            "EUR",
            1,
            False,
        )
        assert read.text == response.text
        assert exported.headers["content-type"].startswith("application/json")
        assert exported.text == dumps_ocpi(created["ocpi"])
        assert '"price": 0.123456789012345678' in exported.text

    @pytest.mark.parametrize("name", EXAMPLE_FILES)
    async def test_exports_the_ocpi_examples_unchanged(
        self, api_client: httpx.AsyncClient, name: str
    ) -> None:
        # Arrange
        text = (EXAMPLES / name).read_text()

        # Act
        response = await post_raw(api_client, "/tariffs", f'{{"name": "{name}", "ocpi": {text}}}')
        exported = await api_client.get(f"/tariffs/{loads_ocpi(response.text)['id']}/ocpi")

        # Assert
        assert response.status_code == 201, response.text
        original = loads_ocpi(text)
        if "last_updated" not in original:  # the PUT example: stamped on arrival
            original["last_updated"] = "2026-03-02T09:00:00Z"
        assert exact(loads_ocpi(exported.text)) == exact(original)

    async def test_patch_with_a_new_document_makes_a_new_version(
        self, api_client: httpx.AsyncClient, clock: FixedClock
    ) -> None:
        # Arrange
        tariff = await make_tariff(api_client)
        clock.advance(seconds=60)

        # Act
        response = await api_client.patch(
            f"/tariffs/{tariff['id']}",
            content='{"name": "Peak", "ocpi": ' + simple_ocpi("0.42") + "}",
            headers={"content-type": "application/json"},
        )
        versions = await api_client.get(f"/tariffs/{tariff['id']}/versions")
        first = await api_client.get(f"/tariffs/{tariff['id']}/versions/1")
        first_export = await api_client.get(f"/tariffs/{tariff['id']}/ocpi?version=1")

        # Assert
        assert response.status_code == 200, response.text
        body = loads_ocpi(response.text)
        assert (body["version"], body["name"]) == (2, "Peak")
        assert str(body["ocpi"]["elements"][0]["price_components"][0]["price"]) == "0.42"
        assert body["updated_at"] > tariff["updated_at"]
        assert body["created_at"] == tariff["created_at"]
        assert [v["version"] for v in versions.json()["items"]] == [1, 2]
        assert loads_ocpi(first.text)["ocpi"] == loads_ocpi(first_export.text)
        assert "0.35" in first_export.text

    async def test_one_default_per_operator(self, api_client: httpx.AsyncClient) -> None:
        # Arrange
        first = await make_tariff(api_client, name="First", is_default=True)

        # Act
        second = await make_tariff(api_client, name="Second", is_default=True)

        # Assert
        items = (await api_client.get("/tariffs")).json()["items"]
        assert {t["id"]: t["is_default"] for t in items} == {first["id"]: False, second["id"]: True}

    async def test_rejects_an_invalid_tariff_naming_every_field_and_creates_nothing(
        self, api_client: httpx.AsyncClient
    ) -> None:
        # Arrange
        body = (
            '{"name": "Bad", "ocpi": {"currency": "euro", "elements": [{"price_components": ['
            '{"type": "ENERGY", "price": -0.01, "vat": 150, "step_size": 0}]}]}}'
        )

        # Act
        response = await post_raw(api_client, "/tariffs", body)

        # Assert
        assert_problem(response, status=422)
        fields = {error["field"] for error in response.json()["errors"]}
        component = "ocpi.elements[0].price_components[0]"
        assert fields == {
            "ocpi.currency",
            f"{component}.price",
            f"{component}.vat",
            f"{component}.step_size",
        }
        assert f"{component}.step_size" in response.json()["detail"]
        assert (await api_client.get("/tariffs")).json()["total"] == 0

    @pytest.mark.parametrize(
        ("body", "field"),
        [
            ({"name": "T"}, "ocpi"),
            ({"name": "", "ocpi": {}}, "name"),
            ({"name": "T", "ocpi": [1]}, "ocpi"),
            ({"name": "T", "ocpi": {}, "extra": 1}, "extra"),
        ],
    )
    async def test_rejects_a_malformed_envelope(
        self, api_client: httpx.AsyncClient, body: dict[str, Any], field: str
    ) -> None:
        response = await api_client.post("/tariffs", json=body)

        assert_problem(response, status=422, field=field)

    async def test_a_new_version_keeps_the_currency(self, api_client: httpx.AsyncClient) -> None:
        # Arrange
        tariff = await make_tariff(api_client)

        # Act
        response = await api_client.patch(
            f"/tariffs/{tariff['id']}",
            content='{"ocpi": ' + simple_ocpi("0.42").replace('"EUR"', '"SEK"') + "}",
            headers={"content-type": "application/json"},
        )

        # Assert
        assert_problem(response, status=422, field="ocpi.currency")
        assert (await api_client.get(f"/tariffs/{tariff['id']}")).json()["version"] == 1

    async def test_unknown_version_is_not_found(self, api_client: httpx.AsyncClient) -> None:
        tariff = await make_tariff(api_client)

        response = await api_client.get(f"/tariffs/{tariff['id']}/versions/2")

        assert_problem(response, status=404)


class TestDriverGroupApi:
    async def test_creates_groups_and_assigns_drivers(self, api_client: httpx.AsyncClient) -> None:
        # Arrange
        tariff = await make_tariff(api_client)

        # Act
        group = await post(
            api_client, "/driver-groups", {"name": "Taxis", "tariff_id": tariff["id"]}
        )
        driver = await post(api_client, "/drivers", {"name": "Ada", "group_id": group["id"]})
        renamed = await api_client.patch(
            f"/driver-groups/{group['id']}", json={"name": "Cabs", "tariff_id": None}
        )
        moved = await api_client.patch(f"/drivers/{driver['id']}", json={"group_id": None})

        # Assert
        assert (group["name"], group["tariff_id"]) == ("Taxis", tariff["id"])
        assert driver["group_id"] == group["id"]
        assert (renamed.json()["name"], renamed.json()["tariff_id"]) == ("Cabs", None)
        assert moved.json()["group_id"] is None
        listed = (await api_client.get("/driver-groups")).json()
        assert (listed["total"], listed["items"]) == (1, [renamed.json()])
        assert (await api_client.get(f"/driver-groups/{group['id']}")).json() == renamed.json()

    async def test_rejects_a_group_of_another_operator(
        self, api_client: httpx.AsyncClient, other_client: httpx.AsyncClient
    ) -> None:
        # Arrange
        theirs = await post(other_client, "/driver-groups", {"name": "Theirs"})

        # Act
        response = await api_client.post("/drivers", json={"name": "Ada", "group_id": theirs["id"]})

        # Assert
        assert_problem(response, status=422, field="group_id")
        assert_problem(await api_client.get(f"/driver-groups/{theirs['id']}"), status=404)


class TestOwnershipApi:
    async def test_objects_of_another_operator_are_not_found(
        self, api_client: httpx.AsyncClient, other_client: httpx.AsyncClient
    ) -> None:
        # Arrange
        station = await make_station(other_client, identity="THEIRS")
        tariff = await make_tariff(other_client)
        group = await post(other_client, "/driver-groups", {"name": "Theirs"})
        driver = await post(other_client, "/drivers", {"name": "Theirs"})
        token = await post(other_client, "/tokens", {"uid": "THEIRS"})
        evse_id = station["evses"][0]["id"]
        paths = [
            f"/locations/{station['location_id']}",
            f"/stations/{station['id']}",
            f"/stations/{station['id']}/evses",
            f"/evses/{evse_id}",
            f"/drivers/{driver['id']}",
            f"/tokens/{token['id']}",
            f"/tariffs/{tariff['id']}",
            f"/tariffs/{tariff['id']}/ocpi",
            f"/tariffs/{tariff['id']}/versions",
            f"/tariffs/{tariff['id']}/versions/1",
            f"/driver-groups/{group['id']}",
        ]

        # Act
        reads = [await api_client.get(path) for path in paths]
        writes = [
            await api_client.patch(f"/stations/{station['id']}", json={"tariff_id": None}),
            await api_client.post(f"/stations/{station['id']}/password"),
            await api_client.patch(f"/tariffs/{tariff['id']}", json={"name": "Mine"}),
            await api_client.patch(f"/tokens/{token['id']}", json={"status": "blocked"}),
            await api_client.patch(f"/driver-groups/{group['id']}", json={"name": "Mine"}),
        ]

        # Assert
        for response in reads + writes:
            assert_problem(response, status=404)
        assert (await api_client.get("/stations")).json()["total"] == 0
        assert (await other_client.get(f"/tariffs/{tariff['id']}")).json()["name"] == "Standard"

    async def test_cannot_reference_another_operators_objects(
        self, api_client: httpx.AsyncClient, other_client: httpx.AsyncClient
    ) -> None:
        # Arrange
        their_tariff = await make_tariff(other_client)
        their_location = await make_location(other_client)
        their_driver = await post(other_client, "/drivers", {"name": "Theirs"})

        # Act
        with_tariff = await api_client.post(
            "/locations", json={"name": "D", "time_zone": "UTC", "tariff_id": their_tariff["id"]}
        )
        with_location = await api_client.post(
            "/stations", json={"identity": "CP-9", "location_id": their_location["id"]}
        )
        with_driver = await api_client.post(
            "/tokens", json={"uid": "AA", "driver_id": their_driver["id"]}
        )

        # Assert
        assert_problem(with_tariff, status=422, field="tariff_id")
        assert_problem(with_location, status=422, field="location_id")
        assert_problem(with_driver, status=422, field="driver_id")


class TestCatalogOpenApi:
    async def test_documents_routes_and_schemas(self, api_client: httpx.AsyncClient) -> None:
        # Act
        spec = (await api_client.get("/openapi.json")).json()

        # Assert
        paths = spec["paths"]
        for path, methods in {
            "/locations": {"get", "post"},
            "/locations/{location_id}": {"get", "patch"},
            "/stations": {"get", "post"},
            "/stations/{station_id}": {"get", "patch"},
            "/stations/{station_id}/password": {"post"},
            "/stations/{station_id}/evses": {"get", "post"},
            "/evses/{evse_id}": {"get", "patch"},
            "/drivers": {"get", "post"},
            "/drivers/{driver_id}": {"get", "patch"},
            "/tokens": {"get", "post"},
            "/tokens/{token_id}": {"get", "patch"},
            "/tariffs": {"get", "post"},
            "/tariffs/{tariff_id}": {"get", "patch"},
            "/tariffs/{tariff_id}/ocpi": {"get"},
            "/tariffs/{tariff_id}/versions": {"get"},
            "/tariffs/{tariff_id}/versions/{version}": {"get"},
            "/driver-groups": {"get", "post"},
            "/driver-groups/{group_id}": {"get", "patch"},
        }.items():
            assert methods <= paths[path].keys(), path
            for method in methods:
                assert paths[path][method]["summary"]
        schemas = spec["components"]["schemas"]
        for name in ("StationCreate", "StationRead", "StationUpdate", "TariffRead", "Problem"):
            assert name in schemas
        assert "password_hash" not in str(schemas["StationRead"])
        for name in ("TariffCreate", "TariffRead", "TariffVersionRead"):
            ocpi = schemas[name]["properties"]["ocpi"]
            assert ocpi["title"] == "OcpiTariff", name
            assert "price_components" in str(ocpi["properties"]["elements"])
        assert "pricing_display" in schemas["StationRead"]["properties"]
