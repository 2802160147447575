"""Arrange steps for the payment side of sessions: tariffs with parking time and two VAT
rates, connector statuses, and the jobs charging recorded."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from evbilling.charging import completion
from evbilling.charging import service as charging
from evbilling.charging.station_events import StationRef
from evbilling.infra.context import ServiceContext
from evbilling.infra.jobs import list_jobs
from evbilling.infra.jobs.model import Job
from tests.integration.charging.lifecycle_arrange import received_at

CARD = "04A1B2C3D4"


def components(*parts: tuple[str, str, str | None]) -> dict[str, Any]:
    """An OCPI tariff of one element: (type, price, vat percent or None) per component."""
    return {
        "currency": "EUR",
        "elements": [
            {
                "price_components": [
                    {"type": kind, "price": Decimal(price), "step_size": 1}
                    | ({} if vat is None else {"vat": Decimal(vat)})
                    for kind, price, vat in parts
                ]
            }
        ],
    }


# 0.30/kWh + 1.00 per session, parking 6.00/h; 20 % VAT.
PARKING = components(
    ("ENERGY", "0.30", "20"), ("FLAT", "1.00", "20"), ("PARKING_TIME", "6.00", "20")
)


async def connector_status(
    context: ServiceContext,
    station: StationRef,
    *,
    status: str,
    at: datetime,
    connector_id: int = 1,
) -> None:
    async with context.unit_of_work() as db:
        await completion.status_notification(
            db=db,
            station=station,
            connector_id=connector_id,
            status=status,
            error_code="NoError",
            timestamp=at,
            info=None,
            vendor_id=None,
            vendor_error_code=None,
            now=received_at(context, at),
        )
        await db.commit()


async def jobs_of(context: ServiceContext, kind: str) -> list[Job]:
    async with context.unit_of_work() as db:
        page = await list_jobs(db=db, kind=kind, limit=100)
        return list(page.rows)


async def stop_with(
    context: ServiceContext,
    station: StationRef,
    *,
    transaction_id: int,
    wh: int,
    at: datetime,
    reason: str | None = None,
) -> None:
    async with context.unit_of_work() as db:
        await charging.stop_transaction(
            db=db,
            station=station,
            transaction_id=transaction_id,
            meter_stop_wh=wh,
            timestamp=at,
            reason=reason,
            id_tag=None,
            transaction_data=(),
            now=received_at(context, at),
        )
        await db.commit()
