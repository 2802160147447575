"""What one request and one client may cost the server (`HttpLimits`), and the body half of
it: request bodies are bounded before anything reads them (pure ASGI, around the whole app;
the request head and the connections are bounded in `connections.py`).

A declared Content-Length over the limit is answered 413 at once: the body is never read,
the application never runs (so an unauthenticated client cannot make the server buffer a
large body). A chunked body is counted as it streams and cut off at the limit with 413. A
body that has not arrived completely within `body_timeout_s` of the request head is answered
408. Each refusal is a problem document and closes the connection, since the rest of the body
would otherwise have to be read to find the next request.

When a limit trips while the application is reading, `receive` raises `BodyRefused`; what the
application answers then is discarded and the refusal is sent instead.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Final

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from evbilling.infra.http.addresses import client_address
from evbilling.infra.http.app import REQUEST_ID_HEADER, request_id_for
from evbilling.infra.http.problems import problem
from evbilling.infra.logging import get_logger

_log = get_logger(__name__)

DEFAULT_MAX_BODY_BYTES: Final = 1 << 20


@dataclass(frozen=True, slots=True)
class HttpLimits:
    """What one request and one client may cost the server (docs/http-limits.md)."""

    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    body_timeout_s: float = 30.0
    max_header_bytes: int = 64 * 1024
    header_timeout_s: float = 20.0
    max_connections_per_address: int = 256


class BodyRefused(Exception):
    """Raised by `receive` once the body went over the limit or did not arrive in time."""


@dataclass(frozen=True, slots=True)
class _Refusal:
    status: int
    title: str
    kind: str
    detail: str


def _too_large(limit: int) -> _Refusal:
    return _Refusal(
        status=413,
        title="Content too large",
        kind="body-too-large",
        detail=f"The request body is larger than {limit} bytes.",
    )


def _too_slow(timeout_s: float) -> _Refusal:
    return _Refusal(
        status=408,
        title="Request timeout",
        kind="body-timeout",
        detail=f"The request body did not arrive within {timeout_s:g} s.",
    )


def declared_length(scope: Scope) -> int | None:
    """The Content-Length the client declared (the HTTP parser has refused malformed ones)."""
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


class RequestBodyLimits:
    """Pure ASGI middleware: body size and body time-out for every HTTP request."""

    def __init__(self, app: ASGIApp, *, max_body_bytes: int, body_timeout_s: float) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.body_timeout_s = body_timeout_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = declared_length(scope)
        if length is not None and length > self.max_body_bytes:
            await _refuse(scope, send, _too_large(self.max_body_bytes))
            return
        body = _GuardedBody(
            receive=receive,
            send=send,
            max_bytes=self.max_body_bytes,
            timeout_s=self.body_timeout_s,
            deadline=asyncio.get_running_loop().time() + self.body_timeout_s,
        )
        try:
            await self.app(scope, body.receive, body.send)
        except Exception:
            if body.refusal is None or body.response_started:
                raise
        if body.refusal is not None and not body.response_started:
            await _refuse(scope, send, body.refusal)


class _GuardedBody:
    """One request's receive/send, counting and timing the body."""

    __slots__ = (
        "_receive",
        "_send",
        "complete",
        "deadline",
        "max_bytes",
        "received",
        "refusal",
        "response_started",
        "timeout_s",
    )

    def __init__(
        self, *, receive: Receive, send: Send, max_bytes: int, timeout_s: float, deadline: float
    ) -> None:
        self._receive = receive
        self._send = send
        self.max_bytes = max_bytes
        self.timeout_s = timeout_s
        self.deadline = deadline
        self.received = 0
        self.complete = False
        self.refusal: _Refusal | None = None
        self.response_started = False

    async def receive(self) -> Message:
        if self.refusal is not None:
            raise BodyRefused(self.refusal.detail)
        if self.complete:
            # After the body only a disconnect can come; waiting for it is not the client's
            # delay.
            return await self._receive()
        try:
            async with asyncio.timeout_at(self.deadline):
                message = await self._receive()
        except TimeoutError:
            self.refusal = _too_slow(self.timeout_s)
            raise BodyRefused(self.refusal.detail) from None
        if message["type"] == "http.request":
            self.received += len(message.get("body", b""))
            if self.received > self.max_bytes:
                self.refusal = _too_large(self.max_bytes)
                raise BodyRefused(self.refusal.detail)
            self.complete = not message.get("more_body", False)
        return message

    async def send(self, message: Message) -> None:
        if self.refusal is not None and not self.response_started:
            return  # the application's answer to a body it could not read: the refusal wins
        if message["type"] == "http.response.start":
            self.response_started = True
        await self._send(message)


async def _refuse(scope: Scope, send: Send, refusal: _Refusal) -> None:
    headers = Headers(scope=scope)
    request_id = request_id_for(headers.get(REQUEST_ID_HEADER))
    _log.info(
        "http.body_refused",
        status=refusal.status,
        path=scope.get("path"),
        address=client_address(scope),
        request_id=request_id,
    )
    response = problem(
        status=refusal.status,
        title=refusal.title,
        detail=refusal.detail,
        kind=refusal.kind,
        request_id=request_id,
    )
    response.headers[REQUEST_ID_HEADER] = request_id
    # The unread rest of the body stands between this answer and any next request.
    response.headers["Connection"] = "close"

    async def no_request_body() -> Message:
        return {"type": "http.disconnect"}

    await response(scope, no_request_body, send)
