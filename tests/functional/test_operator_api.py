"""The operator API across the slices: another operator's objects, the OpenAPI document."""

from __future__ import annotations

import httpx

from tests.functional.api_calls import (
    assert_problem,
    make_location,
    make_station,
    make_tariff,
    post,
)


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
            await api_client.put(f"/stations/{station['id']}/password"),
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


class TestOpenApi:
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
            "/stations/{station_id}/password": {"post", "put"},
            "/api-keys": {"get", "post"},
            "/api-keys/{key_id}": {"delete"},
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
