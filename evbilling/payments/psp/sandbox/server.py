"""The sandbox server's state: its database, clock, webhook sender, and idempotency keys
honoured like Stripe's.

A POST with an `Idempotency-Key` stores the key (with a fingerprint of method, path and
body) before running; the operation's answer is stored in the operation's own transaction,
so effect and stored answer commit together. The same key again within 24 h gets the
stored answer (header `Idempotent-Replayed: true`), including a decline or a capture
failure; the same key with other parameters is refused (400 `idempotency_key_reused`); a key
whose request is still running is answered 409 `idempotency_key_in_use`. A request refused
with nothing done (400/404: bad amount, wrong state, unknown object) stores nothing, so its
key can be used again.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from evbilling.infra.db.engine import create_engine
from evbilling.kit import Clock
from evbilling.payments.psp.currencies import SANDBOX_CURRENCIES, ProviderCurrencies
from evbilling.payments.psp.sandbox import tables as t
from evbilling.payments.psp.sandbox.store import ApiFailure, Effects, Outcome
from evbilling.payments.psp.sandbox.webhooks import DEFAULT_RETRY_DELAYS, WebhookSender

IDEMPOTENCY_WINDOW = timedelta(hours=24)

Operation = Callable[[AsyncConnection, Effects], Awaitable[Outcome]]


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    body: dict[str, Any]
    replayed: bool = False


def fingerprint(*, method: str, path: str, params: dict[str, Any]) -> str:
    canonical = json.dumps(params, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(f"{method} {path} {canonical}".encode()).hexdigest()


class SandboxServer:
    def __init__(
        self,
        *,
        database_url: str,
        api_key: str,
        webhook_secret: str,
        webhook_url: str | None,
        clock: Clock,
        public_url: str | None = None,
        webhook_transport: httpx.AsyncBaseTransport | None = None,
        webhook_retry_delays: tuple[float, ...] = DEFAULT_RETRY_DELAYS,
        slow_capture_seconds: float = 30.0,
    ) -> None:
        self.database_url = database_url
        self.api_key = api_key
        self.clock = clock
        self.public_url = public_url.rstrip("/") if public_url else None
        self.currencies: ProviderCurrencies = SANDBOX_CURRENCIES
        self.slow_capture_seconds = slow_capture_seconds
        self.webhooks = WebhookSender(
            url=webhook_url, secret=webhook_secret, clock=clock,
            transport=webhook_transport, retry_delays=webhook_retry_delays,
        )  # fmt: skip
        self._engine: AsyncEngine | None = None
        self._ready = asyncio.Lock()

    @property
    def engine(self) -> AsyncEngine:
        assert self._engine is not None, "SandboxServer.start() has not run"
        return self._engine

    async def start(self) -> None:
        """Create the sandbox's tables (idempotent); runs before the first request."""
        async with self._ready:
            if self._engine is not None:
                return
            engine = create_engine(url=self.database_url)
            async with engine.begin() as conn:
                await conn.run_sync(t.metadata.create_all)
                existing = set((await conn.execute(select(t.counters.c.prefix))).scalars())
                for prefix in t.ID_PREFIXES:
                    if prefix not in existing:
                        await conn.execute(insert(t.counters).values(prefix=prefix, value=0))
            self._engine = engine

    async def close(self) -> None:
        await self.webhooks.close()
        if self._engine is not None:
            await self._engine.dispose()
            self._engine = None

    async def read(self, operation: Operation) -> Answer:
        """Run an operation without an idempotency key (reads; lazy expiry may write)."""
        effects = Effects()
        try:
            async with self.engine.begin() as conn:
                outcome = await operation(conn, effects)
        except ApiFailure as failure:
            return Answer(failure.status, failure.body)
        self.webhooks.send(effects.webhook_batches)
        return Answer(outcome.status, outcome.body)

    async def write(self, *, key: str | None, print_: str, operation: Operation) -> Answer:
        if key is None:
            answer, effects = await self._run(key=None, operation=operation)
        else:
            stored = await self._claim(key=key, print_=print_)
            if stored is not None:
                return stored
            try:
                answer, effects = await self._run(key=key, operation=operation)
            except BaseException:
                async with self.engine.begin() as conn:
                    await conn.execute(
                        delete(t.idempotency_keys).where(t.idempotency_keys.c.key == key)
                    )
                raise
        self.webhooks.send(effects.webhook_batches)
        if effects.answer_after_seconds:
            await asyncio.sleep(effects.answer_after_seconds)
        return answer

    async def _claim(self, *, key: str, print_: str) -> Answer | None:
        now_us = t.to_us(self.clock.now())
        window_us = int(IDEMPOTENCY_WINDOW.total_seconds()) * 1_000_000
        try:
            async with self.engine.begin() as conn:
                row = (
                    (
                        await conn.execute(
                            select(t.idempotency_keys).where(t.idempotency_keys.c.key == key)
                        )
                    )
                    .mappings()
                    .one_or_none()
                )
                if row is not None and row["created_us"] + window_us <= now_us:
                    await conn.execute(
                        delete(t.idempotency_keys).where(t.idempotency_keys.c.key == key)
                    )
                    row = None
                if row is not None:
                    return self._stored(row=row, print_=print_)
                await conn.execute(
                    insert(t.idempotency_keys).values(
                        key=key, fingerprint=print_, state="running", status_code=None,
                        response=None, created_us=now_us,
                    )
                )  # fmt: skip
        except IntegrityError:
            return _in_use()
        return None

    def _stored(self, *, row: Any, print_: str) -> Answer:
        if row["fingerprint"] != print_:
            return Answer(
                400,
                ApiFailure(
                    400, type_="idempotency_error", code="idempotency_key_reused",
                    message="this idempotency key was used with other parameters",
                ).body,
            )  # fmt: skip
        if row["state"] != "done":
            return _in_use()
        return Answer(row["status_code"], json.loads(row["response"]), replayed=True)

    async def _run(self, *, key: str | None, operation: Operation) -> tuple[Answer, Effects]:
        effects = Effects()
        try:
            async with self.engine.begin() as conn:
                outcome = await operation(conn, effects)
                await self._store(conn, key=key, status=outcome.status, body=outcome.body)
            return Answer(outcome.status, outcome.body), effects
        except ApiFailure as failure:
            async with self.engine.begin() as conn:
                if failure.status in (400, 404):
                    # refused before anything ran: the key is free again, as at Stripe
                    if key is not None:
                        await conn.execute(
                            delete(t.idempotency_keys).where(t.idempotency_keys.c.key == key)
                        )
                else:
                    await self._store(conn, key=key, status=failure.status, body=failure.body)
            return Answer(failure.status, failure.body), Effects()

    async def _store(
        self, conn: AsyncConnection, *, key: str | None, status: int, body: dict[str, Any]
    ) -> None:
        if key is None:
            return
        await conn.execute(
            update(t.idempotency_keys)
            .where(t.idempotency_keys.c.key == key)
            .values(state="done", status_code=status, response=json.dumps(body))
        )


def _in_use() -> Answer:
    return Answer(
        409,
        ApiFailure(
            409, type_="idempotency_error", code="idempotency_key_in_use",
            message="a request with this idempotency key is still running",
        ).body,
    )  # fmt: skip
