"""One connected station, transport only: decodes each frame strictly, hands a CALL to its
OCPP 1.6 handler (whose use case is committed, group commit, before the answer), answers, and
matches the station's answers to our own CALLs.

Built on the `ocpp` library's ChargePoint for its unique ids, call lock and error types;
inbound frames go through evbilling's compiled validators instead of the library's
per-message jsonschema path, and answers to our CALLs are matched here, not in the library's
unbounded response queue. Every log line goes through the connection's logger, bound once to
the station and its client address; frames are never logged (they carry idTags).

Bounds (docs/ocpp-edge.md): at most one CALL of ours is outstanding per station (OCPP-J),
and only a CALLRESULT / CALLERROR with its unique id is kept; any other answer is dropped
and logged by message id and size. When the station disconnects, the outstanding CALL and
every command queued behind it fail at once with StationNotConnected.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, TypeVar

import orjson
from ocpp.v16 import ChargePoint
from sqlalchemy.ext.asyncio import AsyncSession
from structlog.stdlib import BoundLogger

from evbilling.charging.station_events import StationRef
from evbilling.infra.db.group_commit import GroupCommit
from evbilling.infra.logging import get_logger
from evbilling.infra.station_link import CommandRejected, StationNotConnected, StationTimeout
from evbilling.kit import EVBillingError
from evbilling.ocpp.dead_letters import answer_after_failure, keep_dead_letter
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
from evbilling.payments.domain import HoldPolicy
from evbilling.payments.psp import PaymentProvider

log = get_logger(__name__)

T = TypeVar("T")

DECODER = FrameDecoder(handled_actions=HANDLED_ACTIONS)
# The ocpp library logs every raw frame (idTags included) at INFO; keep that to errors.
_RAW_FRAMES = logging.getLogger("evbilling.ocpp.frames")
_RAW_FRAMES.setLevel(logging.WARNING)


# Dropped answers logged one by one per connection; past that, one line every DROP_LOG_EVERY.
DROP_LOG_FIRST = 10
DROP_LOG_EVERY = 1000


class ConnectionLost(Exception):
    """The transport is closed: nothing more can be sent on it."""


class Connection(Protocol):
    async def recv(self) -> str | bytes:
        """The next message (bytes for a binary frame); raises when the socket closes."""
        ...

    async def send(self, message: str) -> None:
        """Send a text frame; raises ConnectionLost when the socket is closed."""
        ...


@dataclass(slots=True)
class _AwaitedAnswer:
    """Our one outstanding CALL: its unique id, its action and who waits for the answer."""

    message_id: str
    action: str
    answer: asyncio.Future[CallResultFrame | CallErrorFrame]


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
        payment_provider: PaymentProvider | None = None,
        hold_policy: HoldPolicy | None = None,
    ) -> None:
        super().__init__(
            station.identity, connection, response_timeout=response_timeout_s, logger=_RAW_FRAMES
        )
        # Answers go to `_awaited`; the library's asyncio.Queue for them would hold ~3 KiB for
        # the connection's whole life. An Inbox (same calls) holds nothing until used.
        self._response_queue: Inbox[object] = Inbox()
        self.station = station
        # `address` is a personal field: the logging processor pseudonymizes it on every line.
        self.log: BoundLogger = log.bind(station=station.identity, address=address)
        self._writer = writer
        self._background: set[asyncio.Task[None]] = set()
        self._handlers = StationHandlers(
            link=self,
            heartbeat_interval_s=heartbeat_interval_s,
            payment_provider=payment_provider,
            hold_policy=hold_policy,
        )
        self._awaited: _AwaitedAnswer | None = None
        self._closed = False
        self.dropped_answers = 0

    @property
    def held_answers(self) -> int:
        """Answers from the station kept for a CALL of ours: never more than one."""
        awaited = self._awaited
        return int(awaited is not None and awaited.answer.done())

    # -- inbound ---------------------------------------------------------------------------

    async def start(self) -> None:
        """Read frames until the socket closes; one message at a time, as OCPP-J requires."""
        try:
            while True:
                await self.route_message(await self._connection.recv())
        finally:
            self._closed = True
            awaited = self._awaited
            if awaited is not None and not awaited.answer.done():
                awaited.answer.set_exception(
                    StationNotConnected(
                        f"station {self.id} disconnected while waiting for {awaited.action}"
                    )
                )

    async def route_message(self, raw_msg: str | bytes) -> None:
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
            else:
                self._answer_rejected(rejected)
            return
        if isinstance(frame, CallFrame):
            await self._answer(frame)
        else:
            self._take_answer(frame, size=len(raw_msg))

    def _take_answer(self, frame: CallResultFrame | CallErrorFrame, *, size: int) -> None:
        """Keep the answer to our outstanding CALL; drop (and log) any other."""
        awaited = self._awaited
        if awaited is not None and awaited.message_id == frame.message_id:
            if not awaited.answer.done():
                awaited.answer.set_result(frame)
            return
        self.dropped_answers += 1
        dropped = self.dropped_answers
        if dropped <= DROP_LOG_FIRST or dropped % DROP_LOG_EVERY == 0:
            self.log.warning(
                "ocpp.unsolicited_answer_dropped",
                message_id=frame.message_id,
                size=size,
                dropped=dropped,
            )

    def _answer_rejected(self, rejected: FrameRejected) -> None:
        """A malformed answer to our outstanding CALL fails that call now."""
        awaited = self._awaited
        if awaited is not None and awaited.message_id == rejected.message_id:
            if not awaited.answer.done():
                awaited.answer.set_exception(
                    CommandRejected(code=rejected.code.value, description=rejected.description)
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
        except Exception as error:
            # Failed on its own (group commit isolated it): kept with its frame, and answered.
            self.log.exception("ocpp.internal_error", action=frame.action)
            kept = await keep_dead_letter(
                self._writer, station=self.station, frame=frame, error=error
            )
            await self._send(answer_after_failure(frame, dead_letter_id=kept))
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
        message_id = str(self._unique_id_generator())
        async with self._call_lock:
            if self._closed:
                raise StationNotConnected(
                    f"station {self.id} disconnected before {action} could be sent"
                )
            awaited = _AwaitedAnswer(
                message_id=message_id,
                action=action,
                answer=asyncio.get_running_loop().create_future(),
            )
            self._awaited = awaited
            try:
                await self._send(orjson.dumps([2, message_id, action, payload]).decode())
                response = await asyncio.wait_for(awaited.answer, timeout_s)
            except ConnectionLost as exc:
                raise StationNotConnected(
                    f"station {self.id} disconnected while {action} was sent"
                ) from exc
            except TimeoutError as exc:
                raise StationTimeout(
                    f"station {self.id} did not answer {action} within {timeout_s:g} s"
                ) from exc
            finally:
                self._awaited = None
        if isinstance(response, CallErrorFrame):
            raise CommandRejected(code=response.code, description=response.description)
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


__all__ = ["Connection", "ConnectionLost", "StationConnection", "serve_station"]
