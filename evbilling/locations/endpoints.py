"""Location routes: parse the request, call one service, return the read schema."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response, status

from evbilling.access.caller import CurrentCaller
from evbilling.infra.db.repository import PageRequest
from evbilling.infra.http.deps import Context, Db
from evbilling.infra.http.schemas import Limit, Offset, problems, set_location
from evbilling.locations import service as locations
from evbilling.locations.schemas import LocationCreate, LocationList, LocationRead, LocationUpdate

router = APIRouter()


@router.get(
    "/locations",
    response_model=LocationList,
    tags=["locations"],
    summary="List locations",
    responses=problems(),
)
async def list_locations(
    caller: CurrentCaller, db: Db, limit: Limit = 50, offset: Offset = 0
) -> LocationList:
    page = await locations.list_locations(
        db=db, operator_id=caller.operator_id, page=PageRequest(limit=limit, offset=offset)
    )
    return LocationList.model_validate(page)


@router.post(
    "/locations",
    response_model=LocationRead,
    status_code=status.HTTP_201_CREATED,
    tags=["locations"],
    summary="Create a location",
    responses=problems(),
)
async def create_location(
    body: LocationCreate,
    caller: CurrentCaller,
    db: Db,
    context: Context,
    request: Request,
    response: Response,
) -> LocationRead:
    location = await locations.create_location(
        db=db,
        operator_id=caller.operator_id,
        name=body.name,
        address=body.address,
        city=body.city,
        postal_code=body.postal_code,
        country=body.country,
        time_zone=body.time_zone,
        tariff_id=body.tariff_id,
        now=context.clock.now(),
    )
    set_location(response, request, "get_location", location_id=location.id)
    return LocationRead.model_validate(location)


@router.get(
    "/locations/{location_id}",
    response_model=LocationRead,
    tags=["locations"],
    summary="Get a location",
    responses=problems(404),
)
async def get_location(location_id: int, caller: CurrentCaller, db: Db) -> LocationRead:
    location = await locations.get_location(
        db=db, operator_id=caller.operator_id, location_id=location_id
    )
    return LocationRead.model_validate(location)


@router.patch(
    "/locations/{location_id}",
    response_model=LocationRead,
    tags=["locations"],
    summary="Change a location (null clears an optional field)",
    responses=problems(404),
)
async def update_location(
    location_id: int, body: LocationUpdate, caller: CurrentCaller, db: Db, context: Context
) -> LocationRead:
    location = await locations.update_location(
        db=db,
        operator_id=caller.operator_id,
        location_id=location_id,
        now=context.clock.now(),
        **body.model_dump(exclude_unset=True),
    )
    return LocationRead.model_validate(location)
