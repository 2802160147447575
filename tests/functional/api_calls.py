"""Calls and checks the API tests of the slices share: objects made through the API, exact
JSON, problem documents."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx

from evbilling.tariffs.domain import loads_ocpi
from tests.fixtures import OCPI_EXAMPLES

PROBLEM = "application/problem+json"
EXAMPLES = OCPI_EXAMPLES
EXAMPLE_FILES = sorted(path.name for path in EXAMPLES.glob("tariff_*.json"))


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
