"""A real server started the way `evbilling serve` starts it (main.uvicorn_config: the edge's
protocol classes and middleware), with settings of the test's choosing, and a raw socket
client that can misbehave as no HTTP library would."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import uvicorn
from sqlalchemy.ext.asyncio import AsyncEngine

from evbilling.config import Settings
from evbilling.infra.context import ServiceContext
from evbilling.infra.http.connections import EdgeHttpProtocol, OpenConnections
from evbilling.main import Application, create_app, uvicorn_config
from evbilling.wiring import http_limits, trusted_proxies

# Only a guard against a hanging test: every wait below ends when the server closes.
GUARD_S = 15


@dataclass(slots=True)
class Edge:
    port: int
    open_connections: OpenConnections

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ocpp"


@asynccontextmanager
async def edge_server(
    *, context: ServiceContext, engine: AsyncEngine, **settings: Any
) -> AsyncIterator[Edge]:
    config_settings = Settings(host="127.0.0.1", port=0, **settings)
    app, gateway = create_app(
        context=context,
        limits=http_limits(config_settings),
        proxies=trusted_proxies(config_settings),
    )
    application = Application(app=app, engine=engine, gateway=gateway, context=context)
    config = uvicorn_config(application=application, settings=config_settings)
    assert isinstance(config.http, type)
    assert issubclass(config.http, EdgeHttpProtocol)
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield Edge(port=port, open_connections=config.http.open_connections)
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, timeout=GUARD_S)


@dataclass(slots=True)
class RawClient:
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter

    async def send(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def until_closed(self) -> bytes:
        """Everything the server sends until it closes the connection."""
        return await asyncio.wait_for(self.reader.read(), timeout=GUARD_S)

    async def response(self) -> bytes:
        """One response with a Content-Length, the connection left open."""
        head = await asyncio.wait_for(self.reader.readuntil(b"\r\n\r\n"), timeout=GUARD_S)
        length = next(
            int(line.split(b":", 1)[1])
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length:")
        )
        return head + await self.reader.readexactly(length)

    async def close(self) -> None:
        self.writer.close()
        try:
            await self.writer.wait_closed()
        except ConnectionError:
            pass


async def raw_client(edge: Edge, *, source: str = "127.0.0.1") -> RawClient:
    reader, writer = await asyncio.open_connection("127.0.0.1", edge.port, local_addr=(source, 0))
    return RawClient(reader=reader, writer=writer)


def status_of(response: bytes) -> int:
    return int(response.split(b" ", 2)[1])


def problem_of(response: bytes) -> dict[str, Any]:
    head, _, body = response.partition(b"\r\n\r\n")
    assert b"content-type: application/problem+json" in head.lower(), head
    document: dict[str, Any] = json.loads(body)
    return document


async def released(edge: Edge, key: str, *, below: int) -> None:
    """Wait until the server has noticed closed connections (it sees the close on its own
    time)."""
    async with asyncio.timeout(GUARD_S):
        while edge.open_connections.count(key) >= below:  # noqa: ASYNC110 (no event to await)
            await asyncio.sleep(0.02)
