"""The app's EVSE routes: find an EVSE by its ID or by the QR code, and its quote."""

from __future__ import annotations

from enum import Enum
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from evbilling.access.driver_caller import CurrentDriver
from evbilling.app import evses
from evbilling.app.driving_deps import hold_policy
from evbilling.app.driving_schemas import EvseRead, QuoteRead
from evbilling.infra.http.deps import Context, Db
from evbilling.infra.http.schemas import problems
from evbilling.payments.domain import HoldPolicy

router = APIRouter()
_TAG: list[str | Enum] = ["charging"]


@router.get(
    "/evses/lookup",
    response_model=EvseRead,
    tags=_TAG,
    summary="Find an EVSE by its EVSE ID or the content of its QR code (a /pay/{evse_uid} URL)",
    responses=problems(401, 404, 422),
)
async def lookup_evse(
    caller: CurrentDriver,
    context: Context,
    db: Db,
    code: Annotated[str, Query(min_length=1, max_length=evses.MAX_CODE_LENGTH)],
) -> EvseRead:
    found = await evses.find_evse(
        db=db,
        operator_id=caller.operator_id,
        evse_uid=evses.evse_uid_of(code),
        commands=context.commands,
    )
    return EvseRead.model_validate(found)


@router.get(
    "/evses/{evse_uid}",
    response_model=EvseRead,
    tags=_TAG,
    summary="An EVSE: where it is, its connector and whether its station is online",
    responses=problems(401, 404, 422),
)
async def get_evse(evse_uid: str, caller: CurrentDriver, context: Context, db: Db) -> EvseRead:
    found = await evses.find_evse(
        db=db, operator_id=caller.operator_id, evse_uid=evse_uid, commands=context.commands
    )
    return EvseRead.model_validate(found)


@router.get(
    "/evses/{evse_uid}/quote",
    response_model=QuoteRead,
    tags=_TAG,
    summary="The driver's price at the EVSE in plain words, and the hold a card would take",
    responses=problems(401, 404, 422),
)
async def quote_evse(
    evse_uid: str,
    caller: CurrentDriver,
    context: Context,
    db: Db,
    policy: Annotated[HoldPolicy, Depends(hold_policy)],
) -> QuoteRead:
    quote = await evses.quote_evse(
        db=db,
        operator_id=caller.operator_id,
        driver_id=caller.driver_id,
        evse_uid=evse_uid,
        commands=context.commands,
        now=context.clock.now(),
        policy=policy,
    )
    return QuoteRead.model_validate(quote)
