"""Charging sessions as operators read them: energy, duration, price breakdown, evidence."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from evbilling.charging.queries import SessionFilter, SessionRepository
from evbilling.infra.db.pagination import Page, PageRequest
from evbilling.kit.errors import NotFound
from evbilling.models import ChargingSession
from evbilling.money import currency_exponent


@dataclass(frozen=True, slots=True)
class SessionSummary:
    id: int
    transaction_id: int
    station_id: int
    station_identity: str
    connector_id: int
    evse_id: int | None
    driver_id: int | None
    token_id: int | None
    id_tag: str
    status: str
    authorization_status: str
    billable: bool
    started_at: datetime
    stopped_at: datetime | None
    duration_s: int | None
    meter_start_wh: int
    meter_stop_wh: int | None
    energy_wh: int | None
    stop_reason: str | None
    tariff_id: int | None
    tariff_version: int | None
    time_zone: str | None
    currency: str | None
    cost_excl_vat: Decimal | None
    cost_vat: Decimal | None
    cost_incl_vat: Decimal | None


@dataclass(frozen=True, slots=True)
class SampleView:
    timestamp: datetime
    measurand: str
    phase: str | None
    location: str | None
    context: str | None
    unit: str | None
    format: str | None
    value: str


@dataclass(frozen=True, slots=True)
class AnomalyView:
    kind: str
    detail: str
    sample_timestamp: datetime | None
    value: str | None
    detected_at: datetime


@dataclass(frozen=True, slots=True)
class SessionDetail:
    summary: SessionSummary
    cost_breakdown: dict[str, Any] | None
    meter_samples: tuple[SampleView, ...]
    anomalies: tuple[AnomalyView, ...]


def _in_minor_units(amount: Decimal | None, currency: str | None) -> Decimal | None:
    """Stored totals are rounded already; show them with the currency's decimals (6.30)."""
    if amount is None or currency is None:
        return amount
    return amount.quantize(Decimal(1).scaleb(-currency_exponent(currency)))


def _summary(row: ChargingSession, identity: str) -> SessionSummary:
    duration = (
        int((row.stopped_at - row.started_at).total_seconds())
        if row.stopped_at is not None
        else None
    )
    return SessionSummary(
        id=row.id,
        transaction_id=row.id,
        station_id=row.station_id,
        station_identity=identity,
        connector_id=row.connector_id,
        evse_id=row.evse_id,
        driver_id=row.driver_id,
        token_id=row.token_id,
        id_tag=row.id_tag,
        status=row.status,
        authorization_status=row.authorization_status,
        billable=row.billable,
        started_at=row.started_at,
        stopped_at=row.stopped_at,
        duration_s=duration,
        meter_start_wh=row.meter_start_wh,
        meter_stop_wh=row.meter_stop_wh,
        energy_wh=row.energy_wh,
        stop_reason=row.stop_reason,
        tariff_id=row.tariff_id,
        tariff_version=row.tariff_version,
        time_zone=row.time_zone,
        currency=row.currency,
        cost_excl_vat=_in_minor_units(row.cost_excl_vat, row.currency),
        cost_vat=_in_minor_units(row.cost_vat, row.currency),
        cost_incl_vat=_in_minor_units(row.cost_incl_vat, row.currency),
    )


async def list_sessions(
    *, db: AsyncSession, where: SessionFilter, page: PageRequest
) -> Page[SessionSummary]:
    rows, total = await SessionRepository(db).page(
        where=where, limit=page.limit, offset=page.offset
    )
    return Page(
        items=[_summary(row, identity) for row, identity in rows],
        total=total,
        limit=page.limit,
        offset=page.offset,
    )


async def get_session(
    *, db: AsyncSession, operator_id: int, session_id: int, with_samples: bool = True
) -> SessionDetail:
    """A session with its evidence; `with_samples=False` leaves out the meter samples (a long
    session has thousands)."""
    repo = SessionRepository(db)
    found = await repo.get(operator_id=operator_id, session_id=session_id)
    if found is None:
        raise NotFound(kind="session", key=session_id)
    row, identity = found
    readings = await repo.meter_values(session_id=row.id) if with_samples else []
    anomalies = await repo.anomalies(session_id=row.id)
    return SessionDetail(
        summary=_summary(row, identity),
        cost_breakdown=row.cost_breakdown,
        meter_samples=tuple(
            SampleView(
                timestamp=reading.timestamp,
                measurand=sampled.get("measurand", "Energy.Active.Import.Register"),
                phase=sampled.get("phase"),
                location=sampled.get("location"),
                context=sampled.get("context"),
                unit=sampled.get("unit"),
                format=sampled.get("format"),
                value=sampled["value"],
            )
            for reading in readings
            for sampled in reading.sampled_values
        ),
        anomalies=tuple(
            AnomalyView(
                kind=a.kind,
                detail=a.detail,
                sample_timestamp=a.sample_timestamp,
                value=a.value,
                detected_at=a.detected_at,
            )
            for a in anomalies
        ),
    )


async def session_cdr(*, db: AsyncSession, operator_id: int, session_id: int) -> str:
    """The priced OCPI CDR of a finished session, as stored (exact JSON text)."""
    found = await SessionRepository(db).get(operator_id=operator_id, session_id=session_id)
    if found is None or found[0].cdr is None:
        raise NotFound(kind="CDR of session", key=session_id)
    return found[0].cdr


async def station_identity(*, db: AsyncSession, operator_id: int, station_id: int) -> str:
    """The OCPP identity of an operator's station (commands address stations by it)."""
    identity = await SessionRepository(db).station_identity(
        operator_id=operator_id, station_id=station_id
    )
    if identity is None:
        raise NotFound(kind="station", key=station_id)
    return identity
