"""Locations through the REST API: round trips, problem documents, pagination."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import func, select

from evbilling.infra.context import ServiceContext
from evbilling.models import Location
from tests.functional.api_calls import (
    assert_problem,
    make_location,
)


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
