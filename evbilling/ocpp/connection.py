"""One connected station, transport only: decodes each frame strictly, hands a CALL to its
OCPP 1.6 handler (whose use case is committed, group commit, before the answer), answers, and
matches the station's answers to our own CALLs.

Built on the `ocpp` library's ChargePoint for outbound calls (unique ids, response matching,
timeouts) and its error types; inbound frames go through evbilling's compiled validators
instead of the library's per-message jsonschema path. Every log line goes through the
connection's logger, bound once to the station and its client address; frames are never
logged (they carry idTags).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from datetime import datetime
from typing import Any, Protocol, TypeVar

import orjson
from ocpp.messages import Call, CallError, CallResult
from ocpp.v16 import ChargePoint
from sqlalchemy.ext.asyncio import AsyncSession
from structlog.stdlib import BoundLogger

from evbilling.charging.station_events import StationRef
from evbilling.infra.db.group_commit import GroupCommit
from evbilling.infra.logging import get_logger
from evbilling.infra.station_link import CommandRejected, StationTimeout
from evbilling.kit import EVBillingError
from evbilling.ocpp.inbox import Inbox
from evbilling.ocpp.v16.decoder import FrameDecoder
from evbilling.ocpp.v16.frames import (
    CallErrorFrame,
    CallFrame,
    CallResultFrame,
    ErrorCode,
    FrameRejected,
    call_error_json,
)
from evbilling.ocpp.v16.handlers import HANDLED_ACTIONS, StationHandlers
from evbilling.ocpp.v16.link import Payload
from evbilling.ocpp.v16.schemas import validate_request, validate_response

log = get_logger(__name__)

T = TypeVar("T")

DECODER = FrameDecoder(handled_actions=HANDLED_ACTIONS)
# The ocpp library logs every raw frame (idTags included) at INFO; keep that to errors.
_RAW_FRAMES = logging.getLogger("evbilling.ocpp.frames")
_RAW_FRAMES.setLevel(logging.WARNING)


class Connection(Protocol):
    async def recv(self) -> str: ...

    async def send(self, message: str) -> None: ...


class StationConnection(ChargePoint):  # type: ignore[misc]
    """A station's socket; the `StationLink` its OCPP 1.6 handlers run on."""

    def __init__(
        self,
        *,
        station: StationRef,
        address: str,
        connection: Connection,
        writer: GroupCommit,
        heartbeat_interval_s: int,
        response_timeout_s: float,
    ) -> None:
        super().__init__(
            station.identity, connection, response_timeout=response_timeout_s, logger=_RAW_FRAMES
        )
        # The library's asyncio.Queue holds ~3 KiB for the connection's whole life; the Inbox
        # (same calls) allocates only while a response is waited for.
        self._response_queue: Inbox[CallResult | CallError] = Inbox()
        self.station = station
        # `address` is a personal field: the logging processor pseudonymizes it on every line.
        self.log: BoundLogger = log.bind(station=station.identity, address=address)
        self._writer = writer
        self._background: set[asyncio.Task[None]] = set()
        self._handlers = StationHandlers(link=self, heartbeat_interval_s=heartbeat_interval_s)

    # -- inbound ---------------------------------------------------------------------------

    async def route_message(self, raw_msg: str) -> None:
        try:
            frame = DECODER.decode(raw_msg)
        except FrameRejected as rejected:
            self.log.warning(
                "ocpp.rejected",
                code=rejected.code.value,
                # The field, not the description: it may quote the value (an idTag, say).
                field=rejected.details.get("field"),
            )
            if rejected.answer:
                await self._send(call_error_json(rejected))
            return
        if isinstance(frame, CallFrame):
            await self._answer(frame)
        elif isinstance(frame, CallResultFrame):
            self._response_queue.put_nowait(CallResult(frame.message_id, frame.payload))
        elif isinstance(frame, CallErrorFrame):
            self._response_queue.put_nowait(
                CallError(frame.message_id, frame.code, frame.description, frame.details)
            )

    async def _answer(self, frame: CallFrame) -> None:
        try:
            response = await self._handlers.handle(action=frame.action, payload=frame.payload)
        except FrameRejected as rejected:
            await self._send(self._error(frame, rejected.code, rejected.description))
            return
        except EVBillingError as exc:
            # A named failure of the use case (e.g. impossible connector id): nothing was
            # committed, and the station learns which value was wrong.
            await self._send(self._error(frame, ErrorCode.PROPERTY_CONSTRAINT_VIOLATION, str(exc)))
            return
        except Exception:
            self.log.exception("ocpp.internal_error", action=frame.action)
            await self._send(
                orjson.dumps([4, frame.message_id, "InternalError", "internal error", {}]).decode()
            )
            return
        await self._send(orjson.dumps([3, frame.message_id, response]).decode())

    @staticmethod
    def _error(frame: CallFrame, code: ErrorCode, description: str) -> str:
        return orjson.dumps([4, frame.message_id, code.value, description[:255], {}]).decode()

    # -- StationLink: what the handlers use ------------------------------------------------

    async def run(self, work: Callable[[AsyncSession, datetime], Awaitable[T]]) -> T:
        """Run one message's use case; it is committed before this returns."""
        return await self._writer.run(work)

    async def send_call(self, *, action: str, payload: Payload, timeout_s: float) -> Payload:
        """Send a CALL to the station and return its CALLRESULT payload (validated)."""
        validate_request(action=action, payload=payload)
        call = Call(unique_id=str(self._unique_id_generator()), action=action, payload=payload)
        async with self._call_lock:
            await self._send(orjson.dumps([2, call.unique_id, action, payload]).decode())
            try:
                response = await self._get_specific_response(call.unique_id, timeout_s)
            except TimeoutError as exc:
                raise StationTimeout(
                    f"station {self.id} did not answer {action} within {timeout_s:g} s"
                ) from exc
        if isinstance(response, CallError):
            raise CommandRejected(
                code=str(response.error_code), description=str(response.error_description)
            )
        try:
            return validate_response(action=action, payload=response.payload)
        except FrameRejected as rejected:
            raise CommandRejected(
                code=rejected.code.value, description=rejected.description
            ) from rejected

    def in_background(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(work)
        self._background.add(task)
        task.add_done_callback(self._background.discard)


async def serve_station(station: StationConnection) -> None:
    """Read frames until the socket closes; one message at a time, as OCPP-J requires."""
    await station.start()


__all__ = ["Connection", "StationConnection", "serve_station"]
