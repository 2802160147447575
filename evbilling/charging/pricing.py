"""Pricing sessions with the OCPI engine: evidence from the database -> periods -> a CDR.

A session is priced with the tariff document copied onto it when it started, in its station's
time zone; editing a tariff never changes the price of a running or finished session.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from functools import lru_cache
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from evbilling.charging.metering import (
    Reading,
    SessionEvidence,
    StatusChange,
    encode_periods,
    periods_for,
)
from evbilling.charging.repository import ChargingRepository
from evbilling.models import ChargingSession
from evbilling.rating.breakdown import breakdown_of
from evbilling.rating.engine import (
    ChargingPeriodInput,
    RatedCdr,
    rate_session,
    rated_cdr_to_ocpi,
)
from evbilling.tariffs.domain import Tariff, TariffDimensionType, dumps_ocpi, parse_tariff_json


@dataclass(frozen=True, slots=True)
class SessionCost:
    """What a session costs so far (running) or in the end (final)."""

    session_id: int
    # The station's OCPP transactionId of the session (what its display messages name).
    transaction_id: int
    # False while the session runs: the cost so far.
    final: bool
    currency: str
    at: datetime
    energy_wh: int
    total_excl_vat: Decimal
    total_incl_vat: Decimal  # = total_excl_vat where the tariff gives no VAT
    breakdown: dict[str, Any]
    rated: RatedCdr
    periods: list[ChargingPeriodInput]


@lru_cache(maxsize=256)
def bills_parking(tariff_ocpi: str) -> bool:
    """Whether a tariff document has a PARKING_TIME component (idle time costs money)."""
    return any(
        element.component(TariffDimensionType.PARKING_TIME) is not None
        for element in parse_tariff_json(tariff_ocpi).elements
    )


def priced_until(session: ChargingSession) -> datetime:
    """Where an ended session's pricing window ends: when the car left the connector
    (`occupied_until`) if its tariff bills parking time, else the stop."""
    assert session.stopped_at is not None, "only an ended session has a pricing window"
    until = session.occupied_until
    if (
        until is not None
        and until > session.stopped_at
        and session.tariff_ocpi is not None
        and bills_parking(session.tariff_ocpi)
    ):
        return until
    return session.stopped_at


async def session_evidence(
    repo: ChargingRepository,
    *,
    session: ChargingSession,
    ended_at: datetime,
    meter_end_wh: int,
    charged_until: datetime | None = None,
) -> SessionEvidence:
    """Everything a session is priced from, up to `ended_at` and the register `meter_end_wh`
    (the billed end: readings above it, or implausible for the EVSE's power, are skipped);
    with `charged_until` (the stop, before `ended_at`), idle from then on."""
    readings = await repo.readings_of(session_id=session.id)
    statuses = await repo.status_changes(
        station_id=session.station_id,
        connector_id=session.connector_id,
        start=session.started_at,
        end=ended_at,
    )
    return SessionEvidence(
        started_at=session.started_at,
        ended_at=ended_at,
        meter_start_wh=session.meter_start_wh,
        meter_end_wh=meter_end_wh,
        readings=[Reading(timestamp=at, sampled_values=values) for at, values in readings],
        statuses=[StatusChange(timestamp=at, status=status) for at, status in statuses],
        max_power_w=await repo.evse_max_power_w(session.evse_id),
        charged_until=charged_until,
    )


def rate_evidence(*, tariff: Tariff, evidence: SessionEvidence, time_zone: str) -> RatedCdr:
    return rate_session(
        tariff=tariff, periods=periods_for(evidence), end=evidence.ended_at, time_zone=time_zone
    )


async def cost_of(
    db: AsyncSession,
    *,
    session: ChargingSession,
    ended_at: datetime,
    meter_end_wh: int,
    charged_until: datetime | None = None,
) -> SessionCost | None:
    """Price a session up to `ended_at` with its own tariff (idle from `charged_until` when
    given); None when it has none."""
    if session.tariff_ocpi is None or session.time_zone is None:
        return None
    evidence = await session_evidence(
        ChargingRepository(db),
        session=session,
        ended_at=ended_at,
        meter_end_wh=meter_end_wh,
        charged_until=charged_until,
    )
    periods = periods_for(evidence)
    rated = rate_session(
        tariff=parse_tariff_json(session.tariff_ocpi),
        periods=periods,
        end=ended_at,
        time_zone=session.time_zone,
    )
    return SessionCost(
        session_id=session.id,
        transaction_id=session.transaction_id,
        final=session.stopped_at is not None,
        currency=rated.currency,
        at=ended_at,
        energy_wh=max(meter_end_wh - session.meter_start_wh, 0),
        total_excl_vat=rated.total_cost.excl_vat,
        total_incl_vat=rated.total_incl_vat,
        breakdown=breakdown_of(rated),
        rated=rated,
        periods=periods,
    )


async def final_cost(db: AsyncSession, *, session: ChargingSession) -> SessionCost | None:
    """An ended session's cost: charged to its billed register at the stop, idle from then
    until its pricing window ends (`priced_until`)."""
    assert session.stopped_at is not None, "only an ended session has a final cost"
    until = priced_until(session)
    return await cost_of(
        db,
        session=session,
        ended_at=until,
        meter_end_wh=session.meter_start_wh + (session.energy_wh or 0),
        charged_until=session.stopped_at if until > session.stopped_at else None,
    )


def record_final_cost(session: ChargingSession, cost: SessionCost) -> None:
    """Write the priced CDR onto the session (the caller flushes)."""
    session.currency = cost.currency
    session.cost_excl_vat = cost.total_excl_vat
    session.cost_incl_vat = cost.total_incl_vat
    session.cost_vat = cost.total_incl_vat - cost.total_excl_vat
    session.cost_breakdown = cost.breakdown
    session.rating_periods = encode_periods(cost.periods)
    document = rated_cdr_to_ocpi(cost.rated)
    document["id"] = str(session.id)
    session.cdr = dumps_ocpi(document)
