"""Which tariff prices a charge: the first tariff in force along driver > driver's group >
EVSE > station > location > operator default, and the time zone it is rated in.

Rating sits above stations, drivers and tariffs, so it reads their repositories; the
assignments along a charge's path cost one round trip for station + location and one each for
the EVSE and the driver when given.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from evbilling.drivers.repository import DriverRepository
from evbilling.infra.validation import aware_datetime
from evbilling.kit.clock import InvalidTimestamp
from evbilling.kit.errors import NotFound
from evbilling.models import Tariff, TariffVersion
from evbilling.stations.repository import EvseRepository, StationRepository
from evbilling.tariffs.domain import loads_ocpi, parse_ocpi_datetime
from evbilling.tariffs.repository import TariffRepository


@dataclass(frozen=True, slots=True)
class TariffSnapshot:
    """The tariff version a charge is priced with; copied onto the session at its start."""

    tariff_id: int
    version: int
    name: str
    currency: str
    ocpi_json: str


@dataclass(frozen=True, slots=True)
class TariffAssignments:
    """The tariff ids assigned along a charge's path, each level possibly unset.
    `evse_found` / `driver_found` say whether the given EVSE (on that station) and driver
    (of that operator) exist at all."""

    driver: int | None
    group: int | None
    evse: int | None
    station: int | None
    location: int | None
    evse_found: bool
    driver_found: bool

    @property
    def in_precedence(self) -> list[int]:
        """The assigned tariff ids, the one that wins first."""
        levels = (self.driver, self.group, self.evse, self.station, self.location)
        return [tariff_id for tariff_id in levels if tariff_id is not None]


async def tariff_assignments(
    db: AsyncSession,
    *,
    operator_id: int,
    station_id: int,
    evse_id: int | None,
    driver_id: int | None,
) -> TariffAssignments | None:
    """None when the station is not the operator's."""
    station = await StationRepository(db).tariff_ids(operator_id=operator_id, station_id=station_id)
    if station is None:
        return None
    evse_found, evse = True, None
    if evse_id is not None:
        evse_found, evse = await EvseRepository(db).tariff_id_on(
            evse_id=evse_id, station_id=station_id
        )
    driver = None
    if driver_id is not None:
        driver = await DriverRepository(db).tariff_ids(operator_id=operator_id, driver_id=driver_id)
    return TariffAssignments(
        driver=driver[0] if driver is not None else None,
        group=driver[1] if driver is not None else None,
        evse=evse,
        station=station[0],
        location=station[1],
        evse_found=evse_found,
        driver_found=driver_id is None or driver is not None,
    )


def _in_force(version: TariffVersion, at: datetime) -> bool:
    """Whether `at` lies in the version's OCPI validity window [start_date_time, end_date_time)."""
    document: dict[str, Any] = loads_ocpi(version.ocpi_json)
    try:
        start = document.get("start_date_time")
        if start is not None and at < parse_ocpi_datetime(start):
            return False
        end = document.get("end_date_time")
        return end is None or at < parse_ocpi_datetime(end)
    except InvalidTimestamp:  # never stored: documents are validated on write
        return False


def _snapshot(row: Tariff, version: TariffVersion) -> TariffSnapshot:
    return TariffSnapshot(
        tariff_id=row.id,
        version=version.version,
        name=row.name,
        currency=row.currency,
        ocpi_json=version.ocpi_json,
    )


async def resolve_tariff(
    *,
    db: AsyncSession,
    operator_id: int,
    station_id: int,
    evse_id: int | None,
    driver_id: int | None,
    at: datetime,
) -> TariffSnapshot | None:
    """The tariff version a charge starting at `at` on this station/EVSE by this driver is
    priced with, or None when none applies.

    Precedence: driver override > driver's group > EVSE > station > location > operator
    default (as assigned now: assignments keep no history). Of each tariff, the version in
    force at `at` counts -- the latest published at or before it, so a start reported late
    (a station that was offline) gets the price of its start, not a newer one; a tariff
    published only after `at` counts with its first version. A version whose OCPI validity
    window (start_date_time inclusive, end_date_time exclusive) does not contain `at` is
    passed over for the next level."""
    moment = aware_datetime(at, field="at")
    assert moment is not None
    assignments = await tariff_assignments(
        db, operator_id=operator_id, station_id=station_id, evse_id=evse_id, driver_id=driver_id
    )
    if assignments is None:
        raise NotFound(kind="station", key=station_id)
    if not assignments.evse_found:
        raise NotFound(kind="evse", key=evse_id)
    if not assignments.driver_found:
        raise NotFound(kind="driver", key=driver_id)
    candidates = assignments.in_precedence
    tariffs = TariffRepository(db)
    rows = await tariffs.get_many(operator_id=operator_id, tariff_ids=candidates)
    default = await tariffs.default_for(operator_id=operator_id)
    if default is not None:
        rows.setdefault(default.id, default)
        candidates = [*candidates, default.id]
    versions = await tariffs.versions_at(tariff_ids=list(rows), at=moment)
    for candidate in candidates:
        row, version = rows.get(candidate), versions.get(candidate)
        if row is not None and version is not None and _in_force(version, moment):
            return _snapshot(row, version)
    return None


async def station_time_zone(*, db: AsyncSession, operator_id: int, station_id: int) -> str:
    """The IANA time zone a station's charges are rated in: its location's."""
    zone = await StationRepository(db).time_zone(operator_id=operator_id, station_id=station_id)
    if zone is None:
        raise NotFound(kind="station", key=station_id)
    return zone
