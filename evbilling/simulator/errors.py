"""What can go wrong in a simulation, and the kinds of message failure a report records."""

from __future__ import annotations

from enum import StrEnum

from evbilling.kit import EVBillingError


class ErrorKind(StrEnum):
    CALL_ERROR = "call_error"
    TIMEOUT = "timeout"


class InvalidSimulationConfig(EVBillingError):
    """A station config or simulation setting cannot be simulated (empty id, bad range...)."""


class MeterWouldRunBackwards(EVBillingError):
    """An energy register was asked to add negative energy; registers only ever grow."""


class MessageFailed(EVBillingError):
    """A CALL to the CSMS got a CALLERROR or no answer in time (already in the report)."""

    def __init__(self, *, action: str, kind: ErrorKind, detail: str) -> None:
        super().__init__(f"{action}: {kind}: {detail}")
        self.action = action
        self.kind = kind
        self.detail = detail
