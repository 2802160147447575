"""Operator commands to stations (OCPP 1.6 CALLs), each with the payload it sends (pure)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
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


AUTHORIZATION_KEY = "AuthorizationKey"


class ConfigurationStatus(StrEnum):
    ACCEPTED = "Accepted"
    REJECTED = "Rejected"
    REBOOT_REQUIRED = "RebootRequired"
    NOT_SUPPORTED = "NotSupported"


# The station stored the new value: at once, or to use after its next reboot.
CONFIGURATION_TAKEN = frozenset({ConfigurationStatus.ACCEPTED, ConfigurationStatus.REBOOT_REQUIRED})


def change_authorization_key(password: str) -> ChangeConfiguration:
    """The security profile 1 password a station logs in with from its next connection on.
    OCPP 1.6's security whitepaper sends it hexadecimal (at most 40 digits); the station
    decodes it and presents the decoded text as its Basic-auth password."""
    return ChangeConfiguration(key=AUTHORIZATION_KEY, value=password.encode("ascii").hex().upper())


def configuration_status(answer: dict[str, Any]) -> ConfigurationStatus | None:
    """A ChangeConfiguration answer's status; None for anything else."""
    try:
        return ConfigurationStatus(str(answer.get("status")))
    except ValueError:
        return None


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
