"""Idempotency-Key on the money-moving routes of an API (docs/http-limits.md).

A client that sends `Idempotency-Key: <1-255 printable characters>` with a POST to one of
the routes listed by the slices gets, for the same key and the same request (method, path,
query and body), the first response again (with `Idempotent-Replayed: true`) and no second
effect; the same key with another request is a 409; a key whose first request has not
finished is a 409 too. Keys are scoped to the caller's credential (its HMAC digest) and kept
24 hours. Only a successful (2xx) response is kept: a refused request changed nothing, so its
key may be used again.

A pure ASGI middleware: the key is reserved (committed) before the request runs and its
response stored after, each in a short unit of work of its own.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any, Final

import orjson
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from evbilling.infra.context import ServiceContext
from evbilling.infra.http import idempotency_store as store
from evbilling.infra.http.idempotency_store import Reservation
from evbilling.infra.http.problems import PROBLEM, problem_document
from evbilling.infra.logging import get_logger

log = get_logger(__name__)

KEY_HEADER: Final = b"idempotency-key"
REPLAYED_HEADER: Final = b"idempotent-replayed"
KEEP_FOR: Final = timedelta(hours=24)
MAX_KEY_LENGTH: Final = 255
PRUNE_KIND: Final = "http.prune_idempotency_keys"
_KEY = re.compile(r"[\x21-\x7e]{1,255}")
_PARAMETER = re.compile(r"\{[^/{}]+\}")


def route_pattern(templates: Iterable[str]) -> re.Pattern[str]:
    """One regex matching every path of the given templates ("/a/{id}/b": one segment per
    parameter)."""
    parts = [
        "".join(
            "[^/]+" if _PARAMETER.fullmatch(piece) else re.escape(piece)
            for piece in re.split(r"(\{[^/{}]+\})", template)
        )
        for template in templates
    ]
    return re.compile("|".join(f"(?:{part})" for part in parts) or r"(?!)")


def _credential(headers: dict[bytes, bytes]) -> str | None:
    authorization = headers.get(b"authorization")
    if authorization is not None:
        scheme, _, value = authorization.decode("latin-1").partition(" ")
        return value.strip() or None if scheme.lower() == "bearer" else None
    key = headers.get(b"x-api-key")
    return key.decode("latin-1").strip() or None if key is not None else None


def request_hash(*, method: str, path: str, query: bytes, body: bytes) -> str:
    digest = hashlib.sha256()
    for part in (method.encode(), path.encode(), query, body):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


class IdempotencyKeys:
    """The middleware: `routes` are full path templates ("/api/v1/payments/{id}/refunds")."""

    def __init__(self, app: ASGIApp, *, context: ServiceContext, routes: Sequence[str]) -> None:
        self.app = app
        self.context = context
        self.pattern = route_pattern(routes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        path = _full_path(scope)
        headers = dict(scope["headers"])
        raw_key = headers.get(KEY_HEADER)
        if raw_key is None or not self.pattern.fullmatch(path):
            await self.app(scope, receive, send)
            return
        key = raw_key.decode("latin-1")
        if not _KEY.fullmatch(key):
            await _problem(send, status=400, kind="invalid-idempotency-key", detail=(
                f"Idempotency-Key must be 1 to {MAX_KEY_LENGTH} printable ASCII characters"
            ))  # fmt: skip
            return
        credential = _credential(headers)
        if credential is None:  # the route itself answers 401
            await self.app(scope, receive, send)
            return
        await self._run_once(scope, receive, send, path=path, key=key, credential=credential)

    async def _run_once(
        self, scope: Scope, receive: Receive, send: Send, *, path: str, key: str, credential: str
    ) -> None:
        body = await _read_body(receive)
        now = self.context.clock.now()
        principal = self.context.api_keys.digest(credential)[-64:]
        fingerprint = request_hash(
            method=scope["method"], path=path, query=scope.get("query_string", b""), body=body
        )
        async with self.context.unit_of_work() as db:
            reserved = await store.reserve(
                db=db,
                principal=principal,
                key=key,
                request_hash=fingerprint,
                now=now,
                expires_at=now + KEEP_FOR,
            )
            await db.commit()
        if reserved.outcome is Reservation.MISMATCH:
            await _problem(send, status=409, kind="idempotency-key-reused", detail=(
                "this Idempotency-Key was used for a different request; use a new key"
            ))  # fmt: skip
            return
        if reserved.outcome is Reservation.IN_PROGRESS:
            await _problem(send, status=409, kind="idempotency-key-in-progress", detail=(
                "a request with this Idempotency-Key has not finished; retry later"
            ))  # fmt: skip
            return
        if reserved.outcome is Reservation.REPLAY:
            await _replay(send, reserved)
            return
        assert reserved.key_id is not None
        await self._first_run(scope, send, body=body, key_id=reserved.key_id)

    async def _first_run(self, scope: Scope, send: Send, *, body: bytes, key_id: int) -> None:
        response = _CapturedResponse()
        delivered = False

        async def replay_body() -> Message:
            nonlocal delivered
            if delivered:
                return {"type": "http.disconnect"}
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}

        try:
            await self.app(scope, replay_body, response.send)
        finally:
            await self._settle(key_id=key_id, response=response)
        for message in response.messages:
            await send(message)

    async def _settle(self, *, key_id: int, response: _CapturedResponse) -> None:
        async with self.context.unit_of_work() as db:
            if response.status is not None and 200 <= response.status < 300:
                await store.complete(
                    db=db,
                    key_id=key_id,
                    status=response.status,
                    content_type=response.content_type,
                    body=response.body,
                )
            else:
                await store.release(db=db, key_id=key_id)
            await db.commit()


def _full_path(scope: Scope) -> str:
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    return path if not root or path.startswith(root) else root + path


async def _read_body(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


class _CapturedResponse:
    """A response held back until its key is settled."""

    def __init__(self) -> None:
        self.messages: list[Message] = []
        self.status: int | None = None
        self.content_type: str | None = None
        self._body: list[bytes] = []

    async def send(self, message: Message) -> None:
        self.messages.append(message)
        if message["type"] == "http.response.start":
            self.status = int(message["status"])
            for name, value in message.get("headers", []):
                if name.lower() == b"content-type":
                    self.content_type = value.decode("latin-1")[:100]
        elif message["type"] == "http.response.body":
            self._body.append(message.get("body", b""))

    @property
    def body(self) -> bytes:
        return b"".join(self._body)


async def _replay(send: Send, reserved: store.Reserved) -> None:
    headers = [(REPLAYED_HEADER, b"true")]
    if reserved.content_type is not None:
        headers.append((b"content-type", reserved.content_type.encode("latin-1")))
    body = reserved.body or b""
    headers.append((b"content-length", str(len(body)).encode()))
    await send({"type": "http.response.start", "status": reserved.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _problem(send: Send, *, status: int, kind: str, detail: str) -> None:
    title = {400: "Invalid Idempotency-Key", 409: "Idempotency-Key conflict"}[status]
    body = orjson.dumps(problem_document(status=status, title=title, detail=detail, kind=kind))
    headers: list[tuple[bytes, bytes]] = [
        (b"content-type", PROBLEM.encode()),
        (b"content-length", str(len(body)).encode()),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def prune_idempotency_keys(
    *, db: AsyncSession, payload: dict[str, Any], now: datetime
) -> None:
    """The scheduled job dropping keys past their 24 hours."""
    pruned = await store.prune_expired(db=db, now=now)
    if pruned:
        log.info("idempotency_keys.pruned", pruned=pruned)
