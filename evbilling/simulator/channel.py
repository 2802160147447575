"""One station's messages to the CSMS: each CALL is counted, a CALLERROR or a timeout is
recorded for the report, and progress events go to the live display."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

from ocpp.exceptions import OCPPError, UnknownCallErrorCodeError, ValidationError
from ocpp.v16 import ChargePoint
from structlog.stdlib import BoundLogger

from evbilling.simulator.clock import ScaledClock
from evbilling.simulator.errors import ErrorKind, MessageFailed
from evbilling.simulator.report import EventKind, MessageError, SimulationEvent
from evbilling.simulator.wire_log import redact_id_tags


class StationChannel:
    """Sends through the station's ChargePoint once connected; logs through its bound logger."""

    def __init__(
        self,
        *,
        station_id: str,
        response_timeout_wall_s: float,
        clock: ScaledClock,
        on_event: Callable[[SimulationEvent], None] | None,
        log: BoundLogger,
    ) -> None:
        self.station_id = station_id
        self.log = log
        self.charge_point: ChargePoint | None = None  # set once connected
        self.messages_sent: Counter[str] = Counter()  # by action
        self.errors: list[MessageError] = []
        self._response_timeout_wall_s = response_timeout_wall_s
        self._clock = clock
        self._on_event = on_event

    async def call(self, payload: Any) -> Any:
        """Send one CALL; a CALLERROR or a timeout is recorded and raised as MessageFailed."""
        action = type(payload).__name__
        cp = self.charge_point
        if cp is None:
            raise RuntimeError("not connected")
        self.messages_sent[action] += 1
        try:
            return await cp.call(payload, suppress=False)
        except (OCPPError, UnknownCallErrorCodeError, ValidationError) as exc:
            kind, detail = ErrorKind.CALL_ERROR, _describe_ocpp_error(exc)
        except TimeoutError:
            kind = ErrorKind.TIMEOUT
            detail = f"no answer within {self._response_timeout_wall_s}s"
        at = self._clock.now()
        self.errors.append(MessageError(action=action, kind=kind, detail=detail, at=at))
        self.emit(EventKind.MESSAGE_FAILED, detail=f"{action}: {detail}")
        self.log.warning(
            "simulator.message_failed",
            action=action,
            kind=kind.value,
            detail=redact_id_tags(detail),
        )
        raise MessageFailed(action=action, kind=kind, detail=detail)

    async def notify(self, payload: Any) -> bool:
        """A message whose failure does not end anything (status, meter values, heartbeat)."""
        try:
            await self.call(payload)
        except MessageFailed:
            return False
        return True

    def emit(
        self,
        kind: EventKind,
        *,
        connector_id: int | None = None,
        transaction_id: int | None = None,
        energy_wh: int | None = None,
        detail: str = "",
    ) -> None:
        if self._on_event is None:
            return
        event = SimulationEvent(
            kind=kind,
            station_id=self.station_id,
            at=self._clock.now(),
            connector_id=connector_id,
            transaction_id=transaction_id,
            energy_wh=energy_wh,
            detail=detail,
        )
        try:
            self._on_event(event)
        except Exception:  # a broken progress display must not stop the stations
            self.log.exception("simulator.on_event_failed")


def _describe_ocpp_error(exc: Exception) -> str:
    code = getattr(exc, "code", type(exc).__name__)
    description = getattr(exc, "description", str(exc))
    return f"{code}: {description}"
