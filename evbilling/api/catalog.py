"""Catalog endpoints: locations, stations and their EVSEs, drivers, tokens, tariffs.

Routes only translate: parse the request, call one service, map its read model to a schema.
Money is exchanged as decimal strings ("0.35"); numbers are accepted on input, but only strings
are guaranteed exact.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Generic, TypeVar

from fastapi import APIRouter, Query, Request, Response, status
from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from evbilling.api.deps import Context, CurrentCaller, Db
from evbilling.domain.charging import TokenStatus, TokenType
from evbilling.services import catalog
from evbilling.services.catalog import ConnectorStandard, PowerType
from evbilling.services.common import PageRequest

router = APIRouter()

T = TypeVar("T")

# ---------------------------------------------------------------------------------------------
# Errors, as documented in OpenAPI (the handlers live in api/errors.py)


class ProblemFieldError(BaseModel):
    field: str = Field(description="The offending field, dotted for nested ones.")
    message: str


class Problem(BaseModel):
    """An RFC 9457 problem document (served as application/problem+json)."""

    type: str
    title: str
    status: int
    detail: str
    errors: list[ProblemFieldError] | None = Field(
        default=None, description="Present on 422: one entry per rejected field."
    )


_PROBLEMS: dict[int, str] = {
    401: "Missing, unknown or revoked API key.",
    404: "No such object for this operator.",
    409: "The request conflicts with existing data (duplicate identity, UID, connector).",
    422: "The request is invalid; `errors` names the fields.",
}


def _problems(*codes: int) -> dict[int | str, dict[str, Any]]:
    # `model` registers the schema (FastAPI lists it as application/json); the handlers really
    # answer application/problem+json, so that media type is documented too.
    problem = {"schema": {"$ref": "#/components/schemas/Problem"}}
    return {
        code: {
            "model": Problem,
            "description": _PROBLEMS[code],
            "content": {"application/problem+json": problem},
        }
        for code in (401, 422, *codes)
    }


# ---------------------------------------------------------------------------------------------
# Shared schema pieces


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _Output(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class _Page(_Output, Generic[T]):
    items: list[T]
    total: int = Field(description="Objects matching the filters, across all pages.")
    limit: int
    offset: int


def _not_null(value: T | None) -> T:
    if value is None:
        raise ValueError("may be left out but not set to null")
    return value


# Optional in a PATCH body, but cannot be cleared.
NotNull = AfterValidator(_not_null)

Limit = Annotated[int, Query(ge=1, le=catalog.MAX_PAGE_LIMIT, description="Page size (1..500).")]
Offset = Annotated[int, Query(ge=0, description="Objects to skip.")]
Price = Annotated[
    Decimal,
    Field(
        description="Non-negative decimal; send a string to keep it exact.",
        examples=["0.35"],
    ),
]
TariffRef = Annotated[
    int | None, Field(description="A tariff of this operator; null for none.", ge=1)
]


def _created(response: Response, request: Request, route: str, **path: int) -> None:
    response.headers["Location"] = str(request.url_for(route, **path))


def _secret(response: Response) -> None:
    """A response carrying a password is shown once: no cache may keep it."""
    response.headers["Cache-Control"] = "no-store"


# ---------------------------------------------------------------------------------------------
# Tariffs


class TariffCreate(_Input):
    name: str = Field(min_length=1, max_length=catalog.MAX_NAME_LENGTH, examples=["Standard"])
    currency: str = Field(description="ISO 4217 code.", examples=["EUR"])
    energy_price_per_kwh: Price
    session_fee: Price = Decimal(0)
    vat_percent: Price = Field(description="0..100.", examples=["19"])
    is_default: bool = Field(
        default=False,
        description="Price charges that have no driver, EVSE, station or location tariff with "
        "this one; replaces the operator's previous default.",
    )


class TariffUpdate(_Input):
    name: Annotated[str | None, NotNull] = Field(default=None, max_length=catalog.MAX_NAME_LENGTH)
    currency: Annotated[str | None, NotNull] = None
    energy_price_per_kwh: Annotated[Decimal | None, NotNull] = None
    session_fee: Annotated[Decimal | None, NotNull] = None
    vat_percent: Annotated[Decimal | None, NotNull] = None
    is_default: Annotated[bool | None, NotNull] = None


class TariffRead(_Output):
    id: int
    name: str
    currency: str
    energy_price_per_kwh: Decimal
    session_fee: Decimal
    vat_percent: Decimal
    is_default: bool
    version: int = Field(
        description="Incremented by every change; sessions keep the terms they started with."
    )
    created_at: datetime
    updated_at: datetime


class TariffList(_Page[TariffRead]):
    pass


@router.get(
    "/tariffs",
    response_model=TariffList,
    tags=["tariffs"],
    summary="List tariffs",
    responses=_problems(),
)
async def list_tariffs(
    caller: CurrentCaller, db: Db, limit: Limit = 50, offset: Offset = 0
) -> TariffList:
    page = await catalog.list_tariffs(
        db=db, operator_id=caller.operator_id, page=PageRequest(limit=limit, offset=offset)
    )
    return TariffList.model_validate(page, from_attributes=True)


@router.post(
    "/tariffs",
    response_model=TariffRead,
    status_code=status.HTTP_201_CREATED,
    tags=["tariffs"],
    summary="Create a tariff",
    responses=_problems(),
)
async def create_tariff(
    body: TariffCreate,
    caller: CurrentCaller,
    db: Db,
    context: Context,
    request: Request,
    response: Response,
) -> TariffRead:
    tariff = await catalog.create_tariff(
        db=db,
        operator_id=caller.operator_id,
        name=body.name,
        currency=body.currency,
        energy_price_per_kwh=body.energy_price_per_kwh,
        session_fee=body.session_fee,
        vat_percent=body.vat_percent,
        is_default=body.is_default,
        now=context.clock.now(),
    )
    await db.commit()
    _created(response, request, "get_tariff", tariff_id=tariff.id)
    return TariffRead.model_validate(tariff, from_attributes=True)


@router.get(
    "/tariffs/{tariff_id}",
    response_model=TariffRead,
    tags=["tariffs"],
    summary="Get a tariff",
    responses=_problems(404),
)
async def get_tariff(tariff_id: int, caller: CurrentCaller, db: Db) -> TariffRead:
    tariff = await catalog.get_tariff(db=db, operator_id=caller.operator_id, tariff_id=tariff_id)
    return TariffRead.model_validate(tariff, from_attributes=True)


@router.patch(
    "/tariffs/{tariff_id}",
    response_model=TariffRead,
    tags=["tariffs"],
    summary="Change a tariff (new version; running and past sessions keep their terms)",
    responses=_problems(404),
)
async def update_tariff(
    tariff_id: int, body: TariffUpdate, caller: CurrentCaller, db: Db, context: Context
) -> TariffRead:
    tariff = await catalog.update_tariff(
        db=db,
        operator_id=caller.operator_id,
        tariff_id=tariff_id,
        now=context.clock.now(),
        **body.model_dump(exclude_unset=True),
    )
    await db.commit()
    return TariffRead.model_validate(tariff, from_attributes=True)


# ---------------------------------------------------------------------------------------------
# Locations


class LocationCreate(_Input):
    name: str = Field(min_length=1, max_length=catalog.MAX_NAME_LENGTH, examples=["Depot"])
    address: str | None = Field(default=None, max_length=300)
    city: str | None = Field(default=None, max_length=100)
    postal_code: str | None = Field(default=None, max_length=20)
    country: str | None = Field(
        default=None,
        pattern=catalog.COUNTRY_PATTERN,
        description="ISO 3166-1 alpha-3, upper-case (as in OCPI).",
        examples=["DEU"],
    )
    time_zone: str = Field(description="IANA time zone.", examples=["Europe/Berlin"])
    tariff_id: TariffRef = None


class LocationUpdate(_Input):
    name: Annotated[str | None, NotNull] = Field(default=None, max_length=catalog.MAX_NAME_LENGTH)
    address: str | None = Field(default=None, max_length=300)
    city: str | None = Field(default=None, max_length=100)
    postal_code: str | None = Field(default=None, max_length=20)
    country: str | None = Field(default=None, pattern=catalog.COUNTRY_PATTERN)
    time_zone: Annotated[str | None, NotNull] = None
    tariff_id: TariffRef = None


class LocationRead(_Output):
    id: int
    name: str
    address: str | None
    city: str | None
    postal_code: str | None
    country: str | None
    time_zone: str
    tariff_id: int | None
    created_at: datetime
    updated_at: datetime


class LocationList(_Page[LocationRead]):
    pass


@router.get(
    "/locations",
    response_model=LocationList,
    tags=["locations"],
    summary="List locations",
    responses=_problems(),
)
async def list_locations(
    caller: CurrentCaller, db: Db, limit: Limit = 50, offset: Offset = 0
) -> LocationList:
    page = await catalog.list_locations(
        db=db, operator_id=caller.operator_id, page=PageRequest(limit=limit, offset=offset)
    )
    return LocationList.model_validate(page, from_attributes=True)


@router.post(
    "/locations",
    response_model=LocationRead,
    status_code=status.HTTP_201_CREATED,
    tags=["locations"],
    summary="Create a location",
    responses=_problems(),
)
async def create_location(
    body: LocationCreate,
    caller: CurrentCaller,
    db: Db,
    context: Context,
    request: Request,
    response: Response,
) -> LocationRead:
    location = await catalog.create_location(
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
    await db.commit()
    _created(response, request, "get_location", location_id=location.id)
    return LocationRead.model_validate(location, from_attributes=True)


@router.get(
    "/locations/{location_id}",
    response_model=LocationRead,
    tags=["locations"],
    summary="Get a location",
    responses=_problems(404),
)
async def get_location(location_id: int, caller: CurrentCaller, db: Db) -> LocationRead:
    location = await catalog.get_location(
        db=db, operator_id=caller.operator_id, location_id=location_id
    )
    return LocationRead.model_validate(location, from_attributes=True)


@router.patch(
    "/locations/{location_id}",
    response_model=LocationRead,
    tags=["locations"],
    summary="Change a location (null clears an optional field)",
    responses=_problems(404),
)
async def update_location(
    location_id: int, body: LocationUpdate, caller: CurrentCaller, db: Db, context: Context
) -> LocationRead:
    location = await catalog.update_location(
        db=db,
        operator_id=caller.operator_id,
        location_id=location_id,
        now=context.clock.now(),
        **body.model_dump(exclude_unset=True),
    )
    await db.commit()
    return LocationRead.model_validate(location, from_attributes=True)


# ---------------------------------------------------------------------------------------------
# Stations and EVSEs


class StationCreate(_Input):
    identity: str = Field(
        pattern=catalog.IDENTITY_PATTERN,
        description="OCPP charge point id: the last segment of the station's WebSocket URL.",
        examples=["CP-1"],
    )
    location_id: int = Field(ge=1)
    tariff_id: TariffRef = None
    password: str | None = Field(
        default=None,
        min_length=16,
        max_length=40,
        description="Basic-auth password (OCPP security profile 1); generated when left out. "
        "Returned once, stored only as an argon2 hash.",
    )
    connectors: int = Field(
        default=1,
        ge=catalog.MIN_CONNECTORS,
        le=catalog.MAX_CONNECTORS,
        description="EVSEs to create, with connector ids 1..n.",
    )
    max_power_w: int = Field(
        default=catalog.DEFAULT_MAX_POWER_W, ge=catalog.MIN_POWER_W, le=catalog.MAX_POWER_W
    )


class StationUpdate(_Input):
    location_id: Annotated[int | None, NotNull] = Field(default=None, ge=1)
    tariff_id: TariffRef = None


class StationPasswordRotate(_Input):
    password: str | None = Field(
        default=None, min_length=16, max_length=40, description="Generated when left out."
    )


class EvseRead(_Output):
    id: int
    station_id: int
    connector_id: int
    uid: str | None = Field(description="EVSE ID such as DE*ABC*E1234.")
    max_power_w: int
    connector_standard: str | None
    power_type: str | None
    tariff_id: int | None
    status: str | None = Field(description="Latest OCPP StatusNotification status.")
    error_code: str | None
    status_at: datetime | None
    created_at: datetime
    updated_at: datetime


class EvseList(_Page[EvseRead]):
    pass


class StationRead(_Output):
    id: int
    identity: str
    location_id: int
    tariff_id: int | None
    vendor: str | None = Field(description="From BootNotification (read-only).")
    model: str | None
    serial_number: str | None
    firmware_version: str | None
    iccid: str | None
    imsi: str | None
    meter_type: str | None
    meter_serial_number: str | None
    registration_status: str | None
    last_boot_at: datetime | None
    last_heartbeat_at: datetime | None
    password_changed_at: datetime | None
    connected: bool = Field(description="Has a live OCPP connection to this server.")
    evses: list[EvseRead]
    created_at: datetime
    updated_at: datetime


class StationCreated(StationRead):
    password: str = Field(description="Shown once; only its hash is stored.")


class StationPasswordRead(_Output):
    station_id: int
    identity: str
    password: str = Field(description="Shown once; only its hash is stored.")


class StationList(_Page[StationRead]):
    pass


class EvseCreate(_Input):
    connector_id: int | None = Field(
        default=None,
        ge=1,
        le=catalog.MAX_CONNECTOR_ID,
        description="OCPP connectorId; the next free one when left out.",
    )
    max_power_w: int = Field(
        default=catalog.DEFAULT_MAX_POWER_W, ge=catalog.MIN_POWER_W, le=catalog.MAX_POWER_W
    )
    uid: str | None = Field(default=None, max_length=48, examples=["DE*ABC*E1234"])
    connector_standard: ConnectorStandard | None = None
    power_type: PowerType | None = None
    tariff_id: TariffRef = None


class EvseUpdate(_Input):
    max_power_w: Annotated[int | None, NotNull] = Field(
        default=None, ge=catalog.MIN_POWER_W, le=catalog.MAX_POWER_W
    )
    uid: str | None = Field(default=None, max_length=48, examples=["DE*ABC*E1234"])
    connector_standard: ConnectorStandard | None = None
    power_type: PowerType | None = None
    tariff_id: TariffRef = None


@router.get(
    "/stations",
    response_model=StationList,
    tags=["stations"],
    summary="List stations with their EVSEs",
    responses=_problems(),
)
async def list_stations(
    caller: CurrentCaller,
    db: Db,
    context: Context,
    location_id: Annotated[int | None, Query(description="Only stations at this location.")] = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> StationList:
    page = await catalog.list_stations(
        db=db,
        operator_id=caller.operator_id,
        commands=context.commands,
        location_id=location_id,
        page=PageRequest(limit=limit, offset=offset),
    )
    return StationList.model_validate(page, from_attributes=True)


@router.post(
    "/stations",
    response_model=StationCreated,
    status_code=status.HTTP_201_CREATED,
    tags=["stations"],
    summary="Register a station and its EVSEs; returns its password once",
    responses=_problems(409),
)
async def create_station(
    body: StationCreate,
    caller: CurrentCaller,
    db: Db,
    context: Context,
    request: Request,
    response: Response,
) -> StationCreated:
    created = await catalog.create_station(
        db=db,
        operator_id=caller.operator_id,
        identity=body.identity,
        location_id=body.location_id,
        tariff_id=body.tariff_id,
        password=body.password,
        connectors=body.connectors,
        max_power_w=body.max_power_w,
        now=context.clock.now(),
        commands=context.commands,
    )
    await db.commit()
    _created(response, request, "get_station", station_id=created.station.id)
    _secret(response)
    station = StationRead.model_validate(created.station, from_attributes=True)
    return StationCreated.model_validate({**station.model_dump(), "password": created.password})


@router.get(
    "/stations/{station_id}",
    response_model=StationRead,
    tags=["stations"],
    summary="Get a station with its EVSEs and connection state",
    responses=_problems(404),
)
async def get_station(
    station_id: int, caller: CurrentCaller, db: Db, context: Context
) -> StationRead:
    station = await catalog.get_station(
        db=db, operator_id=caller.operator_id, station=station_id, commands=context.commands
    )
    return StationRead.model_validate(station, from_attributes=True)


@router.patch(
    "/stations/{station_id}",
    response_model=StationRead,
    tags=["stations"],
    summary="Move a station or change its tariff",
    responses=_problems(404),
)
async def update_station(
    station_id: int, body: StationUpdate, caller: CurrentCaller, db: Db, context: Context
) -> StationRead:
    station = await catalog.update_station(
        db=db,
        operator_id=caller.operator_id,
        station=station_id,
        now=context.clock.now(),
        commands=context.commands,
        **body.model_dump(exclude_unset=True),
    )
    await db.commit()
    return StationRead.model_validate(station, from_attributes=True)


@router.post(
    "/stations/{station_id}/password",
    response_model=StationPasswordRead,
    tags=["stations"],
    summary="Set a new station password (given or generated); returns it once",
    responses=_problems(404),
)
async def rotate_station_password(
    station_id: int,
    caller: CurrentCaller,
    db: Db,
    context: Context,
    response: Response,
    body: StationPasswordRotate | None = None,
) -> StationPasswordRead:
    rotated = await catalog.rotate_station_password(
        db=db,
        operator_id=caller.operator_id,
        station=station_id,
        password=body.password if body is not None else None,
        now=context.clock.now(),
    )
    await db.commit()
    _secret(response)
    return StationPasswordRead.model_validate(rotated, from_attributes=True)


@router.get(
    "/stations/{station_id}/evses",
    response_model=EvseList,
    tags=["evses"],
    summary="List a station's EVSEs",
    responses=_problems(404),
)
async def list_evses(
    station_id: int, caller: CurrentCaller, db: Db, limit: Limit = 50, offset: Offset = 0
) -> EvseList:
    page = await catalog.list_evses(
        db=db,
        operator_id=caller.operator_id,
        station=station_id,
        page=PageRequest(limit=limit, offset=offset),
    )
    return EvseList.model_validate(page, from_attributes=True)


@router.post(
    "/stations/{station_id}/evses",
    response_model=EvseRead,
    status_code=status.HTTP_201_CREATED,
    tags=["evses"],
    summary="Add an EVSE to a station",
    responses=_problems(404, 409),
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
    evse = await catalog.create_evse(
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
    await db.commit()
    _created(response, request, "get_evse", evse_id=evse.id)
    return EvseRead.model_validate(evse, from_attributes=True)


@router.get(
    "/evses/{evse_id}",
    response_model=EvseRead,
    tags=["evses"],
    summary="Get an EVSE with its latest status",
    responses=_problems(404),
)
async def get_evse(evse_id: int, caller: CurrentCaller, db: Db) -> EvseRead:
    evse = await catalog.get_evse(db=db, operator_id=caller.operator_id, evse_id=evse_id)
    return EvseRead.model_validate(evse, from_attributes=True)


@router.patch(
    "/evses/{evse_id}",
    response_model=EvseRead,
    tags=["evses"],
    summary="Change an EVSE (null clears an optional field)",
    responses=_problems(404, 409),
)
async def update_evse(
    evse_id: int, body: EvseUpdate, caller: CurrentCaller, db: Db, context: Context
) -> EvseRead:
    evse = await catalog.update_evse(
        db=db,
        operator_id=caller.operator_id,
        evse_id=evse_id,
        now=context.clock.now(),
        **body.model_dump(exclude_unset=True),
    )
    await db.commit()
    return EvseRead.model_validate(evse, from_attributes=True)


# ---------------------------------------------------------------------------------------------
# Drivers


class DriverCreate(_Input):
    name: str = Field(min_length=1, max_length=catalog.MAX_NAME_LENGTH, examples=["Ada Lovelace"])
    email: str | None = Field(
        default=None, max_length=catalog.MAX_EMAIL_LENGTH, examples=["ada@example.com"]
    )
    tariff_id: TariffRef = Field(
        default=None, description="Overrides every other tariff for this driver's charges."
    )


class DriverUpdate(_Input):
    name: Annotated[str | None, NotNull] = Field(default=None, max_length=catalog.MAX_NAME_LENGTH)
    email: str | None = Field(default=None, max_length=catalog.MAX_EMAIL_LENGTH)
    tariff_id: TariffRef = None


class DriverRead(_Output):
    id: int
    name: str
    email: str | None
    tariff_id: int | None
    created_at: datetime
    updated_at: datetime


class DriverList(_Page[DriverRead]):
    pass


@router.get(
    "/drivers",
    response_model=DriverList,
    tags=["drivers"],
    summary="List drivers",
    responses=_problems(),
)
async def list_drivers(
    caller: CurrentCaller, db: Db, limit: Limit = 50, offset: Offset = 0
) -> DriverList:
    page = await catalog.list_drivers(
        db=db, operator_id=caller.operator_id, page=PageRequest(limit=limit, offset=offset)
    )
    return DriverList.model_validate(page, from_attributes=True)


@router.post(
    "/drivers",
    response_model=DriverRead,
    status_code=status.HTTP_201_CREATED,
    tags=["drivers"],
    summary="Create a driver",
    responses=_problems(),
)
async def create_driver(
    body: DriverCreate,
    caller: CurrentCaller,
    db: Db,
    context: Context,
    request: Request,
    response: Response,
) -> DriverRead:
    driver = await catalog.create_driver(
        db=db,
        operator_id=caller.operator_id,
        name=body.name,
        email=body.email,
        tariff_id=body.tariff_id,
        now=context.clock.now(),
    )
    await db.commit()
    _created(response, request, "get_driver", driver_id=driver.id)
    return DriverRead.model_validate(driver, from_attributes=True)


@router.get(
    "/drivers/{driver_id}",
    response_model=DriverRead,
    tags=["drivers"],
    summary="Get a driver",
    responses=_problems(404),
)
async def get_driver(driver_id: int, caller: CurrentCaller, db: Db) -> DriverRead:
    driver = await catalog.get_driver(db=db, operator_id=caller.operator_id, driver_id=driver_id)
    return DriverRead.model_validate(driver, from_attributes=True)


@router.patch(
    "/drivers/{driver_id}",
    response_model=DriverRead,
    tags=["drivers"],
    summary="Change a driver (null clears an optional field)",
    responses=_problems(404),
)
async def update_driver(
    driver_id: int, body: DriverUpdate, caller: CurrentCaller, db: Db, context: Context
) -> DriverRead:
    driver = await catalog.update_driver(
        db=db,
        operator_id=caller.operator_id,
        driver_id=driver_id,
        now=context.clock.now(),
        **body.model_dump(exclude_unset=True),
    )
    await db.commit()
    return DriverRead.model_validate(driver, from_attributes=True)


# ---------------------------------------------------------------------------------------------
# Tokens


class TokenCreate(_Input):
    uid: str = Field(
        min_length=1,
        max_length=catalog.MAX_ID_TAG_LENGTH,
        description="OCPP idTag (RFID UID); stored upper-case, unique per operator.",
        examples=["04A2B3C4"],
    )
    type: TokenType = TokenType.RFID
    status: TokenStatus = TokenStatus.ACTIVE
    driver_id: int | None = Field(default=None, ge=1)
    expires_at: datetime | None = Field(default=None, description="RFC 3339 with a time zone.")
    parent_id_tag: str | None = Field(default=None, max_length=catalog.MAX_ID_TAG_LENGTH)


class TokenUpdate(_Input):
    uid: Annotated[str | None, NotNull] = Field(
        default=None, min_length=1, max_length=catalog.MAX_ID_TAG_LENGTH
    )
    type: Annotated[TokenType | None, NotNull] = None
    status: Annotated[TokenStatus | None, NotNull] = None
    driver_id: int | None = Field(default=None, ge=1)
    expires_at: datetime | None = None
    parent_id_tag: str | None = Field(default=None, max_length=catalog.MAX_ID_TAG_LENGTH)


class TokenRead(_Output):
    id: int
    uid: str
    type: TokenType
    status: TokenStatus
    driver_id: int | None
    parent_id_tag: str | None
    expires_at: datetime | None
    created_at: datetime
    updated_at: datetime


class TokenList(_Page[TokenRead]):
    pass


@router.get(
    "/tokens",
    response_model=TokenList,
    tags=["tokens"],
    summary="List tokens",
    responses=_problems(),
)
async def list_tokens(
    caller: CurrentCaller,
    db: Db,
    driver_id: Annotated[int | None, Query(description="Only this driver's tokens.")] = None,
    status: Annotated[TokenStatus | None, Query(description="active or blocked.")] = None,
    uid: Annotated[str | None, Query(description="Exact idTag, any case.")] = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> TokenList:
    page = await catalog.list_tokens(
        db=db,
        operator_id=caller.operator_id,
        driver_id=driver_id,
        status=status,
        uid=uid,
        page=PageRequest(limit=limit, offset=offset),
    )
    return TokenList.model_validate(page, from_attributes=True)


@router.post(
    "/tokens",
    response_model=TokenRead,
    status_code=status.HTTP_201_CREATED,
    tags=["tokens"],
    summary="Register a token (idTag)",
    responses=_problems(409),
)
async def create_token(
    body: TokenCreate,
    caller: CurrentCaller,
    db: Db,
    context: Context,
    request: Request,
    response: Response,
) -> TokenRead:
    token = await catalog.create_token(
        db=db,
        operator_id=caller.operator_id,
        uid=body.uid,
        type=body.type,
        status=body.status,
        driver_id=body.driver_id,
        expires_at=body.expires_at,
        parent_id_tag=body.parent_id_tag,
        now=context.clock.now(),
    )
    await db.commit()
    _created(response, request, "get_token", token_id=token.id)
    return TokenRead.model_validate(token, from_attributes=True)


@router.get(
    "/tokens/{token_id}",
    response_model=TokenRead,
    tags=["tokens"],
    summary="Get a token",
    responses=_problems(404),
)
async def get_token(token_id: int, caller: CurrentCaller, db: Db) -> TokenRead:
    token = await catalog.get_token(db=db, operator_id=caller.operator_id, token_id=token_id)
    return TokenRead.model_validate(token, from_attributes=True)


@router.patch(
    "/tokens/{token_id}",
    response_model=TokenRead,
    tags=["tokens"],
    summary="Change a token: block, unblock, expire, reassign",
    responses=_problems(404, 409),
)
async def update_token(
    token_id: int, body: TokenUpdate, caller: CurrentCaller, db: Db, context: Context
) -> TokenRead:
    token = await catalog.update_token(
        db=db,
        operator_id=caller.operator_id,
        token_id=token_id,
        now=context.clock.now(),
        **body.model_dump(exclude_unset=True),
    )
    await db.commit()
    return TokenRead.model_validate(token, from_attributes=True)
