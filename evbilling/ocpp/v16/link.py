"""What the OCPP 1.6 handlers need from the connection they run on: the station, its bound
logger, one committed unit of work per message, outbound calls and background work."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine
from datetime import datetime
from typing import Any, Protocol, TypeAlias, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession
from structlog.stdlib import BoundLogger

from evbilling.charging.station_events import StationRef

Payload: TypeAlias = dict[str, Any]
T = TypeVar("T")


class StationLink(Protocol):
    """One connected station, as `evbilling.ocpp.connection.StationConnection` provides it."""

    @property
    def station(self) -> StationRef: ...

    @property
    def log(self) -> BoundLogger:
        """Bound to the station and its client address: every line of the connection."""
        ...

    async def run(self, work: Callable[[AsyncSession, datetime], Awaitable[T]]) -> T:
        """Run one message's use case; it is committed (group commit) before this returns."""
        ...

    async def send_call(self, *, action: str, payload: Payload, timeout_s: float) -> Payload:
        """A CALL to the station; returns its validated CALLRESULT payload."""
        ...

    def in_background(self, work: Coroutine[Any, Any, None]) -> None:
        """Run work after the current message is answered, without holding the reader."""
        ...
