"""Behind a trusted proxy the station's real address is the one logged and throttled; from
anyone else a forwarding header changes nothing (uvicorn's own reading of it is off too)."""

from __future__ import annotations

import logging

import pytest
import websockets
from sqlalchemy.ext.asyncio import AsyncEngine
from websockets.exceptions import InvalidStatus
from websockets.typing import Subprotocol

from evbilling.infra.context import ServiceContext
from evbilling.infra.logging import pseudonymize
from tests.factories import create_station
from tests.functional.conftest import basic_auth
from tests.functional.edge import Edge, edge_server

CLIENT = "203.0.113.7"


async def refused_login_address(edge: Edge, caplog: pytest.LogCaptureFixture) -> str:
    """Log in with a wrong password behind a forwarding header; the address the refusal
    was logged with."""
    caplog.clear()
    caplog.set_level(logging.INFO)
    headers = basic_auth("CP-1", "wrong-password-wrong") | {
        "X-Forwarded-For": f"198.51.100.66, {CLIENT}",
        "Forwarded": "for=198.51.100.77",
    }
    with pytest.raises(InvalidStatus) as refused:
        await websockets.connect(
            f"{edge.ws_url}/CP-1",
            subprotocols=[Subprotocol("ocpp1.6")],
            additional_headers=headers,
        )
    assert refused.value.response.status_code == 401
    lines = [r.getMessage() for r in caplog.records if "station.refused" in r.getMessage()]
    assert len(lines) == 1, lines
    return lines[0]


class TestForwardedStationAddresses:
    async def test_a_trusted_proxys_header_names_the_station(
        self,
        context: ServiceContext,
        engine: AsyncEngine,
        operator_id: int,
        caplog: pytest.LogCaptureFixture,
    ) -> None:
        await create_station(context, operator_id=operator_id, identity="CP-1")
        async with edge_server(
            context=context, engine=engine, trusted_proxies=["127.0.0.0/8"]
        ) as edge:
            line = await refused_login_address(edge, caplog)

        assert pseudonymize(CLIENT) in line
        assert pseudonymize("127.0.0.1") not in line

    async def test_the_header_from_an_untrusted_peer_is_ignored(
        self,
        context: ServiceContext,
        engine: AsyncEngine,
        operator_id: int,
        caplog: pytest.LogCaptureFixture,
    ) -> None:
        await create_station(context, operator_id=operator_id, identity="CP-1")
        async with edge_server(
            context=context, engine=engine, trusted_proxies=["10.0.0.0/8"]
        ) as edge:
            line = await refused_login_address(edge, caplog)

        assert pseudonymize("127.0.0.1") in line
        assert pseudonymize(CLIENT) not in line
