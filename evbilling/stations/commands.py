"""Operator commands to stations: check the station is the caller's, then send outside any
transaction (a station may take seconds to answer) and return its answer."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from evbilling.charging.domain import normalize_id_tag
from evbilling.charging.queries import SessionRepository
from evbilling.charging.sessions import station_identity
from evbilling.infra.context import ServiceContext
from evbilling.infra.station_link import (
    AvailabilityType,
    CommandResult,
    ResetType,
    TriggerableMessage,
)
from evbilling.kit.errors import Conflict, NotFound

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


async def send_command(
    *,
    context: ServiceContext,
    operator_id: int,
    station_id: int,
    command: StationCommand,
    timeout_s: float = DEFAULT_TIMEOUT_S,
) -> CommandResult:
    async with context.unit_of_work() as db:
        identity = await station_identity(db=db, operator_id=operator_id, station_id=station_id)
    response = await context.commands.send(
        station_identity=identity,
        action=command.action,
        payload=command.payload(),
        timeout_s=timeout_s,
    )
    return CommandResult(station_identity=identity, action=command.action, response=response)


async def stop_session(
    *,
    context: ServiceContext,
    operator_id: int,
    session_id: int,
    timeout_s: float = DEFAULT_TIMEOUT_S,
) -> CommandResult:
    """Ask the station to stop a running session (payments use this path too)."""
    async with context.unit_of_work() as db:
        found = await SessionRepository(db).get(operator_id=operator_id, session_id=session_id)
    if found is None:
        raise NotFound(kind="session", key=session_id)
    row, _ = found
    if row.status != "active":
        raise Conflict(f"session {session_id} is {row.status}, not active")
    return await send_command(
        context=context,
        operator_id=operator_id,
        station_id=row.station_id,
        command=RemoteStop(transaction_id=row.id),
        timeout_s=timeout_s,
    )
