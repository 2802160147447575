"""Catalog endpoints: locations, stations and their EVSEs, drivers, driver groups, tokens,
tariffs.

Routes only translate: parse the request, call one service, map its read model to a schema.
Tariffs are OCPI 2.2.1 documents whose JSON numbers are read and written exactly (never
through a float).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Generic, TypeVar

from fastapi import APIRouter, Query, Request, Response, status
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, WithJsonSchema

from evbilling.access.caller import CurrentCaller
from evbilling.catalog import service as catalog
from evbilling.catalog.service import ConnectorStandard, PowerType
from evbilling.charging.domain import TokenStatus, TokenType
from evbilling.infra.db.pagination import PageRequest
from evbilling.infra.http.deps import Context, Db
from evbilling.tariffs.domain import dumps_ocpi, loads_ocpi

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
TariffRef = Annotated[
    int | None, Field(description="A tariff of this operator; null for none.", ge=1)
]
GroupRef = Annotated[
    int | None, Field(description="A driver group of this operator; null for none.", ge=1)
]


def _created(response: Response, request: Request, route: str, **path: int) -> None:
    response.headers["Location"] = str(request.url_for(route, **path))


def _secret(response: Response) -> None:
    """A response carrying a password is shown once: no cache may keep it."""
    response.headers["Cache-Control"] = "no-store"


# ---------------------------------------------------------------------------------------------
# Tariffs: OCPI 2.2.1 documents, exchanged exactly.
#
# FastAPI would read JSON numbers as floats and write Decimals as floats or strings, so the
# OCPI document is taken from the raw request body (parsed with Decimal numbers) and
# responses carrying one are written with dumps_ocpi. The pydantic models below validate the
# envelope and document the API; `ocpi` itself is validated by the service (parse_tariff),
# which reports every field error at once.

_DECIMAL = {"type": "number", "description": "Exact decimal; written back digit for digit."}
_DATETIME = {"type": "string", "format": "date-time", "examples": ["2026-03-02T09:00:00Z"]}
_OCPI_PRICE = {
    "type": "object",
    "properties": {"excl_vat": _DECIMAL, "incl_vat": _DECIMAL},
    "required": ["excl_vat"],
    "additionalProperties": False,
}
_DAYS = ["MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY"]
_OCPI_COMPONENT = {
    "type": "object",
    "properties": {
        "type": {"type": "string", "enum": ["ENERGY", "FLAT", "PARKING_TIME", "TIME"]},
        "price": {
            **_DECIMAL,
            "description": "Excl. VAT: per kWh (ENERGY), per hour (TIME, PARKING_TIME) or per "
            "session (FLAT).",
        },
        "vat": {**_DECIMAL, "description": "Percent, 0..100; absent means unknown, not 0."},
        "step_size": {"type": "integer", "description": "Billing step: Wh (ENERGY) or seconds."},
    },
    "required": ["type", "price", "step_size"],
}
_OCPI_RESTRICTIONS = {
    "type": "object",
    "description": "All must hold for the element to apply (station local time).",
    "properties": {
        "start_time": {"type": "string", "examples": ["13:30"]},
        "end_time": {"type": "string", "examples": ["19:00"]},
        "start_date": {"type": "string", "format": "date"},
        "end_date": {"type": "string", "format": "date"},
        **dict.fromkeys(
            ("min_kwh", "max_kwh", "min_current", "max_current", "min_power", "max_power"),
            _DECIMAL,
        ),
        "min_duration": {"type": "integer"},
        "max_duration": {"type": "integer"},
        "day_of_week": {"type": "array", "items": {"type": "string", "enum": _DAYS}},
        "reservation": {"type": "string", "enum": ["RESERVATION", "RESERVATION_EXPIRES"]},
    },
}
_OCPI_ELEMENT = {
    "type": "object",
    "description": "For every moment and dimension the first matching element prices.",
    "properties": {
        "price_components": {"type": "array", "minItems": 1, "items": _OCPI_COMPONENT},
        "restrictions": _OCPI_RESTRICTIONS,
    },
    "required": ["price_components"],
}
_TARIFF_TYPES = ["AD_HOC_PAYMENT", "PROFILE_CHEAP", "PROFILE_FAST", "PROFILE_GREEN", "REGULAR"]
OCPI_TARIFF_SCHEMA: dict[str, Any] = {
    "title": "OcpiTariff",
    "type": "object",
    "description": "An OCPI 2.2.1 Tariff object (module Tariffs, section 11.3.1). On input, "
    "`id` (default: the tariff's id), `country_code`/`party_id` (default: XX/EVB, or the "
    "current version's) and `last_updated` (default: now) may be left out. Unknown fields are "
    "refused. JSON numbers are kept exactly as written.",
    "properties": {
        "country_code": {"type": "string", "pattern": "^[A-Za-z]{2}$", "examples": ["DE"]},
        "party_id": {"type": "string", "pattern": "^[A-Za-z0-9]{3}$", "examples": ["EVB"]},
        "id": {"type": "string", "maxLength": 36},
        "currency": {"type": "string", "description": "ISO 4217 code.", "examples": ["EUR"]},
        "type": {"type": "string", "enum": _TARIFF_TYPES},
        "tariff_alt_text": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "language": {"type": "string", "pattern": "^[A-Za-z]{2}$"},
                    "text": {"type": "string", "maxLength": 512},
                },
                "required": ["language", "text"],
            },
        },
        "tariff_alt_url": {"type": "string", "maxLength": 255},
        "min_price": _OCPI_PRICE,
        "max_price": _OCPI_PRICE,
        "elements": {"type": "array", "minItems": 1, "items": _OCPI_ELEMENT},
        "start_date_time": _DATETIME,
        "end_date_time": _DATETIME,
        "energy_mix": {"type": "object"},
        "last_updated": _DATETIME,
    },
    "required": ["currency", "elements"],
    "examples": [
        {
            "currency": "EUR",
            "elements": [
                {
                    "price_components": [
                        {"type": "ENERGY", "price": 0.39, "vat": 19, "step_size": 1},
                        {"type": "FLAT", "price": 0.50, "vat": 19, "step_size": 1},
                    ]
                }
            ],
        }
    ],
}
OcpiTariffJson = Annotated[dict[str, Any], WithJsonSchema(OCPI_TARIFF_SCHEMA)]
_OCPI_MEDIA = {"application/json": {"schema": OCPI_TARIFF_SCHEMA}}


class TariffCreate(_Input):
    name: str = Field(min_length=1, max_length=catalog.MAX_NAME_LENGTH, examples=["Standard"])
    is_default: bool = Field(
        default=False,
        description="Price charges that have no driver, group, EVSE, station or location "
        "tariff with this one; replaces the operator's previous default.",
    )
    ocpi: OcpiTariffJson


class TariffUpdate(_Input):
    name: Annotated[str | None, NotNull] = Field(default=None, max_length=catalog.MAX_NAME_LENGTH)
    is_default: Annotated[bool | None, NotNull] = None
    ocpi: Annotated[OcpiTariffJson | None, NotNull] = Field(
        default=None,
        description="A new document: becomes version n+1 (same OCPI id and currency).",
    )


class TariffRead(_Output):
    id: int
    name: str
    ocpi_id: str = Field(description="The OCPI tariff id (unique per operator).")
    currency: str
    is_default: bool
    version: int = Field(
        description="The current OCPI document's version; sessions keep the version they "
        "started with."
    )
    ocpi: OcpiTariffJson
    created_at: datetime
    updated_at: datetime


class TariffList(_Page[TariffRead]):
    pass


class TariffVersionRead(_Output):
    tariff_id: int
    version: int
    ocpi: OcpiTariffJson
    created_at: datetime


class TariffVersionList(_Output):
    items: list[TariffVersionRead] = Field(description="Every version, oldest first.")


def _exact(data: Any, *, status_code: int = 200, headers: dict[str, str] | None = None) -> Response:
    """A JSON response with OCPI numbers written exactly."""
    return Response(
        content=dumps_ocpi(data),
        status_code=status_code,
        media_type="application/json",
        headers=headers,
    )


def _with_ocpi(model: type[BaseModel], view: Any) -> dict[str, Any]:
    data: dict[str, Any] = model.model_validate(
        {**{name: getattr(view, name) for name in model.model_fields if name != "ocpi"}, "ocpi": {}}
    ).model_dump(mode="json")
    data["ocpi"] = view.ocpi
    return data


async def _raw_ocpi(request: Request) -> Any:
    """The `ocpi` member of the request body, numbers as Decimal (the body is cached)."""
    return loads_ocpi(await request.body()).get("ocpi")


@router.get(
    "/tariffs",
    response_model=TariffList,
    tags=["tariffs"],
    summary="List tariffs with their current OCPI documents",
    responses=_problems(),
)
async def list_tariffs(
    caller: CurrentCaller, db: Db, limit: Limit = 50, offset: Offset = 0
) -> Response:
    page = await catalog.list_tariffs(
        db=db, operator_id=caller.operator_id, page=PageRequest(limit=limit, offset=offset)
    )
    return _exact(
        {
            "items": [_with_ocpi(TariffRead, item) for item in page.items],
            "total": page.total,
            "limit": page.limit,
            "offset": page.offset,
        }
    )


@router.post(
    "/tariffs",
    response_model=TariffRead,
    status_code=status.HTTP_201_CREATED,
    tags=["tariffs"],
    summary="Create a tariff from an OCPI 2.2.1 Tariff document (version 1)",
    responses=_problems(409),
)
async def create_tariff(
    body: TariffCreate, caller: CurrentCaller, db: Db, context: Context, request: Request
) -> Response:
    tariff = await catalog.create_tariff(
        db=db,
        operator_id=caller.operator_id,
        name=body.name,
        ocpi=await _raw_ocpi(request),
        is_default=body.is_default,
        now=context.clock.now(),
    )
    location = str(request.url_for("get_tariff", tariff_id=tariff.id))
    return _exact(
        _with_ocpi(TariffRead, tariff),
        status_code=status.HTTP_201_CREATED,
        headers={"Location": location},
    )


@router.get(
    "/tariffs/{tariff_id}",
    response_model=TariffRead,
    tags=["tariffs"],
    summary="Get a tariff",
    responses=_problems(404),
)
async def get_tariff(tariff_id: int, caller: CurrentCaller, db: Db) -> Response:
    tariff = await catalog.get_tariff(db=db, operator_id=caller.operator_id, tariff_id=tariff_id)
    return _exact(_with_ocpi(TariffRead, tariff))


@router.patch(
    "/tariffs/{tariff_id}",
    response_model=TariffRead,
    tags=["tariffs"],
    summary="Rename, (un)make default, or publish a new OCPI document (new version)",
    responses=_problems(404),
)
async def update_tariff(
    tariff_id: int,
    body: TariffUpdate,
    caller: CurrentCaller,
    db: Db,
    context: Context,
    request: Request,
) -> Response:
    changes = body.model_dump(exclude_unset=True, exclude={"ocpi"})
    if "ocpi" in body.model_fields_set:
        changes["ocpi"] = await _raw_ocpi(request)
    tariff = await catalog.update_tariff(
        db=db,
        operator_id=caller.operator_id,
        tariff_id=tariff_id,
        now=context.clock.now(),
        **changes,
    )
    return _exact(_with_ocpi(TariffRead, tariff))


@router.get(
    "/tariffs/{tariff_id}/ocpi",
    tags=["tariffs"],
    summary="Export the OCPI document, exactly as stored",
    response_class=Response,
    responses={
        200: {"description": "The OCPI 2.2.1 Tariff object.", "content": _OCPI_MEDIA},
        **_problems(404),
    },
)
async def export_tariff(
    tariff_id: int,
    caller: CurrentCaller,
    db: Db,
    version: Annotated[
        int | None, Query(ge=1, description="This version instead of the current one.")
    ] = None,
) -> Response:
    if version is None:
        found: Any = await catalog.get_tariff(
            db=db, operator_id=caller.operator_id, tariff_id=tariff_id
        )
    else:
        found = await catalog.get_tariff_version(
            db=db, operator_id=caller.operator_id, tariff_id=tariff_id, version=version
        )
    return Response(content=found.ocpi_json, media_type="application/json")


@router.get(
    "/tariffs/{tariff_id}/versions",
    response_model=TariffVersionList,
    tags=["tariffs"],
    summary="List every version of a tariff",
    responses=_problems(404),
)
async def list_tariff_versions(tariff_id: int, caller: CurrentCaller, db: Db) -> Response:
    versions = await catalog.list_tariff_versions(
        db=db, operator_id=caller.operator_id, tariff_id=tariff_id
    )
    return _exact({"items": [_with_ocpi(TariffVersionRead, item) for item in versions]})


@router.get(
    "/tariffs/{tariff_id}/versions/{version}",
    response_model=TariffVersionRead,
    tags=["tariffs"],
    summary="Get one version of a tariff",
    responses=_problems(404),
)
async def get_tariff_version(
    tariff_id: int, version: int, caller: CurrentCaller, db: Db
) -> Response:
    found = await catalog.get_tariff_version(
        db=db, operator_id=caller.operator_id, tariff_id=tariff_id, version=version
    )
    return _exact(_with_ocpi(TariffVersionRead, found))


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
    return LocationRead.model_validate(location, from_attributes=True)


# ---------------------------------------------------------------------------------------------
# Stations and EVSEs


_PRICING_DISPLAY = (
    "The station shows prices and running costs on its display (OCA 'California pricing' "
    "DataTransfer messages)."
)


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
    pricing_display: bool = Field(default=False, description=_PRICING_DISPLAY)


class StationUpdate(_Input):
    location_id: Annotated[int | None, NotNull] = Field(default=None, ge=1)
    tariff_id: TariffRef = None
    pricing_display: Annotated[bool | None, NotNull] = Field(
        default=None, description=_PRICING_DISPLAY
    )


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
    pricing_display: bool = Field(description=_PRICING_DISPLAY)
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
        pricing_display=body.pricing_display,
        now=context.clock.now(),
        commands=context.commands,
    )
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
    summary="Move a station, change its tariff or price display",
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
    group_id: GroupRef = Field(
        default=None, description="The driver's group (fleet); its tariff comes next."
    )


class DriverUpdate(_Input):
    name: Annotated[str | None, NotNull] = Field(default=None, max_length=catalog.MAX_NAME_LENGTH)
    email: str | None = Field(default=None, max_length=catalog.MAX_EMAIL_LENGTH)
    tariff_id: TariffRef = None
    group_id: GroupRef = None


class DriverRead(_Output):
    id: int
    name: str
    email: str | None
    tariff_id: int | None
    group_id: int | None
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
        group_id=body.group_id,
        now=context.clock.now(),
    )
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
    return DriverRead.model_validate(driver, from_attributes=True)


# ---------------------------------------------------------------------------------------------
# Driver groups (fleets)


class DriverGroupCreate(_Input):
    name: str = Field(min_length=1, max_length=catalog.MAX_NAME_LENGTH, examples=["Taxi fleet"])
    tariff_id: TariffRef = Field(
        default=None,
        description="Prices the group's drivers' charges, unless a driver has their own tariff.",
    )


class DriverGroupUpdate(_Input):
    name: Annotated[str | None, NotNull] = Field(default=None, max_length=catalog.MAX_NAME_LENGTH)
    tariff_id: TariffRef = None


class DriverGroupRead(_Output):
    id: int
    name: str
    tariff_id: int | None
    created_at: datetime
    updated_at: datetime


class DriverGroupList(_Page[DriverGroupRead]):
    pass


@router.get(
    "/driver-groups",
    response_model=DriverGroupList,
    tags=["driver groups"],
    summary="List driver groups",
    responses=_problems(),
)
async def list_driver_groups(
    caller: CurrentCaller, db: Db, limit: Limit = 50, offset: Offset = 0
) -> DriverGroupList:
    page = await catalog.list_driver_groups(
        db=db, operator_id=caller.operator_id, page=PageRequest(limit=limit, offset=offset)
    )
    return DriverGroupList.model_validate(page, from_attributes=True)


@router.post(
    "/driver-groups",
    response_model=DriverGroupRead,
    status_code=status.HTTP_201_CREATED,
    tags=["driver groups"],
    summary="Create a driver group (fleet)",
    responses=_problems(),
)
async def create_driver_group(
    body: DriverGroupCreate,
    caller: CurrentCaller,
    db: Db,
    context: Context,
    request: Request,
    response: Response,
) -> DriverGroupRead:
    group = await catalog.create_driver_group(
        db=db,
        operator_id=caller.operator_id,
        name=body.name,
        tariff_id=body.tariff_id,
        now=context.clock.now(),
    )
    _created(response, request, "get_driver_group", group_id=group.id)
    return DriverGroupRead.model_validate(group, from_attributes=True)


@router.get(
    "/driver-groups/{group_id}",
    response_model=DriverGroupRead,
    tags=["driver groups"],
    summary="Get a driver group",
    responses=_problems(404),
)
async def get_driver_group(group_id: int, caller: CurrentCaller, db: Db) -> DriverGroupRead:
    group = await catalog.get_driver_group(db=db, operator_id=caller.operator_id, group_id=group_id)
    return DriverGroupRead.model_validate(group, from_attributes=True)


@router.patch(
    "/driver-groups/{group_id}",
    response_model=DriverGroupRead,
    tags=["driver groups"],
    summary="Rename a driver group or change its tariff (null clears it)",
    responses=_problems(404),
)
async def update_driver_group(
    group_id: int, body: DriverGroupUpdate, caller: CurrentCaller, db: Db, context: Context
) -> DriverGroupRead:
    group = await catalog.update_driver_group(
        db=db,
        operator_id=caller.operator_id,
        group_id=group_id,
        now=context.clock.now(),
        **body.model_dump(exclude_unset=True),
    )
    return DriverGroupRead.model_validate(group, from_attributes=True)


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
    return TokenRead.model_validate(token, from_attributes=True)
