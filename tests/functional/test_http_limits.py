"""What a client can make the server hold: bodies, request heads and connections are bounded
on a real server, before authentication, and a refused request changes nothing."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from decimal import Decimal

import httpx
import pytest
import websockets
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine
from websockets.typing import Subprotocol

from evbilling.infra.context import ServiceContext
from evbilling.infra.http.limits import DEFAULT_MAX_BODY_BYTES
from evbilling.models import Location
from evbilling.tariffs.domain import dumps_ocpi
from tests.factories import create_station
from tests.functional.conftest import basic_auth
from tests.functional.edge import (
    Edge,
    edge_server,
    problem_of,
    raw_client,
    released,
    status_of,
)

LIMIT = 4096


async def locations(context: ServiceContext) -> int:
    async with context.unit_of_work() as db:
        return int(await db.scalar(select(func.count()).select_from(Location)) or 0)


def post_head(api_key: str, *framing: str) -> bytes:
    lines = [
        "POST /api/v1/locations HTTP/1.1",
        "Host: test",
        f"Authorization: Bearer {api_key}",
        "Content-Type: application/json",
        *framing,
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def location_body(padding: int = 0) -> bytes:
    document = {"name": "Depot", "time_zone": "Europe/Berlin", "address": "x" * padding}
    return json.dumps(document).encode()


@pytest.fixture
async def edge(context: ServiceContext, engine: AsyncEngine) -> AsyncIterator[Edge]:
    async with edge_server(
        context=context,
        engine=engine,
        http_max_body_bytes=LIMIT,
        http_body_timeout_s=1.0,
        http_header_timeout_s=1.0,
        http_max_header_bytes=8192,
    ) as server:
        yield server


class TestRequestBodies:
    async def test_a_declared_length_over_the_limit_is_refused_before_the_body_is_sent(
        self, edge: Edge, context: ServiceContext, api_key: str
    ) -> None:
        client = await raw_client(edge)
        # Only the head: the server must answer without waiting for the 10 MiB.
        await client.send(post_head(api_key, f"Content-Length: {10 << 20}"))

        response = await client.until_closed()

        assert status_of(response) == 413
        assert problem_of(response)["type"].endswith("/body-too-large")
        assert b"x-request-id:" in response.lower()
        assert await locations(context) == 0

    async def test_the_limit_applies_before_authentication(self, edge: Edge) -> None:
        client = await raw_client(edge)
        await client.send(post_head("not-a-key", f"Content-Length: {LIMIT + 1}"))

        assert status_of(await client.until_closed()) == 413

    async def test_a_chunked_body_is_cut_off_at_the_limit(
        self, edge: Edge, context: ServiceContext, api_key: str
    ) -> None:
        client = await raw_client(edge)
        await client.send(post_head(api_key, "Transfer-Encoding: chunked"))
        chunk = b"x" * 1024
        # Past the limit, and the stream not even finished.
        await client.send(b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for _ in range(5)))

        response = await client.until_closed()

        assert status_of(response) == 413
        assert problem_of(response)["status"] == 413
        assert await locations(context) == 0

    async def test_a_body_within_the_limit_is_served_chunked_or_not(
        self, edge: Edge, context: ServiceContext, api_key: str
    ) -> None:
        async with httpx.AsyncClient(
            base_url=f"{edge.base_url}/api/v1", headers={"Authorization": f"Bearer {api_key}"}
        ) as client:
            plain = await client.post(
                "/locations", content=location_body(), headers={"Content-Type": "application/json"}
            )

            async def stream() -> AsyncIterator[bytes]:
                yield location_body(padding=50)

            chunked = await client.post(
                "/locations", content=stream(), headers={"Content-Type": "application/json"}
            )

        assert (plain.status_code, chunked.status_code) == (201, 201), chunked.text
        assert await locations(context) == 2

    async def test_a_body_that_stops_arriving_is_answered_408_and_closed(
        self, edge: Edge, context: ServiceContext, api_key: str
    ) -> None:
        body = location_body()
        client = await raw_client(edge)
        await client.send(post_head(api_key, f"Content-Length: {len(body)}") + body[:10])

        response = await client.until_closed()

        assert status_of(response) == 408
        assert problem_of(response)["type"].endswith("/body-timeout")
        assert await locations(context) == 0


def weekly_tariff() -> bytes:
    """A different price for every hour of the week: a large tariff an operator may send."""
    days = ["MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY"]
    elements = [
        {
            "price_components": [
                {"type": "ENERGY", "price": Decimal(f"0.{30 + hour}12"), "vat": 19, "step_size": 1},
                {"type": "PARKING_TIME", "price": Decimal("2.00"), "vat": 19, "step_size": 60},
            ],
            "restrictions": {
                "start_time": f"{hour:02d}:00",
                "end_time": f"{(hour + 1) % 24:02d}:00",
                "day_of_week": [day],
            },
        }
        for day in days
        for hour in range(24)
    ]
    alt_text = [{"language": "en", "text": "Hourly prices. " * 30}]
    ocpi = {"currency": "EUR", "tariff_alt_text": alt_text, "elements": elements}
    return dumps_ocpi({"name": "Weekly", "ocpi": ocpi}).encode()


async def test_the_largest_legitimate_request_passes_the_default_limit_with_room(
    context: ServiceContext, engine: AsyncEngine, api_key: str
) -> None:
    body = weekly_tariff()
    async with (
        edge_server(context=context, engine=engine) as edge,
        httpx.AsyncClient(
            base_url=f"{edge.base_url}/api/v1", headers={"Authorization": f"Bearer {api_key}"}
        ) as client,
    ):
        response = await client.post(
            "/tariffs", content=body, headers={"Content-Type": "application/json"}
        )

    assert response.status_code == 201, response.text
    assert len(response.json()["ocpi"]["elements"]) == 7 * 24
    assert 10 * len(body) < DEFAULT_MAX_BODY_BYTES


class TestRequestHeads:
    async def test_a_half_sent_request_head_is_answered_408_and_closed(self, edge: Edge) -> None:
        client = await raw_client(edge)
        await client.send(b"GET /healthz HTTP/1.1\r\nHost: test\r\n")

        response = await client.until_closed()

        assert status_of(response) == 408
        assert problem_of(response)["type"].endswith("/header-timeout")

    async def test_a_half_sent_websocket_upgrade_is_closed(self, edge: Edge) -> None:
        client = await raw_client(edge)
        await client.send(
            b"GET /ocpp/CP-1 HTTP/1.1\r\nHost: test\r\nUpgrade: websocket\r\n"
            b"Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
        )

        assert status_of(await client.until_closed()) == 408

    async def test_a_connection_that_never_speaks_is_closed(self, edge: Edge) -> None:
        client = await raw_client(edge)

        assert await client.until_closed() == b""

    async def test_a_head_trickled_byte_by_byte_is_still_cut_off(self, edge: Edge) -> None:
        client = await raw_client(edge)

        async def trickle() -> None:
            try:
                for byte in b"GET /healthz HTTP/1.1\r\nX-Slow: " + b"a" * 10_000:
                    await client.send(bytes([byte]))
                    await asyncio.sleep(0.05)
            except ConnectionError:
                return  # the server hung up, as it should

        sender = asyncio.create_task(trickle())
        try:
            response = await client.until_closed()
        finally:
            sender.cancel()

        assert status_of(response) == 408

    async def test_an_oversized_head_is_answered_431_and_closed(self, edge: Edge) -> None:
        client = await raw_client(edge)
        await client.send(b"GET /healthz HTTP/1.1\r\nX-Big: " + b"a" * 10_000)

        response = await client.until_closed()

        assert status_of(response) == 431

    async def test_each_request_on_a_kept_alive_connection_has_the_head_time(
        self, edge: Edge
    ) -> None:
        client = await raw_client(edge)
        await client.send(b"GET /healthz HTTP/1.1\r\nHost: test\r\n\r\n")
        answered = await client.response()
        await client.send(b"GET /healthz HTTP/1.1\r\nHost: test\r\n")

        response = await client.until_closed()

        assert status_of(answered) == 200
        assert status_of(response) == 408


@pytest.fixture
async def capped(context: ServiceContext, engine: AsyncEngine) -> AsyncIterator[Edge]:
    async with edge_server(context=context, engine=engine, max_connections_per_address=3) as server:
        yield server


async def healthz(edge: Edge, *, source: str = "127.0.0.1") -> int:
    client = await raw_client(edge, source=source)
    await client.send(b"GET /healthz HTTP/1.1\r\nHost: test\r\n\r\n")
    try:
        return status_of(await client.response())
    finally:
        await client.close()


class TestConnectionsPerAddress:
    async def test_the_connection_over_the_cap_is_refused_and_other_addresses_are_not(
        self, capped: Edge
    ) -> None:
        idle = [await raw_client(capped) for _ in range(3)]

        extra = await raw_client(capped)
        refused = await extra.until_closed()
        neighbour = await healthz(capped, source="127.0.0.2")

        assert status_of(refused) == 503
        assert problem_of(refused)["type"].endswith("/too-many-connections")
        assert neighbour == 200
        await idle[0].close()
        await released(capped, "127.0.0.1", below=3)
        assert await healthz(capped) == 200
        for client in idle[1:]:
            await client.close()

    async def test_websocket_connections_count_and_free_their_slot_when_they_end(
        self, capped: Edge, context: ServiceContext, operator_id: int
    ) -> None:
        for identity in ("CP-1", "CP-2"):
            await create_station(context, operator_id=operator_id, identity=identity)
        stations = [
            await websockets.connect(
                f"{capped.ws_url}/{identity}",
                subprotocols=[Subprotocol("ocpp1.6")],
                additional_headers=basic_auth(identity),
            )
            for identity in ("CP-1", "CP-2")
        ]
        idle = await raw_client(capped)

        refused = await (await raw_client(capped)).until_closed()
        await stations[0].close()
        await released(capped, "127.0.0.1", below=3)
        after_close = await healthz(capped)

        assert status_of(refused) == 503
        assert after_close == 200
        await stations[1].close()
        await idle.close()
        await released(capped, "127.0.0.1", below=1)
        assert len(capped.open_connections) == 0
