"""Operator commands to stations: address the command in a short transaction, then send it
through the station link once that transaction has ended, and return the station's answer."""

from __future__ import annotations

from enum import Enum
from typing import Annotated

from fastapi import APIRouter, Query, Response

from evbilling.access.caller import CurrentCaller
from evbilling.commands import domain as commands
from evbilling.commands import rotation, service
from evbilling.commands.schemas import (
    ChangeAvailabilityCreate,
    ChangeConfigurationCreate,
    CommandResponse,
    GetConfigurationCreate,
    PasswordRotationCreate,
    PasswordRotationRead,
    RemoteStartCreate,
    RemoteStopCreate,
    ResetCreate,
    TriggerMessageCreate,
    UnlockConnectorCreate,
)
from evbilling.infra.context import ServiceContext
from evbilling.infra.http.deps import Context
from evbilling.infra.http.schemas import no_store, problems
from evbilling.infra.station_link import CommandResult

router = APIRouter()

Timeout = Annotated[
    float, Query(alias="timeout", gt=0, le=120, description="seconds to wait for the station")
]
_TAG: list[str | Enum] = ["station commands"]


async def _deliver(
    context: ServiceContext, outgoing: service.OutgoingCommand, timeout_s: float
) -> CommandResponse:
    """Send outside any transaction: the unit of work that addressed the command has ended."""
    response = await context.commands.send(
        station_identity=outgoing.station_identity,
        action=outgoing.action,
        payload=outgoing.payload,
        timeout_s=timeout_s,
    )
    return CommandResponse.model_validate(
        CommandResult(
            station_identity=outgoing.station_identity, action=outgoing.action, response=response
        )
    )


async def _send(
    context: ServiceContext,
    *,
    operator_id: int,
    station_id: int,
    command: commands.StationCommand,
    timeout_s: float,
) -> CommandResponse:
    # Not the request's `Db`: that one would hold its connection until the station answers.
    async with context.unit_of_work() as db:
        outgoing = await service.prepare_command(
            db=db, operator_id=operator_id, station_id=station_id, command=command
        )
    return await _deliver(context, outgoing, timeout_s)


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
    return await _send(
        context,
        operator_id=caller.operator_id,
        station_id=station_id,
        command=command,
        timeout_s=timeout_s,
    )


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
    return await _send(
        context,
        operator_id=caller.operator_id,
        station_id=station_id,
        command=command,
        timeout_s=timeout_s,
    )


@router.post(
    "/sessions/{session_id}/stop",
    response_model=CommandResponse,
    tags=["sessions"],
    summary="Ask the station to stop a running session",
)
async def stop_session(
    session_id: int, caller: CurrentCaller, context: Context, timeout_s: Timeout = 30
) -> CommandResponse:
    async with context.unit_of_work() as db:
        outgoing = await service.prepare_session_stop(
            db=db, operator_id=caller.operator_id, session_id=session_id
        )
    return await _deliver(context, outgoing, timeout_s)


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
    return await _send(
        context,
        operator_id=caller.operator_id,
        station_id=station_id,
        command=commands.Reset(type=body.type),
        timeout_s=timeout_s,
    )


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
    return await _send(
        context,
        operator_id=caller.operator_id,
        station_id=station_id,
        command=commands.UnlockConnector(connector_id=body.connector_id),
        timeout_s=timeout_s,
    )


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
    return await _send(
        context,
        operator_id=caller.operator_id,
        station_id=station_id,
        command=command,
        timeout_s=timeout_s,
    )


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
    return await _send(
        context,
        operator_id=caller.operator_id,
        station_id=station_id,
        command=commands.GetConfiguration(keys=tuple(body.keys)),
        timeout_s=timeout_s,
    )


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
    return await _send(
        context,
        operator_id=caller.operator_id,
        station_id=station_id,
        command=commands.ChangeConfiguration(key=body.key, value=body.value),
        timeout_s=timeout_s,
    )


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
    return await _send(
        context,
        operator_id=caller.operator_id,
        station_id=station_id,
        command=command,
        timeout_s=timeout_s,
    )


@router.post(
    "/stations/{station_id}/commands/clear-cache",
    response_model=CommandResponse,
    tags=_TAG,
    summary="ClearCache",
)
async def clear_cache(
    station_id: int, caller: CurrentCaller, context: Context, timeout_s: Timeout = 30
) -> CommandResponse:
    return await _send(
        context,
        operator_id=caller.operator_id,
        station_id=station_id,
        command=commands.ClearCache(),
        timeout_s=timeout_s,
    )


@router.post(
    "/stations/{station_id}/password",
    response_model=PasswordRotationRead,
    tags=["stations"],
    summary="Rotate a connected station's password (ChangeConfiguration AuthorizationKey)",
    description="Sends the new password (given or generated) to the station; only when it "
    "accepts is the new password kept, beside the current one, until the station logs in "
    "with it. Refused (409), not connected (409), a CALLERROR (502): nothing changes. Not "
    "confirmed in time (504): the new password is kept as pending as well, in case the "
    "station applied it. The current password keeps working in every case.",
    responses=problems(404, 409),
)
async def rotate_station_password(
    station_id: int,
    caller: CurrentCaller,
    context: Context,
    response: Response,
    body: PasswordRotationCreate | None = None,
    timeout_s: Timeout = 30,
) -> PasswordRotationRead:
    rotated = await rotation.rotate_station_password(
        context=context,
        operator_id=caller.operator_id,
        station_id=station_id,
        password=body.password if body is not None else None,
        timeout_s=timeout_s,
    )
    no_store(response)
    return PasswordRotationRead.model_validate(rotated)
