"""Connection-level limits, in uvicorn's protocol classes: below ASGI, where a request whose
head never completes is still visible (the application only sees complete heads).

- Request head: it must be complete within `header_timeout_s` of the connection opening, or
  of its first byte on a kept-alive connection, and within `max_header_bytes`; otherwise the
  connection is answered 408 / 431 and closed. A connection that opens and sends nothing is
  closed when the same time has passed. A WebSocket upgrade is such a request, so the limits
  cover chargers' handshakes too. Idle time between requests is uvicorn's keep-alive
  time-out.
- Connections per client address: at most `max_connections_per_address` open TCP
  connections (HTTP or WebSocket) per address, IPv6 counted per /64 (one host's share).
  The one over the cap is answered 503 and closed before anything is read. Trusted proxies
  are not counted: every client behind them shares their address. The count lives in
  `OpenConnections`, one entry per address with open connections, so it is bounded by the
  open sockets.

`http_protocol(...)` makes the class for one server (`uvicorn.Config(http=...)`, with
`ws=EdgeWebSocketProtocol`): on an upgrade the WebSocket protocol takes the connection over
and releases its slot when the connection ends.
"""

from __future__ import annotations

import asyncio
import json
from http import HTTPStatus
from ipaddress import IPv6Address, IPv6Network
from typing import Any, ClassVar

from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from uvicorn.server import ServerState

from evbilling.infra.http.addresses import IpAddress, TrustedProxies, parse_address
from evbilling.infra.http.limits import HttpLimits
from evbilling.infra.http.problems import PROBLEM, problem_document
from evbilling.infra.logging import get_logger

_log = get_logger(__name__)

IPV6_SHARE = 64


def address_key(address: IpAddress) -> str:
    """What the per-address cap counts: the IPv4 address, or the IPv6 /64 it is in."""
    if isinstance(address, IPv6Address):
        return str(IPv6Network((address, IPV6_SHARE), strict=False))
    return str(address)


class OpenConnections:
    """Open connections per address key; an entry exists only while its count is positive."""

    __slots__ = ("_open", "cap")

    def __init__(self, *, cap: int) -> None:
        self.cap = cap
        self._open: dict[str, int] = {}

    def acquire(self, key: str) -> bool:
        count = self._open.get(key, 0)
        if count >= self.cap:
            return False
        self._open[key] = count + 1
        return True

    def release(self, key: str) -> None:
        count = self._open.get(key, 0) - 1
        if count > 0:
            self._open[key] = count
        else:
            self._open.pop(key, None)

    def count(self, key: str) -> int:
        return self._open.get(key, 0)

    def __len__(self) -> int:
        return len(self._open)


def _raw_problem(status: HTTPStatus, *, kind: str, detail: str, headers: str = "") -> bytes:
    """A complete problem-document response, written before or instead of any request."""
    body = json.dumps(
        problem_document(status=status.value, title=status.phrase, detail=detail, kind=kind)
    ).encode()
    head = (
        f"HTTP/1.1 {status.value} {status.phrase}\r\n"
        f"content-type: {PROBLEM}\r\ncontent-length: {len(body)}\r\n{headers}"
        "connection: close\r\n\r\n"
    )
    return head.encode("latin-1") + body


_TOO_MANY = _raw_problem(
    HTTPStatus.SERVICE_UNAVAILABLE,
    kind="too-many-connections",
    detail="Too many open connections from this address.",
    headers="retry-after: 10\r\n",
)
_HEAD_TIMEOUT = _raw_problem(
    HTTPStatus.REQUEST_TIMEOUT, kind="header-timeout", detail="The request head came too slowly."
)
_HEAD_TOO_LARGE = _raw_problem(
    HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE,
    kind="header-too-large",
    detail="The request line and headers are too large.",
)


class EdgeHttpProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with a head time-out, a head size limit and the cap of
    connections per address. Use `http_protocol(...)`: it gives each server its own count."""

    limits: ClassVar[HttpLimits] = HttpLimits()
    proxies: ClassVar[TrustedProxies] = TrustedProxies()
    open_connections: ClassVar[OpenConnections] = OpenConnections(
        cap=HttpLimits().max_connections_per_address
    )

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self._slot: str | None = None
        self._head_timer: asyncio.TimerHandle | None = None
        self._in_head = False
        self._head_bytes = 0

    # -- the connection ----------------------------------------------------------------------

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        peer = parse_address(self.client[0]) if self.client else None
        if peer is not None and not self.proxies.trusts(peer):
            key = address_key(peer)
            if not self.open_connections.acquire(key):
                _log.warning("http.too_many_connections", address=str(peer))
                self._answer_and_close(_TOO_MANY)
                return
            self._slot = key
        self._arm_head_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_head_timer()
        self._release_slot()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self._in_head and not self.transport.is_closing():
            # The whole chunk counts: the parser holds a partial head in memory.
            self._head_bytes += len(data)
            if self._head_bytes > self.limits.max_header_bytes:
                self._log_refusal("http.header_too_large")
                self._answer_and_close(_HEAD_TOO_LARGE)

    def handle_websocket_upgrade(self) -> None:
        super().handle_websocket_upgrade()
        successor = self.transport.get_protocol()
        if self._slot is not None and isinstance(successor, EdgeWebSocketProtocol):
            successor.adopt_slot(self.open_connections, self._slot)
            self._slot = None
        else:  # a WebSocket protocol that cannot give the slot back: do not hold it
            self._release_slot()

    # -- the parser's callbacks --------------------------------------------------------------

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._in_head = True
        self._head_bytes = 0
        if self._head_timer is None:
            self._arm_head_timer()

    def on_headers_complete(self) -> None:
        self._in_head = False
        self._head_bytes = 0
        self._cancel_head_timer()
        super().on_headers_complete()

    # -- helpers -----------------------------------------------------------------------------

    def _arm_head_timer(self) -> None:
        self._head_timer = self.loop.call_later(self.limits.header_timeout_s, self._head_timed_out)

    def _cancel_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_timed_out(self) -> None:
        self._head_timer = None
        if self.transport.is_closing():
            return
        if self._answering():
            # Still answering an earlier request of this connection: the client is not late.
            self._arm_head_timer()
            return
        self._log_refusal("http.header_timeout")
        if self._in_head:
            self._answer_and_close(_HEAD_TIMEOUT)
        else:  # opened and never said anything
            self.transport.close()

    def _answering(self) -> bool:
        return self.cycle is not None and not self.cycle.response_complete

    def _answer_and_close(self, response: bytes) -> None:
        if not self._answering():  # never in the middle of another response
            self.transport.write(response)
        self.transport.close()

    def _release_slot(self) -> None:
        if self._slot is not None:
            self.open_connections.release(self._slot)
            self._slot = None

    def _log_refusal(self, event: str) -> None:
        _log.info(event, address=self.client[0] if self.client else None)


class EdgeWebSocketProtocol(WebSocketsSansIOProtocol):
    """uvicorn's WebSocket protocol, releasing the connection's slot in the per-address count
    when the connection ends."""

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self._slot: tuple[OpenConnections, str] | None = None

    def adopt_slot(self, connections: OpenConnections, key: str) -> None:
        self._slot = (connections, key)

    def connection_lost(self, exc: Exception | None) -> None:
        try:
            super().connection_lost(exc)
        finally:
            if self._slot is not None:
                connections, key = self._slot
                self._slot = None
                connections.release(key)


def http_protocol(*, limits: HttpLimits, proxies: TrustedProxies) -> type[EdgeHttpProtocol]:
    """The HTTP protocol class of one server, with its own count of open connections."""
    namespace = {
        "limits": limits,
        "proxies": proxies,
        "open_connections": OpenConnections(cap=limits.max_connections_per_address),
    }
    return type("EdgeHttpProtocol", (EdgeHttpProtocol,), namespace)
