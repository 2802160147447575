"""Charging sessions (read) and operator commands to stations."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from enum import Enum
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, ConfigDict, Field, PlainSerializer

from evbilling.access.caller import CurrentCaller
from evbilling.charging import service as charging
from evbilling.charging import sessions as session_service
from evbilling.charging.queries import SessionFilter
from evbilling.infra.db.pagination import PageRequest
from evbilling.infra.http.deps import Context, Db
from evbilling.infra.station_link import (
    AvailabilityType,
    CommandResult,
    ResetType,
    TriggerableMessage,
)
from evbilling.kit.errors import NotFound
from evbilling.rating import quote as quote_service
from evbilling.stations import commands

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
    tariff_id: int | None
    tariff_version: int | None
    time_zone: str | None
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
async def get_session(
    session_id: int,
    caller: CurrentCaller,
    db: Db,
    samples: Annotated[bool, Query(description="include every meter sample")] = True,
) -> SessionDetailRead:
    detail = await session_service.get_session(
        db=db, operator_id=caller.operator_id, session_id=session_id, with_samples=samples
    )
    summary = SessionRead.model_validate(detail.summary, from_attributes=True)
    return SessionDetailRead(
        **summary.model_dump(),
        cost_breakdown=detail.cost_breakdown,
        meter_samples=[
            MeterSampleRead.model_validate(s, from_attributes=True) for s in detail.meter_samples
        ],
        anomalies=[AnomalyRead.model_validate(a, from_attributes=True) for a in detail.anomalies],
    )


class CostRead(BaseModel):
    session_id: int
    final: bool = Field(description="false while the session runs: the cost so far")
    at: datetime
    energy_wh: int
    currency: str
    total_excl_vat: Amount
    total_incl_vat: Amount | None
    breakdown: dict[str, Any]


@router.get(
    "/sessions/{session_id}/cost",
    response_model=CostRead,
    tags=["sessions"],
    summary="The running cost of an active session, or the final cost",
)
async def session_cost(
    session_id: int, caller: CurrentCaller, db: Db, context: Context
) -> CostRead:
    cost = await charging.running_cost(
        db=db, operator_id=caller.operator_id, session_id=session_id, now=context.clock.now()
    )
    if cost is None:
        raise NotFound(kind="priced session", key=session_id)
    detail = await session_service.get_session(
        db=db, operator_id=caller.operator_id, session_id=session_id
    )
    return CostRead(
        session_id=session_id,
        final=detail.summary.stopped_at is not None,
        at=cost.at,
        energy_wh=cost.energy_wh,
        currency=cost.currency,
        total_excl_vat=cost.total_excl_vat,
        total_incl_vat=cost.total_incl_vat,
        breakdown=cost.breakdown,
    )


@router.get(
    "/sessions/{session_id}/cdr",
    tags=["sessions"],
    summary="The session's priced OCPI 2.2.1 CDR (exact decimals)",
    response_class=Response,
    responses={200: {"content": {"application/json": {}}}},
)
async def session_cdr(session_id: int, caller: CurrentCaller, db: Db) -> Response:
    text = await session_service.session_cdr(
        db=db, operator_id=caller.operator_id, session_id=session_id
    )
    return Response(content=text, media_type="application/json")


class QuoteRead(BaseModel):
    evse_id: int
    tariff_id: int
    tariff_version: int
    tariff_name: str
    currency: str
    start: datetime
    duration_minutes: Amount
    energy_kwh: Amount
    total_excl_vat: Amount
    total_incl_vat: Amount | None
    breakdown: dict[str, Any]
    display_text: str = Field(description="What a driver or the charger's display is shown")


@router.get(
    "/evses/{evse_id}/quote",
    response_model=QuoteRead,
    tags=["pricing"],
    summary="What a planned session would cost, before it starts",
)
async def evse_quote(
    evse_id: int,
    caller: CurrentCaller,
    db: Db,
    context: Context,
    energy_kwh: Annotated[Decimal, Query(ge=0, le=10_000, description="planned energy")],
    duration_minutes: Annotated[Decimal, Query(gt=0, le=10_080, description="plug-in time")],
    start: Annotated[datetime | None, Query(description="RFC 3339; default now")] = None,
    driver_id: Annotated[int | None, Query(description="price with this driver's tariff")] = None,
    language: Annotated[str, Query(min_length=2, max_length=2)] = "en",
) -> QuoteRead:
    result = await quote_service.quote(
        db=db,
        operator_id=caller.operator_id,
        evse_id=evse_id,
        energy_kwh=energy_kwh,
        duration=timedelta(microseconds=int(duration_minutes * 60_000_000)),
        start=_aware(start) if start is not None else context.clock.now(),
        driver_id=driver_id,
        language=language,
    )
    return QuoteRead(
        evse_id=result.evse_id,
        tariff_id=result.tariff_id,
        tariff_version=result.tariff_version,
        tariff_name=result.tariff_name,
        currency=result.currency,
        start=result.start,
        duration_minutes=duration_minutes,
        energy_kwh=energy_kwh,
        total_excl_vat=result.total_excl_vat,
        total_incl_vat=result.total_incl_vat,
        breakdown=result.breakdown,
        display_text=result.display_text,
    )


def _aware(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


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
