"""Driver, driver group and token routes: parse the request, call one service, return the
read schema."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response, status

from evbilling.access.caller import CurrentCaller
from evbilling.drivers import service as drivers
from evbilling.drivers.domain import TokenStatus
from evbilling.drivers.schemas import (
    DriverCreate,
    DriverGroupCreate,
    DriverGroupList,
    DriverGroupRead,
    DriverGroupUpdate,
    DriverList,
    DriverRead,
    DriverUpdate,
    TokenCreate,
    TokenList,
    TokenRead,
    TokenUpdate,
)
from evbilling.infra.db.repository import PageRequest
from evbilling.infra.http.deps import Context, Db
from evbilling.infra.http.schemas import Limit, Offset, problems, set_location

router = APIRouter()


@router.get(
    "/drivers",
    response_model=DriverList,
    tags=["drivers"],
    summary="List drivers",
    responses=problems(),
)
async def list_drivers(
    caller: CurrentCaller, db: Db, limit: Limit = 50, offset: Offset = 0
) -> DriverList:
    page = await drivers.list_drivers(
        db=db, operator_id=caller.operator_id, page=PageRequest(limit=limit, offset=offset)
    )
    return DriverList.model_validate(page)


@router.post(
    "/drivers",
    response_model=DriverRead,
    status_code=status.HTTP_201_CREATED,
    tags=["drivers"],
    summary="Create a driver",
    responses=problems(),
)
async def create_driver(
    body: DriverCreate,
    caller: CurrentCaller,
    db: Db,
    context: Context,
    request: Request,
    response: Response,
) -> DriverRead:
    driver = await drivers.create_driver(
        db=db,
        operator_id=caller.operator_id,
        name=body.name,
        email=body.email,
        tariff_id=body.tariff_id,
        group_id=body.group_id,
        now=context.clock.now(),
    )
    set_location(response, request, "get_driver", driver_id=driver.id)
    return DriverRead.model_validate(driver)


@router.get(
    "/drivers/{driver_id}",
    response_model=DriverRead,
    tags=["drivers"],
    summary="Get a driver",
    responses=problems(404),
)
async def get_driver(driver_id: int, caller: CurrentCaller, db: Db) -> DriverRead:
    driver = await drivers.get_driver(db=db, operator_id=caller.operator_id, driver_id=driver_id)
    return DriverRead.model_validate(driver)


@router.patch(
    "/drivers/{driver_id}",
    response_model=DriverRead,
    tags=["drivers"],
    summary="Change a driver (null clears an optional field)",
    responses=problems(404),
)
async def update_driver(
    driver_id: int, body: DriverUpdate, caller: CurrentCaller, db: Db, context: Context
) -> DriverRead:
    driver = await drivers.update_driver(
        db=db,
        operator_id=caller.operator_id,
        driver_id=driver_id,
        now=context.clock.now(),
        **body.model_dump(exclude_unset=True),
    )
    return DriverRead.model_validate(driver)


@router.get(
    "/driver-groups",
    response_model=DriverGroupList,
    tags=["driver groups"],
    summary="List driver groups",
    responses=problems(),
)
async def list_driver_groups(
    caller: CurrentCaller, db: Db, limit: Limit = 50, offset: Offset = 0
) -> DriverGroupList:
    page = await drivers.list_driver_groups(
        db=db, operator_id=caller.operator_id, page=PageRequest(limit=limit, offset=offset)
    )
    return DriverGroupList.model_validate(page)


@router.post(
    "/driver-groups",
    response_model=DriverGroupRead,
    status_code=status.HTTP_201_CREATED,
    tags=["driver groups"],
    summary="Create a driver group (fleet)",
    responses=problems(),
)
async def create_driver_group(
    body: DriverGroupCreate,
    caller: CurrentCaller,
    db: Db,
    context: Context,
    request: Request,
    response: Response,
) -> DriverGroupRead:
    group = await drivers.create_driver_group(
        db=db,
        operator_id=caller.operator_id,
        name=body.name,
        tariff_id=body.tariff_id,
        now=context.clock.now(),
    )
    set_location(response, request, "get_driver_group", group_id=group.id)
    return DriverGroupRead.model_validate(group)


@router.get(
    "/driver-groups/{group_id}",
    response_model=DriverGroupRead,
    tags=["driver groups"],
    summary="Get a driver group",
    responses=problems(404),
)
async def get_driver_group(group_id: int, caller: CurrentCaller, db: Db) -> DriverGroupRead:
    group = await drivers.get_driver_group(db=db, operator_id=caller.operator_id, group_id=group_id)
    return DriverGroupRead.model_validate(group)


@router.patch(
    "/driver-groups/{group_id}",
    response_model=DriverGroupRead,
    tags=["driver groups"],
    summary="Rename a driver group or change its tariff (null clears it)",
    responses=problems(404),
)
async def update_driver_group(
    group_id: int, body: DriverGroupUpdate, caller: CurrentCaller, db: Db, context: Context
) -> DriverGroupRead:
    group = await drivers.update_driver_group(
        db=db,
        operator_id=caller.operator_id,
        group_id=group_id,
        now=context.clock.now(),
        **body.model_dump(exclude_unset=True),
    )
    return DriverGroupRead.model_validate(group)


@router.get(
    "/tokens",
    response_model=TokenList,
    tags=["tokens"],
    summary="List tokens",
    responses=problems(),
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
    page = await drivers.list_tokens(
        db=db,
        operator_id=caller.operator_id,
        driver_id=driver_id,
        status=status,
        uid=uid,
        page=PageRequest(limit=limit, offset=offset),
    )
    return TokenList.model_validate(page)


@router.post(
    "/tokens",
    response_model=TokenRead,
    status_code=status.HTTP_201_CREATED,
    tags=["tokens"],
    summary="Register a token (idTag)",
    responses=problems(409),
)
async def create_token(
    body: TokenCreate,
    caller: CurrentCaller,
    db: Db,
    context: Context,
    request: Request,
    response: Response,
) -> TokenRead:
    token = await drivers.create_token(
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
    set_location(response, request, "get_token", token_id=token.id)
    return TokenRead.model_validate(token)


@router.get(
    "/tokens/{token_id}",
    response_model=TokenRead,
    tags=["tokens"],
    summary="Get a token",
    responses=problems(404),
)
async def get_token(token_id: int, caller: CurrentCaller, db: Db) -> TokenRead:
    token = await drivers.get_token(db=db, operator_id=caller.operator_id, token_id=token_id)
    return TokenRead.model_validate(token)


@router.patch(
    "/tokens/{token_id}",
    response_model=TokenRead,
    tags=["tokens"],
    summary="Change a token: block, unblock, expire, reassign",
    responses=problems(404, 409),
)
async def update_token(
    token_id: int, body: TokenUpdate, caller: CurrentCaller, db: Db, context: Context
) -> TokenRead:
    token = await drivers.update_token(
        db=db,
        operator_id=caller.operator_id,
        token_id=token_id,
        now=context.clock.now(),
        **body.model_dump(exclude_unset=True),
    )
    return TokenRead.model_validate(token)
