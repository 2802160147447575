"""Operator commands to stations: the use case checks ownership, the port carries the call.

The port is implemented by the OCPP edge (csms); services never import it. Payments will stop
sessions remotely through the same path.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol

from evbilling.kit import EVBillingError


class StationNotConnected(EVBillingError):
    """The station has no live OCPP connection to this server."""


class StationTimeout(EVBillingError):
    """The station did not answer within the command timeout."""


class CommandRejected(EVBillingError):
    """The station answered the command with a CALLERROR."""

    def __init__(self, *, code: str, description: str) -> None:
        super().__init__(f"station answered {code}: {description}")
        self.code = code
        self.description = description


class StationCommandPort(Protocol):
    def is_connected(self, station_identity: str) -> bool: ...

    async def send(
        self, *, station_identity: str, action: str, payload: dict[str, Any], timeout_s: float
    ) -> dict[str, Any]:
        """Send an OCPP CALL and return the CALLRESULT payload (camelCase, as sent)."""
        ...


class UnconnectedStations:
    """The port used when no OCPP server runs in this process (CLI against the database)."""

    def is_connected(self, station_identity: str) -> bool:
        return False

    async def send(
        self, *, station_identity: str, action: str, payload: dict[str, Any], timeout_s: float
    ) -> dict[str, Any]:
        raise StationNotConnected(f"station {station_identity} is not connected")


class ResetType(StrEnum):
    HARD = "Hard"
    SOFT = "Soft"


class AvailabilityType(StrEnum):
    INOPERATIVE = "Inoperative"
    OPERATIVE = "Operative"


class TriggerableMessage(StrEnum):
    BOOT_NOTIFICATION = "BootNotification"
    DIAGNOSTICS_STATUS_NOTIFICATION = "DiagnosticsStatusNotification"
    FIRMWARE_STATUS_NOTIFICATION = "FirmwareStatusNotification"
    HEARTBEAT = "Heartbeat"
    METER_VALUES = "MeterValues"
    STATUS_NOTIFICATION = "StatusNotification"


@dataclass(frozen=True, slots=True)
class CommandResult:
    station_identity: str
    action: str
    response: dict[str, Any]
