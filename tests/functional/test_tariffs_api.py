"""Tariffs through the REST API: OCPI documents exchanged exactly, versions, defaults."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from evbilling.kit import FixedClock
from evbilling.tariffs.domain import dumps_ocpi, loads_ocpi
from tests.functional.api_calls import (
    EXAMPLE_FILES,
    EXAMPLES,
    assert_problem,
    exact,
    make_tariff,
    post_raw,
    simple_ocpi,
)


class TestTariffApi:
    async def test_exchanges_ocpi_documents_exactly(self, api_client: httpx.AsyncClient) -> None:
        # Arrange
        body = (
            '{"name": "Exact", "ocpi": {"currency": "EUR", "elements": [{"price_components": ['
            '{"type": "ENERGY", "price": 0.12345600, "vat": 19.00, "step_size": 1}, '
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
        assert [str(c["price"]) for c in components] == ["0.12345600", "1.10"]
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
        assert '"price": 0.12345600' in exported.text

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
