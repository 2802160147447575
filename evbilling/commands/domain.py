"""Operator commands to stations (OCPP 1.6 CALLs), each with the payload it sends (pure)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from evbilling.charging.domain import normalize_id_tag
from evbilling.infra.station_link import AvailabilityType, ResetType, TriggerableMessage

DEFAULT_TIMEOUT_S = 30.0


@dataclass(frozen=True, slots=True)
class RemoteStart:
    id_tag: str
    connector_id: int | None = None
    action = "RemoteStartTransaction"

    def payload(self) -> dict[str, Any]:
        result: dict[str, Any] = {"idTag": normalize_id_tag(self.id_tag)}
        if self.connector_id is not None:
            result["connectorId"] = self.connector_id
        return result


@dataclass(frozen=True, slots=True)
class RemoteStop:
    transaction_id: int
    action = "RemoteStopTransaction"

    def payload(self) -> dict[str, Any]:
        return {"transactionId": self.transaction_id}


@dataclass(frozen=True, slots=True)
class Reset:
    type: ResetType
    action = "Reset"

    def payload(self) -> dict[str, Any]:
        return {"type": self.type.value}


@dataclass(frozen=True, slots=True)
class UnlockConnector:
    connector_id: int
    action = "UnlockConnector"

    def payload(self) -> dict[str, Any]:
        return {"connectorId": self.connector_id}


@dataclass(frozen=True, slots=True)
class ChangeAvailability:
    connector_id: int
    type: AvailabilityType
    action = "ChangeAvailability"

    def payload(self) -> dict[str, Any]:
        return {"connectorId": self.connector_id, "type": self.type.value}


@dataclass(frozen=True, slots=True)
class GetConfiguration:
    keys: tuple[str, ...] = ()
    action = "GetConfiguration"

    def payload(self) -> dict[str, Any]:
        return {"key": list(self.keys)} if self.keys else {}


@dataclass(frozen=True, slots=True)
class ChangeConfiguration:
    key: str
    value: str
    action = "ChangeConfiguration"

    def payload(self) -> dict[str, Any]:
        return {"key": self.key, "value": self.value}


@dataclass(frozen=True, slots=True)
class TriggerMessage:
    requested_message: TriggerableMessage
    connector_id: int | None = None
    action = "TriggerMessage"

    def payload(self) -> dict[str, Any]:
        result: dict[str, Any] = {"requestedMessage": self.requested_message.value}
        if self.connector_id is not None:
            result["connectorId"] = self.connector_id
        return result


@dataclass(frozen=True, slots=True)
class ClearCache:
    action = "ClearCache"

    def payload(self) -> dict[str, Any]:
        return {}


StationCommand = (
    RemoteStart
    | RemoteStop
    | Reset
    | UnlockConnector
    | ChangeAvailability
    | GetConfiguration
    | ChangeConfiguration
    | TriggerMessage
    | ClearCache
)
