"""A real evbilling server on loopback (uvicorn, real WebSockets) over the test database."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import pytest
import uvicorn
import websockets
from fastapi import FastAPI
from websockets.asyncio.client import ClientConnection
from websockets.asyncio.server import serve
from websockets.typing import Subprotocol

from evbilling.infra.context import ServiceContext
from evbilling.kit import FixedClock
from evbilling.main import create_app
from evbilling.ocpp import OcppGateway
from evbilling.ocpp.ws_protocol import OcppWebSocketProtocol
from tests.factories import STATION_PASSWORD
from tests.functional.fake_csms import FakeCentralSystem


@dataclass(slots=True)
class LiveServer:
    base_url: str
    ws_url: str
    gateway: OcppGateway
    # The server's clock: test chargers move it to the time they stamp their messages with.
    clock: FixedClock


@asynccontextmanager
async def running(
    config: uvicorn.Config, gateway: OcppGateway, clock: FixedClock
) -> AsyncIterator[LiveServer]:
    """Serve `config` (its port 0: any free one) for the duration of the block."""
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    yield LiveServer(
        base_url=f"http://127.0.0.1:{port}",
        ws_url=f"ws://127.0.0.1:{port}/ocpp",
        gateway=gateway,
        clock=clock,
    )
    server.should_exit = True
    await asyncio.wait_for(task, timeout=10)


def loopback_config(app: FastAPI) -> uvicorn.Config:
    return uvicorn.Config(
        app, host="127.0.0.1", port=0, log_level="warning", ws=OcppWebSocketProtocol, lifespan="on"
    )


@pytest.fixture
async def live_server(context: ServiceContext, clock: FixedClock) -> AsyncIterator[LiveServer]:
    app, gateway = create_app(context=context, command_timeout_s=5.0, auth_failures_allowed=3)
    async with running(loopback_config(app), gateway, clock) as server:
        yield server


def basic_auth(identity: str, password: str = STATION_PASSWORD) -> dict[str, str]:
    token = base64.b64encode(f"{identity}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


async def connect(
    server: LiveServer,
    identity: str,
    *,
    password: str | None = STATION_PASSWORD,
    subprotocols: list[str] | None = None,
    source: str | None = None,
) -> ClientConnection:
    """Open a station's WebSocket the way a charger does (security profile 1), from the
    loopback address `source` (any of 127.0.0.0/8) when given."""
    headers = basic_auth(identity, password) if password is not None else {}
    return await websockets.connect(
        f"{server.ws_url}/{identity}",
        subprotocols=[Subprotocol(p) for p in (subprotocols or ["ocpp1.6"])],
        additional_headers=headers,
        open_timeout=10,
        local_addr=(source, 0) if source is not None else None,
    )


@pytest.fixture
async def csms() -> AsyncIterator[FakeCentralSystem]:
    central = FakeCentralSystem()
    async with serve(
        central.handler,
        "127.0.0.1",
        0,
        subprotocols=[Subprotocol("ocpp1.6")],
        process_request=central.process_request,
    ) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        central.url = f"ws://127.0.0.1:{port}/ocpp"
        yield central
