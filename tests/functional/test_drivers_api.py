"""Drivers, driver groups and tokens through the REST API."""

from __future__ import annotations

import httpx

from tests.functional.api_calls import (
    assert_problem,
    make_tariff,
    post,
)


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
