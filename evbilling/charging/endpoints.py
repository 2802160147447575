"""Charging sessions API: list and read sessions, their running or final cost, their CDR;
close a session the station no longer knows."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query, Response

from evbilling.access.caller import CurrentCaller
from evbilling.charging import costs, ending
from evbilling.charging import sessions as session_service
from evbilling.charging.domain import PricingStatus, SessionStatus
from evbilling.charging.read_repository import SessionFilter
from evbilling.charging.schemas import (
    CostRead,
    MeterReadingPage,
    SessionClose,
    SessionDetailRead,
    SessionPage,
)
from evbilling.infra.http.deps import Context, Db
from evbilling.infra.validation import MAX_RECORD_ID
from evbilling.kit.errors import NotFound

router = APIRouter()


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
    status: SessionStatus | None = None,
    pricing_status: Annotated[
        PricingStatus | None,
        Query(description="`failed` lists the sessions whose pricing failed, with the reason"),
    ] = None,
    started_from: Annotated[datetime | None, Query(description="inclusive, RFC 3339")] = None,
    started_before: Annotated[datetime | None, Query(description="exclusive, RFC 3339")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
    after: Annotated[
        int | None, Query(ge=1, description="the `next_after` of the previous page")
    ] = None,
) -> SessionPage:
    return await session_service.list_sessions(
        db=db,
        where=SessionFilter(
            operator_id=caller.operator_id,
            station_id=station_id,
            driver_id=driver_id,
            status=status.value if status is not None else None,
            pricing_status=pricing_status.value if pricing_status is not None else None,
            started_from=started_from,
            started_before=started_before,
        ),
        limit=limit,
        offset=offset,
        after=after,
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
    return await session_service.get_session(
        db=db, operator_id=caller.operator_id, session_id=session_id, with_samples=samples
    )


@router.post(
    "/sessions/{session_id}/close",
    response_model=SessionDetailRead,
    tags=["sessions"],
    summary="Close an active session the station no longer knows, with a reason",
    description="The session ends as `closed`, priced up to its last meter reading; 409 when "
    "it is not active. Meter samples are left out of the answer.",
)
async def close_session(
    session_id: Annotated[int, Path(ge=1, le=MAX_RECORD_ID)],
    body: SessionClose,
    caller: CurrentCaller,
    db: Db,
    context: Context,
) -> SessionDetailRead:
    return await ending.close_session(
        db=db,
        operator_id=caller.operator_id,
        session_id=session_id,
        reason=body.reason,
        now=context.clock.now(),
    )


@router.get(
    "/sessions/{session_id}/meter-values",
    response_model=MeterReadingPage,
    tags=["sessions"],
    summary="A session's meter readings as sent, page by page in the order they were stored",
)
async def list_meter_readings(
    session_id: int,
    caller: CurrentCaller,
    db: Db,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
    after: Annotated[
        int | None, Query(ge=1, description="the `next_after` of the previous page")
    ] = None,
) -> MeterReadingPage:
    return await session_service.list_meter_readings(
        db=db, operator_id=caller.operator_id, session_id=session_id, limit=limit, after=after
    )


@router.get(
    "/sessions/{session_id}/cost",
    response_model=CostRead,
    tags=["sessions"],
    summary="The running cost of an active session, or the final cost",
)
async def session_cost(
    session_id: int, caller: CurrentCaller, db: Db, context: Context
) -> CostRead:
    cost = await costs.running_cost(
        db=db, operator_id=caller.operator_id, session_id=session_id, now=context.clock.now()
    )
    if cost is None:
        raise NotFound(kind="priced session", key=session_id)
    return CostRead.model_validate(cost)


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
