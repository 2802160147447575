"""Station and EVSE routes: parse the request, call one service, return the read schema."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response, status

from evbilling.access.caller import CurrentCaller
from evbilling.infra.db.repository import PageRequest
from evbilling.infra.http.deps import Context, Db
from evbilling.infra.http.schemas import Limit, Offset, no_store, problems, set_location
from evbilling.stations import evse_service as evses
from evbilling.stations import service as stations
from evbilling.stations.schemas import (
    EvseCreate,
    EvseList,
    EvseRead,
    EvseUpdate,
    StationCreate,
    StationCreated,
    StationList,
    StationPasswordRead,
    StationPasswordSet,
    StationRead,
    StationUpdate,
)

router = APIRouter()


@router.get(
    "/stations",
    response_model=StationList,
    tags=["stations"],
    summary="List stations with their EVSEs",
    responses=problems(),
)
async def list_stations(
    caller: CurrentCaller,
    db: Db,
    context: Context,
    location_id: Annotated[int | None, Query(description="Only stations at this location.")] = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> StationList:
    page = await stations.list_stations(
        db=db,
        operator_id=caller.operator_id,
        commands=context.commands,
        location_id=location_id,
        page=PageRequest(limit=limit, offset=offset),
    )
    return StationList.model_validate(page)


@router.post(
    "/stations",
    response_model=StationCreated,
    status_code=status.HTTP_201_CREATED,
    tags=["stations"],
    summary="Register a station and its EVSEs; returns its password once",
    responses=problems(409),
)
async def create_station(
    body: StationCreate,
    caller: CurrentCaller,
    db: Db,
    context: Context,
    request: Request,
    response: Response,
) -> StationCreated:
    created = await stations.create_station(
        db=db,
        operator_id=caller.operator_id,
        identity=body.identity,
        location_id=body.location_id,
        tariff_id=body.tariff_id,
        password=body.password,
        connectors=body.connectors,
        max_power_w=body.max_power_w,
        pricing_display=body.pricing_display,
        now=context.clock.now(),
        commands=context.commands,
    )
    set_location(response, request, "get_station", station_id=created.station.id)
    no_store(response)
    station = StationRead.model_validate(created.station)
    return StationCreated(**station.model_dump(), password=created.password)


@router.get(
    "/stations/{station_id}",
    response_model=StationRead,
    tags=["stations"],
    summary="Get a station with its EVSEs and connection state",
    responses=problems(404),
)
async def get_station(
    station_id: int, caller: CurrentCaller, db: Db, context: Context
) -> StationRead:
    station = await stations.get_station(
        db=db, operator_id=caller.operator_id, station=station_id, commands=context.commands
    )
    return StationRead.model_validate(station)


@router.patch(
    "/stations/{station_id}",
    response_model=StationRead,
    tags=["stations"],
    summary="Move a station, change its tariff or price display",
    responses=problems(404),
)
async def update_station(
    station_id: int, body: StationUpdate, caller: CurrentCaller, db: Db, context: Context
) -> StationRead:
    station = await stations.update_station(
        db=db,
        operator_id=caller.operator_id,
        station=station_id,
        now=context.clock.now(),
        commands=context.commands,
        **body.model_dump(exclude_unset=True),
    )
    return StationRead.model_validate(station)


@router.put(
    "/stations/{station_id}/password",
    response_model=StationPasswordRead,
    tags=["stations"],
    summary="Set a station's password without asking the station; returns it once",
    description="For a station being set up or reset to factory settings: the previous "
    "password stops working at once. A connected station is rotated with POST instead, "
    "which keeps its old password working until it has logged in with the new one.",
    responses=problems(404),
)
async def set_station_password(
    station_id: int,
    caller: CurrentCaller,
    db: Db,
    context: Context,
    response: Response,
    body: StationPasswordSet | None = None,
) -> StationPasswordRead:
    rotated = await stations.set_station_password(
        db=db,
        operator_id=caller.operator_id,
        station=station_id,
        password=body.password if body is not None else None,
        now=context.clock.now(),
    )
    no_store(response)
    return StationPasswordRead.model_validate(rotated)


@router.get(
    "/stations/{station_id}/evses",
    response_model=EvseList,
    tags=["evses"],
    summary="List a station's EVSEs",
    responses=problems(404),
)
async def list_evses(
    station_id: int, caller: CurrentCaller, db: Db, limit: Limit = 50, offset: Offset = 0
) -> EvseList:
    page = await evses.list_evses(
        db=db,
        operator_id=caller.operator_id,
        station=station_id,
        page=PageRequest(limit=limit, offset=offset),
    )
    return EvseList.model_validate(page)


@router.post(
    "/stations/{station_id}/evses",
    response_model=EvseRead,
    status_code=status.HTTP_201_CREATED,
    tags=["evses"],
    summary="Add an EVSE to a station",
    responses=problems(404, 409),
)
async def create_evse(
    station_id: int,
    body: EvseCreate,
    caller: CurrentCaller,
    db: Db,
    context: Context,
    request: Request,
    response: Response,
) -> EvseRead:
    evse = await evses.create_evse(
        db=db,
        operator_id=caller.operator_id,
        station=station_id,
        connector_id=body.connector_id,
        max_power_w=body.max_power_w,
        uid=body.uid,
        connector_standard=body.connector_standard,
        power_type=body.power_type,
        tariff_id=body.tariff_id,
        now=context.clock.now(),
    )
    set_location(response, request, "get_evse", evse_id=evse.id)
    return EvseRead.model_validate(evse)


@router.get(
    "/evses/{evse_id}",
    response_model=EvseRead,
    tags=["evses"],
    summary="Get an EVSE with its latest status",
    responses=problems(404),
)
async def get_evse(evse_id: int, caller: CurrentCaller, db: Db) -> EvseRead:
    evse = await evses.get_evse(db=db, operator_id=caller.operator_id, evse_id=evse_id)
    return EvseRead.model_validate(evse)


@router.patch(
    "/evses/{evse_id}",
    response_model=EvseRead,
    tags=["evses"],
    summary="Change an EVSE (null clears an optional field)",
    responses=problems(404, 409),
)
async def update_evse(
    evse_id: int, body: EvseUpdate, caller: CurrentCaller, db: Db, context: Context
) -> EvseRead:
    evse = await evses.update_evse(
        db=db,
        operator_id=caller.operator_id,
        evse_id=evse_id,
        now=context.clock.now(),
        **body.model_dump(exclude_unset=True),
    )
    return EvseRead.model_validate(evse)
