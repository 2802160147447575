"""Charging sessions (read) and operator commands to stations."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import Enum
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field, PlainSerializer

from evbilling.api.deps import Context, CurrentCaller, Db
from evbilling.db.sessions import SessionFilter
from evbilling.services import sessions as session_service
from evbilling.services import station_commands as commands
from evbilling.services.commands import (
    AvailabilityType,
    CommandResult,
    ResetType,
    TriggerableMessage,
)
from evbilling.services.common import PageRequest

router = APIRouter()

# Money leaves the API as strings so no client parses it into a float by accident.
Amount = Annotated[Decimal, PlainSerializer(lambda value: str(value), return_type=str)]


class SessionRead(BaseModel):
    id: int
    transaction_id: int
    station_id: int
    station_identity: str
    connector_id: int
    evse_id: int | None
    driver_id: int | None
    token_id: int | None
    id_tag: str
    status: str
    authorization_status: str
    billable: bool
    started_at: datetime
    stopped_at: datetime | None
    duration_s: int | None
    meter_start_wh: int
    meter_stop_wh: int | None
    energy_wh: int | None
    stop_reason: str | None
    currency: str | None
    cost_excl_vat: Amount | None
    cost_vat: Amount | None
    cost_incl_vat: Amount | None


class MeterSampleRead(BaseModel):
    timestamp: datetime
    measurand: str
    phase: str | None
    location: str | None
    context: str | None
    unit: str | None
    format: str | None
    value: str


class AnomalyRead(BaseModel):
    kind: str
    detail: str
    sample_timestamp: datetime | None
    value: str | None
    detected_at: datetime


class SessionDetailRead(SessionRead):
    tariff: dict[str, Any] | None
    cost_breakdown: dict[str, Any] | None
    meter_samples: list[MeterSampleRead]
    anomalies: list[AnomalyRead]


class SessionPage(BaseModel):
    items: list[SessionRead]
    total: int
    limit: int
    offset: int


class CommandResponse(BaseModel):
    station_identity: str
    action: str
    response: dict[str, Any] = Field(description="The station's answer, as it sent it.")


def _command_response(result: CommandResult) -> CommandResponse:
    return CommandResponse(
        station_identity=result.station_identity, action=result.action, response=result.response
    )


@router.get(
    "/sessions",
    response_model=SessionPage,
    tags=["sessions"],
    summary="List charging sessions, newest first",
)
async def list_sessions(
    caller: CurrentCaller,
    db: Db,
    station_id: int | None = None,
    driver_id: int | None = None,
    status: Literal["active", "completed", "rejected"] | None = None,
    started_from: Annotated[datetime | None, Query(description="inclusive, RFC 3339")] = None,
    started_before: Annotated[datetime | None, Query(description="exclusive, RFC 3339")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> SessionPage:
    page = await session_service.list_sessions(
        db=db,
        where=SessionFilter(
            operator_id=caller.operator_id,
            station_id=station_id,
            driver_id=driver_id,
            status=status,
            started_from=started_from,
            started_before=started_before,
        ),
        page=PageRequest(limit=limit, offset=offset),
    )
    return SessionPage(
        items=[SessionRead.model_validate(item, from_attributes=True) for item in page.items],
        total=page.total,
        limit=page.limit,
        offset=page.offset,
    )


@router.get(
    "/sessions/{session_id}",
    response_model=SessionDetailRead,
    tags=["sessions"],
    summary="A session with its price breakdown, meter samples and anomalies",
)
async def get_session(session_id: int, caller: CurrentCaller, db: Db) -> SessionDetailRead:
    detail = await session_service.get_session(
        db=db, operator_id=caller.operator_id, session_id=session_id
    )
    summary = SessionRead.model_validate(detail.summary, from_attributes=True)
    return SessionDetailRead(
        **summary.model_dump(),
        tariff=detail.tariff,
        cost_breakdown=detail.cost_breakdown,
        meter_samples=[
            MeterSampleRead.model_validate(s, from_attributes=True) for s in detail.meter_samples
        ],
        anomalies=[AnomalyRead.model_validate(a, from_attributes=True) for a in detail.anomalies],
    )


# -- commands ------------------------------------------------------------------------------

Timeout = Annotated[
    float, Query(alias="timeout", gt=0, le=120, description="seconds to wait for the station")
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RemoteStartCreate(_Strict):
    id_tag: str = Field(min_length=1, max_length=20)
    connector_id: int | None = Field(default=None, ge=1)


class RemoteStopCreate(_Strict):
    transaction_id: int = Field(ge=1)


class ResetCreate(_Strict):
    type: ResetType = ResetType.SOFT


class UnlockConnectorCreate(_Strict):
    connector_id: int = Field(ge=1)


class ChangeAvailabilityCreate(_Strict):
    connector_id: int = Field(ge=0, description="0 = the whole station")
    type: AvailabilityType


class GetConfigurationCreate(_Strict):
    keys: list[Annotated[str, Field(min_length=1, max_length=50)]] = []


class ChangeConfigurationCreate(_Strict):
    key: str = Field(min_length=1, max_length=50)
    value: str = Field(max_length=500)


class TriggerMessageCreate(_Strict):
    requested_message: TriggerableMessage
    connector_id: int | None = Field(default=None, ge=1)


async def _send(
    context: Any, caller: Any, station_id: int, command: commands.StationCommand, timeout_s: float
) -> CommandResponse:
    result = await commands.send_command(
        context=context,
        operator_id=caller.operator_id,
        station_id=station_id,
        command=command,
        timeout_s=timeout_s,
    )
    return _command_response(result)


_TAG: list[str | Enum] = ["station commands"]


@router.post(
    "/stations/{station_id}/commands/remote-start",
    response_model=CommandResponse,
    tags=_TAG,
    summary="RemoteStartTransaction",
)
async def remote_start(
    station_id: int,
    body: RemoteStartCreate,
    caller: CurrentCaller,
    context: Context,
    timeout_s: Timeout = 30,
) -> CommandResponse:
    command = commands.RemoteStart(id_tag=body.id_tag, connector_id=body.connector_id)
    return await _send(context, caller, station_id, command, timeout_s)


@router.post(
    "/stations/{station_id}/commands/remote-stop",
    response_model=CommandResponse,
    tags=_TAG,
    summary="RemoteStopTransaction",
)
async def remote_stop(
    station_id: int,
    body: RemoteStopCreate,
    caller: CurrentCaller,
    context: Context,
    timeout_s: Timeout = 30,
) -> CommandResponse:
    command = commands.RemoteStop(transaction_id=body.transaction_id)
    return await _send(context, caller, station_id, command, timeout_s)


@router.post(
    "/sessions/{session_id}/stop",
    response_model=CommandResponse,
    tags=["sessions"],
    summary="Ask the station to stop a running session",
)
async def stop_session(
    session_id: int, caller: CurrentCaller, context: Context, timeout_s: Timeout = 30
) -> CommandResponse:
    result = await commands.stop_session(
        context=context, operator_id=caller.operator_id, session_id=session_id, timeout_s=timeout_s
    )
    return _command_response(result)


@router.post(
    "/stations/{station_id}/commands/reset",
    response_model=CommandResponse,
    tags=_TAG,
    summary="Reset",
)
async def reset(
    station_id: int,
    body: ResetCreate,
    caller: CurrentCaller,
    context: Context,
    timeout_s: Timeout = 30,
) -> CommandResponse:
    return await _send(context, caller, station_id, commands.Reset(type=body.type), timeout_s)


@router.post(
    "/stations/{station_id}/commands/unlock-connector",
    response_model=CommandResponse,
    tags=_TAG,
    summary="UnlockConnector",
)
async def unlock_connector(
    station_id: int,
    body: UnlockConnectorCreate,
    caller: CurrentCaller,
    context: Context,
    timeout_s: Timeout = 30,
) -> CommandResponse:
    command = commands.UnlockConnector(connector_id=body.connector_id)
    return await _send(context, caller, station_id, command, timeout_s)


@router.post(
    "/stations/{station_id}/commands/change-availability",
    response_model=CommandResponse,
    tags=_TAG,
    summary="ChangeAvailability",
)
async def change_availability(
    station_id: int,
    body: ChangeAvailabilityCreate,
    caller: CurrentCaller,
    context: Context,
    timeout_s: Timeout = 30,
) -> CommandResponse:
    command = commands.ChangeAvailability(connector_id=body.connector_id, type=body.type)
    return await _send(context, caller, station_id, command, timeout_s)


@router.post(
    "/stations/{station_id}/commands/get-configuration",
    response_model=CommandResponse,
    tags=_TAG,
    summary="GetConfiguration",
)
async def get_configuration(
    station_id: int,
    body: GetConfigurationCreate,
    caller: CurrentCaller,
    context: Context,
    timeout_s: Timeout = 30,
) -> CommandResponse:
    command = commands.GetConfiguration(keys=tuple(body.keys))
    return await _send(context, caller, station_id, command, timeout_s)


@router.post(
    "/stations/{station_id}/commands/change-configuration",
    response_model=CommandResponse,
    tags=_TAG,
    summary="ChangeConfiguration",
)
async def change_configuration(
    station_id: int,
    body: ChangeConfigurationCreate,
    caller: CurrentCaller,
    context: Context,
    timeout_s: Timeout = 30,
) -> CommandResponse:
    command = commands.ChangeConfiguration(key=body.key, value=body.value)
    return await _send(context, caller, station_id, command, timeout_s)


@router.post(
    "/stations/{station_id}/commands/trigger-message",
    response_model=CommandResponse,
    tags=_TAG,
    summary="TriggerMessage",
)
async def trigger_message(
    station_id: int,
    body: TriggerMessageCreate,
    caller: CurrentCaller,
    context: Context,
    timeout_s: Timeout = 30,
) -> CommandResponse:
    command = commands.TriggerMessage(
        requested_message=body.requested_message, connector_id=body.connector_id
    )
    return await _send(context, caller, station_id, command, timeout_s)


@router.post(
    "/stations/{station_id}/commands/clear-cache",
    response_model=CommandResponse,
    tags=_TAG,
    summary="ClearCache",
)
async def clear_cache(
    station_id: int, caller: CurrentCaller, context: Context, timeout_s: Timeout = 30
) -> CommandResponse:
    return await _send(context, caller, station_id, commands.ClearCache(), timeout_s)
