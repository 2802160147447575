"""Pricing what-if: past sessions priced under a proposed tariff, revenue per station.

Re-rating never changes a billed session; it reports what the proposed tariff would have
earned from the same evidence (meter readings and status history) next to what was billed.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from evbilling.charging.metering import Reading, SessionEvidence, StatusChange, decode_periods
from evbilling.charging.pricing import priced_until, rate_evidence
from evbilling.charging.read_repository import RerateRepository
from evbilling.kit.errors import InvalidRequest
from evbilling.rating.engine import rate_session
from evbilling.tariffs.domain import InvalidTariff, parse_tariff

BATCH = 500
# Status changes shortly before a session started can still describe its first minutes.
_STATUS_LOOKBACK = timedelta(days=1)


@dataclass(slots=True)
class StationRevenue:
    station_id: int
    station_identity: str
    sessions: int = 0
    billed_excl_vat: Decimal = Decimal(0)
    proposed_excl_vat: Decimal = Decimal(0)
    billed_incl_vat: Decimal = Decimal(0)
    proposed_incl_vat: Decimal | None = Decimal(0)

    @property
    def difference_excl_vat(self) -> Decimal:
        return self.proposed_excl_vat - self.billed_excl_vat


@dataclass(slots=True)
class RerateReport:
    currency: str
    started_from: datetime
    started_before: datetime
    sessions: int = 0
    skipped: dict[str, int] = field(default_factory=dict)
    stations: list[StationRevenue] = field(default_factory=list)

    def totals(self) -> dict[str, Any]:
        billed = sum((s.billed_excl_vat for s in self.stations), Decimal(0))
        proposed = sum((s.proposed_excl_vat for s in self.stations), Decimal(0))
        return {
            "sessions": self.sessions,
            "billed_excl_vat": billed,
            "proposed_excl_vat": proposed,
            "difference_excl_vat": proposed - billed,
        }


async def rerate(
    *,
    db: AsyncSession,
    operator_id: int,
    tariff_document: dict[str, Any],
    started_from: datetime,
    started_before: datetime,
    station_id: int | None = None,
) -> RerateReport:
    try:
        tariff = parse_tariff(tariff_document)
    except InvalidTariff as exc:
        raise InvalidRequest(str(exc), field="tariff") from exc
    if started_before <= started_from:
        raise InvalidRequest("the period must end after it starts", field="to")
    report = RerateReport(
        currency=tariff.currency, started_from=started_from, started_before=started_before
    )
    repo = RerateRepository(db)
    per_station: dict[int, StationRevenue] = {}
    skipped: defaultdict[str, int] = defaultdict(int)
    after_id = 0
    while True:
        batch = await repo.completed_batch(
            operator_id=operator_id,
            started_from=started_from,
            started_before=started_before,
            station_id=station_id,
            after_id=after_id,
            limit=BATCH,
        )
        if not batch:
            break
        after_id = batch[-1][0].id
        # Sessions keep the periods they were rated from; older ones are rebuilt from readings.
        legacy = [row for row, _ in batch if row.rating_periods is None]
        readings = await repo.readings([row.id for row in legacy])
        changes = (
            await repo.status_changes(
                station_ids=sorted({row.station_id for row in legacy}),
                start=min(row.started_at for row in legacy) - _STATUS_LOOKBACK,
                end=max(row.stopped_at or row.started_at for row in legacy),
            )
            if legacy
            else []
        )
        by_connector: defaultdict[tuple[int, int], list[StatusChange]] = defaultdict(list)
        for change in changes:
            by_connector[(change.station_id, change.connector_id)].append(
                StatusChange(timestamp=change.timestamp, status=change.status)
            )
        for row, identity in batch:
            if row.currency != tariff.currency or row.cost_excl_vat is None:
                skipped["other currency or not priced"] += 1
                continue
            if row.stopped_at is None or row.meter_stop_wh is None or row.time_zone is None:
                skipped["incomplete evidence"] += 1
                continue
            if row.rating_periods is not None:
                rated = rate_session(
                    tariff=tariff,
                    periods=decode_periods(row.rating_periods),
                    # The window they were rated over: to when the car left, when idle
                    # time until then was priced.
                    end=priced_until(row),
                    time_zone=row.time_zone,
                )
            else:
                evidence = SessionEvidence(
                    started_at=row.started_at,
                    ended_at=row.stopped_at,
                    meter_start_wh=row.meter_start_wh,
                    # What it was billed up to: meterStop only when that was plausible.
                    meter_end_wh=row.meter_start_wh + (row.energy_wh or 0),
                    readings=[
                        Reading(timestamp=at, sampled_values=values)
                        for at, values in readings[row.id]
                    ],
                    statuses=[
                        s
                        for s in by_connector[(row.station_id, row.connector_id)]
                        if s.timestamp < row.stopped_at
                    ],
                )
                rated = rate_evidence(tariff=tariff, evidence=evidence, time_zone=row.time_zone)
            revenue = per_station.setdefault(
                row.station_id,
                StationRevenue(station_id=row.station_id, station_identity=identity),
            )
            revenue.sessions += 1
            revenue.billed_excl_vat += row.cost_excl_vat
            revenue.proposed_excl_vat += rated.total_cost.excl_vat
            revenue.billed_incl_vat += row.cost_incl_vat or Decimal(0)
            proposed_incl = rated.total_cost.incl_vat
            revenue.proposed_incl_vat = (
                None
                if proposed_incl is None or revenue.proposed_incl_vat is None
                else revenue.proposed_incl_vat + proposed_incl
            )
            report.sessions += 1
    report.stations = sorted(per_station.values(), key=lambda s: s.station_identity)
    report.skipped = dict(skipped)
    return report
