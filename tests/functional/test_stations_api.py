"""Stations and EVSEs through the REST API: passwords shown once, problem documents."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from evbilling.infra.context import ServiceContext
from evbilling.infra.secrets import verify_secret
from evbilling.models import Station
from tests.functional.api_calls import (
    assert_problem,
    make_location,
    make_station,
    make_tariff,
)


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

    async def test_refuses_an_identity_with_a_trailing_newline_and_creates_nothing(
        self, api_client: httpx.AsyncClient, context: ServiceContext
    ) -> None:
        # Arrange
        location = await make_location(api_client)

        # Act
        response = await api_client.post(
            "/stations", json={"identity": "CP-9\n", "location_id": location["id"]}
        )

        # Assert
        assert_problem(response, status=422, field="identity")
        assert response.json()["errors"] == [
            {"field": "identity", "message": "must be 1 to 48 characters of A-Z a-z 0-9 . _ ~ : -"}
        ]
        async with context.unit_of_work() as db:
            assert await db.scalar(select(func.count()).select_from(Station)) == 0

    async def test_sets_the_password_without_the_station(
        self, api_client: httpx.AsyncClient
    ) -> None:
        # Arrange
        station = await make_station(api_client)

        # Act
        generated = await api_client.put(f"/stations/{station['id']}/password")
        chosen = await api_client.put(
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
