"""Tariff routes: OCPI 2.2.1 documents, exchanged exactly.

FastAPI would read JSON numbers as floats and write Decimals as floats or strings, so the
OCPI document is taken from the raw request body (parsed with Decimal numbers) and responses
carrying one are written with dumps_ocpi.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response, status
from pydantic import BaseModel

from evbilling.access.caller import CurrentCaller
from evbilling.infra.db.repository import PageRequest
from evbilling.infra.http.deps import Context, Db
from evbilling.infra.http.schemas import Limit, Offset, problems
from evbilling.infra.validation import MAX_INT32
from evbilling.tariffs import service as tariffs
from evbilling.tariffs.domain import dumps_ocpi, loads_ocpi
from evbilling.tariffs.schemas import (
    OCPI_MEDIA,
    TariffCreate,
    TariffList,
    TariffRead,
    TariffUpdate,
    TariffVersionList,
    TariffVersionRead,
)

router = APIRouter()

# Version numbers are 32-bit columns.
MAX_VERSION = MAX_INT32


def _exact_data(read: BaseModel) -> dict[str, Any]:
    """The schema as JSON data with its OCPI documents left as Decimal-numbered data (pydantic
    would write the numbers as strings); keys keep their order."""
    data: dict[str, Any] = read.model_dump(mode="json")
    for name in type(read).model_fields:
        value = getattr(read, name)
        if name == "ocpi":
            data[name] = value
        elif isinstance(value, list) and all(isinstance(item, BaseModel) for item in value):
            data[name] = [_exact_data(item) for item in value]
    return data


def _exact(
    read: BaseModel, *, status_code: int = 200, headers: dict[str, str] | None = None
) -> Response:
    """A JSON response with OCPI numbers written exactly."""
    return Response(
        content=dumps_ocpi(_exact_data(read)),
        status_code=status_code,
        media_type="application/json",
        headers=headers,
    )


async def _raw_ocpi(request: Request) -> Any:
    """The `ocpi` member of the request body, numbers as Decimal (the body is cached)."""
    return loads_ocpi(await request.body()).get("ocpi")


@router.get(
    "/tariffs",
    response_model=TariffList,
    tags=["tariffs"],
    summary="List tariffs with their current OCPI documents",
    responses=problems(),
)
async def list_tariffs(
    caller: CurrentCaller, db: Db, limit: Limit = 50, offset: Offset = 0
) -> Response:
    page = await tariffs.list_tariffs(
        db=db, operator_id=caller.operator_id, page=PageRequest(limit=limit, offset=offset)
    )
    return _exact(TariffList.model_validate(page))


@router.post(
    "/tariffs",
    response_model=TariffRead,
    status_code=status.HTTP_201_CREATED,
    tags=["tariffs"],
    summary="Create a tariff from an OCPI 2.2.1 Tariff document (version 1)",
    responses=problems(409),
)
async def create_tariff(
    body: TariffCreate, caller: CurrentCaller, db: Db, context: Context, request: Request
) -> Response:
    tariff = await tariffs.create_tariff(
        db=db,
        operator_id=caller.operator_id,
        name=body.name,
        ocpi=await _raw_ocpi(request),
        is_default=body.is_default,
        now=context.clock.now(),
    )
    location = str(request.url_for("get_tariff", tariff_id=tariff.id))
    return _exact(
        TariffRead.model_validate(tariff),
        status_code=status.HTTP_201_CREATED,
        headers={"Location": location},
    )


@router.get(
    "/tariffs/{tariff_id}",
    response_model=TariffRead,
    tags=["tariffs"],
    summary="Get a tariff",
    responses=problems(404),
)
async def get_tariff(tariff_id: int, caller: CurrentCaller, db: Db) -> Response:
    tariff = await tariffs.get_tariff(db=db, operator_id=caller.operator_id, tariff_id=tariff_id)
    return _exact(TariffRead.model_validate(tariff))


@router.patch(
    "/tariffs/{tariff_id}",
    response_model=TariffRead,
    tags=["tariffs"],
    summary="Rename, (un)make default, or publish a new OCPI document (new version)",
    responses=problems(404),
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
    tariff = await tariffs.update_tariff(
        db=db,
        operator_id=caller.operator_id,
        tariff_id=tariff_id,
        now=context.clock.now(),
        **changes,
    )
    return _exact(TariffRead.model_validate(tariff))


@router.get(
    "/tariffs/{tariff_id}/ocpi",
    tags=["tariffs"],
    summary="Export the OCPI document, exactly as stored",
    response_class=Response,
    responses={
        200: {"description": "The OCPI 2.2.1 Tariff object.", "content": OCPI_MEDIA},
        **problems(404),
    },
)
async def export_tariff(
    tariff_id: int,
    caller: CurrentCaller,
    db: Db,
    version: Annotated[
        int | None,
        Query(ge=1, le=MAX_VERSION, description="This version instead of the current one."),
    ] = None,
) -> Response:
    if version is None:
        found: Any = await tariffs.get_tariff(
            db=db, operator_id=caller.operator_id, tariff_id=tariff_id
        )
    else:
        found = await tariffs.get_tariff_version(
            db=db, operator_id=caller.operator_id, tariff_id=tariff_id, version=version
        )
    return Response(content=found.ocpi_json, media_type="application/json")


@router.get(
    "/tariffs/{tariff_id}/versions",
    response_model=TariffVersionList,
    tags=["tariffs"],
    summary="List every version of a tariff",
    responses=problems(404),
)
async def list_tariff_versions(tariff_id: int, caller: CurrentCaller, db: Db) -> Response:
    versions = await tariffs.list_tariff_versions(
        db=db, operator_id=caller.operator_id, tariff_id=tariff_id
    )
    return _exact(TariffVersionList.model_validate({"items": versions}))


@router.get(
    "/tariffs/{tariff_id}/versions/{version}",
    response_model=TariffVersionRead,
    tags=["tariffs"],
    summary="Get one version of a tariff",
    responses=problems(404),
)
async def get_tariff_version(
    tariff_id: int,
    version: Annotated[int, Path(ge=1, le=MAX_VERSION)],
    caller: CurrentCaller,
    db: Db,
) -> Response:
    found = await tariffs.get_tariff_version(
        db=db, operator_id=caller.operator_id, tariff_id=tariff_id, version=version
    )
    return _exact(TariffVersionRead.model_validate(found))
