"""Price before charging: what a planned session at an EVSE would cost, explained."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from evbilling.drivers import service as drivers
from evbilling.kit.errors import InvalidRequest, NotFound
from evbilling.rating.breakdown import breakdown_of
from evbilling.rating.engine import (
    ChargingPeriodInput,
    PeriodKind,
    RatedCdr,
    rate_session,
)
from evbilling.rating.resolution import resolve_tariff, station_time_zone
from evbilling.rating.texts import bill_lines
from evbilling.stations import evse_service as evses
from evbilling.tariffs.domain import parse_tariff_json

MAX_QUOTE_DURATION = timedelta(days=7)
MAX_QUOTE_ENERGY_KWH = Decimal(10_000)


@dataclass(frozen=True, slots=True)
class Quote:
    evse_id: int
    tariff_id: int
    tariff_version: int
    tariff_name: str
    currency: str
    start: datetime
    duration_minutes: Decimal
    energy_kwh: Decimal
    total_excl_vat: Decimal
    total_incl_vat: Decimal
    breakdown: dict[str, Any]
    display_text: str


def display_text(*, rated: RatedCdr, alt_text: str | None) -> str:
    """The few lines a driver (or a charger's display) reads before starting, incl. VAT."""
    return "\n".join([alt_text, *bill_lines(rated)] if alt_text else bill_lines(rated))


async def quote(
    *,
    db: AsyncSession,
    operator_id: int,
    evse_id: int,
    energy_kwh: Decimal,
    duration_minutes: Decimal,
    start: datetime,
    driver_id: int | None,
    language: str = "en",
) -> Quote:
    """Charging `energy_kwh` evenly over `duration_minutes` from `start`, at the price in force
    then."""
    duration = timedelta(microseconds=int(duration_minutes * 60_000_000))
    if not Decimal(0) <= energy_kwh <= MAX_QUOTE_ENERGY_KWH:
        raise InvalidRequest(f"must be between 0 and {MAX_QUOTE_ENERGY_KWH}", field="energy_kwh")
    if not timedelta(0) < duration <= MAX_QUOTE_DURATION:
        raise InvalidRequest("must be more than 0 and at most 7 days", field="duration_minutes")
    evse = await evses.get_evse(db=db, operator_id=operator_id, evse_id=evse_id)
    if driver_id is not None:
        await drivers.get_driver(db=db, operator_id=operator_id, driver_id=driver_id)
    snapshot = await resolve_tariff(
        db=db,
        operator_id=operator_id,
        station_id=evse.station_id,
        evse_id=evse.id,
        driver_id=driver_id,
        at=start,
    )
    if snapshot is None:
        raise NotFound(kind="tariff for evse", key=evse_id)
    time_zone = await station_time_zone(db=db, operator_id=operator_id, station_id=evse.station_id)
    tariff = parse_tariff_json(snapshot.ocpi_json)
    hours = Decimal(duration.total_seconds()) / Decimal(3600)
    average_kw = energy_kwh / hours
    period = ChargingPeriodInput(
        start=start,
        kind=PeriodKind.CHARGING,
        energy_kwh=energy_kwh,
        min_power=average_kw,
        max_power=average_kw,
    )
    rated = rate_session(tariff=tariff, periods=[period], end=start + duration, time_zone=time_zone)
    alt = next((t.text for t in tariff.tariff_alt_text if t.language == language), None) or next(
        (t.text for t in tariff.tariff_alt_text), None
    )
    return Quote(
        evse_id=evse.id,
        tariff_id=snapshot.tariff_id,
        tariff_version=snapshot.version,
        tariff_name=snapshot.name,
        currency=rated.currency,
        start=start,
        duration_minutes=duration_minutes,
        energy_kwh=energy_kwh,
        total_excl_vat=rated.total_cost.excl_vat,
        total_incl_vat=rated.total_incl_vat,
        breakdown=breakdown_of(rated),
        display_text=display_text(rated=rated, alt_text=alt),
    )
