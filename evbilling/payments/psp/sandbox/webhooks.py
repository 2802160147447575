"""Webhook delivery from the sandbox: after each commit, the events it recorded are POSTed to
the configured URL, signed like Stripe (`Sandbox-Signature: t=...,v1=...`), one after
another in the order they were recorded, each retried a few times on failure."""

from __future__ import annotations

import asyncio
import contextlib

import httpx
import structlog

from evbilling.kit import Clock
from evbilling.payments.psp.signatures import signature_header

SIGNATURE_HEADER = "Sandbox-Signature"
DEFAULT_RETRY_DELAYS: tuple[float, ...] = (0.5, 2.0, 5.0)

log = structlog.get_logger("evbilling.payments.psp.sandbox")


class WebhookSender:
    def __init__(
        self,
        *,
        url: str | None,
        secret: str,
        clock: Clock,
        transport: httpx.AsyncBaseTransport | None = None,
        retry_delays: tuple[float, ...] = DEFAULT_RETRY_DELAYS,
        timeout: float = 10.0,
    ) -> None:
        self._url = url
        self._secret = secret
        self._clock = clock
        self._transport = transport
        self._retry_delays = retry_delays
        self._timeout = timeout
        self._queue: asyncio.Queue[bytes] = asyncio.Queue()
        self._worker: asyncio.Task[None] | None = None
        self._client: httpx.AsyncClient | None = None

    def send(self, batches: list[list[bytes]]) -> None:
        if self._url is None:
            return
        for batch in batches:
            for payload in batch:
                self._queue.put_nowait(payload)
        if self._worker is None or self._worker.done():
            self._worker = asyncio.get_running_loop().create_task(self._run())

    async def drain(self) -> None:
        """Wait until every queued delivery was made (or gave up): for tests."""
        await self._queue.join()

    async def close(self) -> None:
        if self._worker is not None:
            self._worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._worker
            self._worker = None
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def _run(self) -> None:
        while True:
            payload = await self._queue.get()
            try:
                await self._deliver(payload)
            finally:
                self._queue.task_done()

    async def _deliver(self, payload: bytes) -> None:
        assert self._url is not None
        if self._client is None:
            self._client = httpx.AsyncClient(transport=self._transport, timeout=self._timeout)
        for attempt, delay in enumerate((0.0, *self._retry_delays), start=1):
            if delay:
                await asyncio.sleep(delay)
            timestamp = int(self._clock.now().timestamp())
            headers = {
                "Content-Type": "application/json",
                SIGNATURE_HEADER: signature_header(
                    secret=self._secret, timestamp=timestamp, payload=payload
                ),
            }
            try:
                response = await self._client.post(self._url, content=payload, headers=headers)
            except httpx.HTTPError as exc:
                log.warning("sandbox_webhook_failed", attempt=attempt, error=type(exc).__name__)
                continue
            if response.is_success:
                return
            log.warning("sandbox_webhook_refused", attempt=attempt, status=response.status_code)
        log.error("sandbox_webhook_abandoned", attempts=len(self._retry_delays) + 1)
