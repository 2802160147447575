"""The app's charging routes: start and stop, the driver's sessions, and the live view
(server-sent events, or polling GET /sessions/{id})."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from enum import Enum
from typing import Annotated

from fastapi import APIRouter, Depends, Request, status
from fastapi.responses import StreamingResponse

from evbilling.access.driver_caller import CurrentDriver, require_verified
from evbilling.app import charging
from evbilling.app.driving_deps import After, Timeout, deliver, live_pace, receipt_url
from evbilling.app.driving_schemas import (
    AppSessionPage,
    LiveRead,
    StartCreate,
    StartRead,
    StopRead,
)
from evbilling.infra.context import ServiceContext
from evbilling.infra.http.deps import Context, Db
from evbilling.infra.http.schemas import Limit, problems

router = APIRouter()
_TAG: list[str | Enum] = ["charging"]


@router.post(
    "/charging/start",
    response_model=StartRead,
    status_code=status.HTTP_202_ACCEPTED,
    tags=_TAG,
    summary="Start charging at an EVSE (RemoteStartTransaction with the driver's app token)",
    description="Accepted (202) once the station has accepted the remote start; the session "
    "appears when the station starts the transaction. A station that is offline is 409, one "
    "that does not answer in time 504, one that refuses 409.",
    responses=problems(401, 404, 409, 422),
)
async def start_charging(
    body: StartCreate, caller: CurrentDriver, context: Context, timeout_s: Timeout = 30
) -> StartRead:
    require_verified(caller, before="charging")
    # Not the request's `Db`: that one would hold its connection until the station answers.
    async with context.unit_of_work() as db:
        prepared = await charging.prepare_start(
            db=db,
            operator_id=caller.operator_id,
            driver_id=caller.driver_id,
            evse_uid=body.evse_uid,
            connector_id=body.connector_id,
            station_link=context.commands,
            now=context.clock.now(),
        )
        await db.commit()
    answer = await deliver(context, prepared.command, timeout_s)
    answered = str(answer.get("status", ""))
    if answered != "Accepted":
        raise charging.StationRefused(f"the station answered {answered or 'nothing'}")
    return StartRead(
        evse_uid=prepared.evse_uid, connector_id=prepared.connector_id, status=answered
    )


@router.post(
    "/sessions/{session_id}/stop",
    response_model=StopRead,
    status_code=status.HTTP_202_ACCEPTED,
    tags=_TAG,
    summary="Stop one of the driver's running sessions (RemoteStopTransaction)",
    responses=problems(401, 404, 409),
)
async def stop_charging(
    session_id: int, caller: CurrentDriver, context: Context, timeout_s: Timeout = 30
) -> StopRead:
    async with context.unit_of_work() as db:
        outgoing = await charging.prepare_stop(
            db=db,
            operator_id=caller.operator_id,
            driver_id=caller.driver_id,
            session_id=session_id,
        )
    answer = await deliver(context, outgoing, timeout_s)
    answered = str(answer.get("status", ""))
    if answered != "Accepted":
        raise charging.StationRefused(f"the station answered {answered or 'nothing'} to the stop")
    return StopRead(session_id=session_id, status=answered)


@router.get(
    "/sessions",
    response_model=AppSessionPage,
    tags=_TAG,
    summary="The driver's sessions, newest first (keyset pages: pass next_after as after)",
    responses=problems(401),
)
async def list_sessions(
    caller: CurrentDriver, db: Db, limit: Limit = 50, after: After = None
) -> AppSessionPage:
    page = await charging.list_sessions(
        db=db, operator_id=caller.operator_id, driver_id=caller.driver_id, limit=limit, after=after
    )
    return AppSessionPage.model_validate(page)


async def _live(
    context: ServiceContext, request: Request, *, operator_id: int, driver_id: int, session_id: int
) -> LiveRead:
    async with context.unit_of_work() as db:
        view = await charging.live_view(
            db=db,
            operator_id=operator_id,
            driver_id=driver_id,
            session_id=session_id,
            now=context.clock.now(),
        )
    row = view.session
    final = row.completed_at is not None
    return LiveRead(
        session_id=row.id,
        status=row.status,
        running=view.running,
        evse_uid=view.evse_uid,
        station_identity=row.station_identity,
        started_at=row.started_at,
        stopped_at=row.stopped_at,
        energy_wh=view.energy_wh,
        currency=view.currency,
        cost_incl_vat=view.cost_incl_vat,
        cost_excl_vat=view.cost_excl_vat,
        cost_at=view.cost_at,
        receipt_url=receipt_url(request, context, row.id) if final else None,
    )


@router.get(
    "/sessions/{session_id}",
    response_model=LiveRead,
    tags=_TAG,
    summary="One of the driver's sessions with its running cost (poll it, or use /live)",
    responses=problems(401, 404),
)
async def get_session(
    session_id: int, request: Request, caller: CurrentDriver, context: Context
) -> LiveRead:
    return await _live(
        context,
        request,
        operator_id=caller.operator_id,
        driver_id=caller.driver_id,
        session_id=session_id,
    )


def _event(name: str, data: str) -> bytes:
    return f"event: {name}\ndata: {data}\n\n".encode()


@router.get(
    "/sessions/{session_id}/live",
    tags=_TAG,
    summary="The running cost and energy as server-sent events until the session ends",
    description="text/event-stream: an `update` event with the session (as GET "
    "/sessions/{id}) every few seconds while it runs, then its last `update` and `end`. The "
    "stream closes after at most half an hour (`timeout`): reconnect, or poll.",
    responses={200: {"content": {"text/event-stream": {}}}, **problems(401, 404)},
)
async def live_session(
    session_id: int,
    request: Request,
    caller: CurrentDriver,
    context: Context,
    pace: Annotated[tuple[float, float], Depends(live_pace)],
) -> StreamingResponse:
    interval_s, max_s = pace
    ids = {"operator_id": caller.operator_id, "driver_id": caller.driver_id}
    first = await _live(context, request, session_id=session_id, **ids)  # 404 before streaming

    async def stream() -> AsyncIterator[bytes]:
        current, deadline = first, time.monotonic() + max_s
        while True:
            yield _event("update", current.model_dump_json())
            if not current.running:
                yield _event("end", json.dumps({"session_id": session_id}))
                return
            if time.monotonic() >= deadline or await request.is_disconnected():
                yield _event("timeout", json.dumps({"session_id": session_id}))
                return
            await asyncio.sleep(interval_s)
            current = await _live(context, request, session_id=session_id, **ids)

    return StreamingResponse(
        stream(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )
