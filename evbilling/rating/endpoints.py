"""Pricing API: what a planned session at an EVSE would cost, before it starts."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Query

from evbilling.access.caller import CurrentCaller
from evbilling.infra.http.deps import Context, Db
from evbilling.rating import quote as quote_service
from evbilling.rating.schemas import QuoteRead

router = APIRouter()


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
        duration_minutes=duration_minutes,
        start=_aware(start) if start is not None else context.clock.now(),
        driver_id=driver_id,
        language=language,
    )
    return QuoteRead.model_validate(result)


def _aware(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
