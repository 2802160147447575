"""The WebSocket protocol uvicorn runs for every connection: the edge's (uvicorn's
`websockets-sansio` implementation with the per-address connection slot,
infra/http/connections.py), holding less while a station sits connected.

A station stays connected for days and is idle almost all that time, so what each connection
keeps decides how many stations one process can hold. Compared with the implementation it
extends, a connection here keeps its inbound queue and its "writable" flag as the small
`Inbox` and `Flag` (allocated on use) instead of an asyncio.Queue and Event, and lets go of
the handshake's request and response (both with all their headers) once the handshake is
answered (the ASGI scope keeps the headers the application reads). Behaviour is unchanged.
Written against uvicorn 0.54 (requirements/runtime.lock); the functional tests run every
OCPP exchange through it.
"""

from __future__ import annotations

from typing import Any

from uvicorn._types import ASGISendEvent

from evbilling.infra.http.connections import EdgeWebSocketProtocol
from evbilling.ocpp.inbox import Flag, Inbox


class OcppWebSocketProtocol(EdgeWebSocketProtocol):
    """Pass as `uvicorn.Config(ws=OcppWebSocketProtocol)`."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.queue = Inbox()  # type: ignore[assignment]
        self.writable = Flag(is_set=True)  # type: ignore[assignment]

    async def send(self, message: ASGISendEvent) -> None:
        await super().send(message)
        if self.handshake_complete and "response" in self.__dict__:
            # Only the handshake reads these; the scope keeps the headers the app reads. The
            # request stays referenced by the websockets parser for the connection's life:
            # empty its headers.
            self.request.headers.clear()
            del self.request
            del self.response
