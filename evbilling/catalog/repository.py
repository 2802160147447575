"""Repositories for the operator's catalog: tariffs and their versions, locations, stations,
EVSEs, drivers and driver groups, tokens.

Every read of an operator-owned object is scoped by `operator_id`, so a caller can never load
another operator's row by guessing its id. Lists return one page plus the total count.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Generic, TypeVar

from sqlalchemy import Select, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from evbilling.kit import EVBillingError
from evbilling.models import (
    Driver,
    DriverGroup,
    Evse,
    Location,
    Operator,
    Station,
    Tariff,
    TariffVersion,
    Token,
)

Row = TypeVar("Row")


class DuplicateRow(EVBillingError):
    """A unique constraint refused the write (a concurrent insert won the race)."""


@dataclass(frozen=True, slots=True)
class RowPage(Generic[Row]):
    rows: Sequence[Row]
    total: int


async def _page(
    session: AsyncSession,
    statement: Select[Row],
    *,
    order_by: InstrumentedAttribute[int],
    limit: int,
    offset: int,
) -> RowPage[Row]:
    total = await session.scalar(select(func.count()).select_from(statement.subquery()))
    result = await session.execute(statement.order_by(order_by).limit(limit).offset(offset))
    return RowPage(rows=list(result.scalars()), total=int(total or 0))


async def _flush(session: AsyncSession) -> None:
    """Flush, turning a unique-constraint race into a named error the services can map."""
    try:
        await session.flush()
    except IntegrityError as exc:
        raise DuplicateRow(str(exc.orig)) from exc


class _Repository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def flush(self) -> None:
        await _flush(self._session)


class TariffRepository(_Repository):
    async def add(
        self,
        *,
        operator_id: int,
        name: str,
        ocpi_id: str,
        currency: str,
        ocpi_json: str,
        is_default: bool,
        now: datetime,
    ) -> Tariff:
        tariff = Tariff(
            operator_id=operator_id,
            name=name,
            ocpi_id=ocpi_id,
            currency=currency,
            ocpi_json=ocpi_json,
            is_default=is_default,
            version=1,
            created_at=now,
            updated_at=now,
        )
        self._session.add(tariff)
        await self.flush()
        return tariff

    async def add_version(
        self, *, tariff_id: int, version: int, ocpi_json: str, now: datetime
    ) -> TariffVersion:
        row = TariffVersion(
            tariff_id=tariff_id, version=version, ocpi_json=ocpi_json, created_at=now
        )
        self._session.add(row)
        await self.flush()
        return row

    async def versions(self, *, tariff_id: int) -> Sequence[TariffVersion]:
        result = await self._session.execute(
            select(TariffVersion)
            .where(TariffVersion.tariff_id == tariff_id)
            .order_by(TariffVersion.version)
        )
        return list(result.scalars())

    async def version(self, *, tariff_id: int, version: int) -> TariffVersion | None:
        result = await self._session.execute(
            select(TariffVersion).where(
                TariffVersion.tariff_id == tariff_id, TariffVersion.version == version
            )
        )
        return result.scalar_one_or_none()

    async def ocpi_id_taken(
        self, *, operator_id: int, ocpi_id: str, except_id: int | None = None
    ) -> bool:
        statement = select(Tariff.id).where(
            Tariff.operator_id == operator_id, Tariff.ocpi_id == ocpi_id
        )
        if except_id is not None:
            statement = statement.where(Tariff.id != except_id)
        return await self._session.scalar(statement) is not None

    async def get_many(self, *, operator_id: int, tariff_ids: Sequence[int]) -> dict[int, Tariff]:
        if not tariff_ids:
            return {}
        result = await self._session.execute(
            select(Tariff).where(Tariff.operator_id == operator_id, Tariff.id.in_(tariff_ids))
        )
        return {row.id: row for row in result.scalars()}

    async def get(
        self, *, operator_id: int, tariff_id: int, for_update: bool = False
    ) -> Tariff | None:
        statement = select(Tariff).where(Tariff.id == tariff_id, Tariff.operator_id == operator_id)
        if for_update:
            statement = statement.with_for_update()
        return (await self._session.execute(statement)).scalar_one_or_none()

    async def exists(self, *, operator_id: int, tariff_id: int) -> bool:
        found = await self._session.scalar(
            select(Tariff.id).where(Tariff.id == tariff_id, Tariff.operator_id == operator_id)
        )
        return found is not None

    async def list(self, *, operator_id: int, limit: int, offset: int) -> RowPage[Tariff]:
        statement = select(Tariff).where(Tariff.operator_id == operator_id)
        return await _page(self._session, statement, order_by=Tariff.id, limit=limit, offset=offset)

    async def default_for(self, *, operator_id: int) -> Tariff | None:
        result = await self._session.execute(
            select(Tariff)
            .where(Tariff.operator_id == operator_id, Tariff.is_default.is_(True))
            .order_by(Tariff.id)
            .limit(1)
        )
        return result.scalar_one_or_none()

    async def lock_defaults(self, *, operator_id: int) -> None:
        """Serialise default changes per operator (row lock on PostgreSQL; SQLite has one
        writer anyway), so two concurrent 'make default' calls cannot leave two defaults."""
        await self._session.execute(
            select(Operator.id).where(Operator.id == operator_id).with_for_update()
        )

    async def clear_default(self, *, operator_id: int, keep_id: int | None, now: datetime) -> None:
        statement = (
            update(Tariff)
            .where(Tariff.operator_id == operator_id, Tariff.is_default.is_(True))
            .values(is_default=False, updated_at=now)
            .execution_options(synchronize_session="fetch")
        )
        if keep_id is not None:
            statement = statement.where(Tariff.id != keep_id)
        await self._session.execute(statement)


class LocationRepository(_Repository):
    async def add(
        self,
        *,
        operator_id: int,
        name: str,
        address: str | None,
        city: str | None,
        postal_code: str | None,
        country: str | None,
        time_zone: str,
        tariff_id: int | None,
        now: datetime,
    ) -> Location:
        location = Location(
            operator_id=operator_id,
            name=name,
            address=address,
            city=city,
            postal_code=postal_code,
            country=country,
            time_zone=time_zone,
            tariff_id=tariff_id,
            created_at=now,
            updated_at=now,
        )
        self._session.add(location)
        await self.flush()
        return location

    async def get(
        self, *, operator_id: int, location_id: int, for_update: bool = False
    ) -> Location | None:
        statement = select(Location).where(
            Location.id == location_id, Location.operator_id == operator_id
        )
        if for_update:
            statement = statement.with_for_update()
        return (await self._session.execute(statement)).scalar_one_or_none()

    async def exists(self, *, operator_id: int, location_id: int) -> bool:
        found = await self._session.scalar(
            select(Location.id).where(
                Location.id == location_id, Location.operator_id == operator_id
            )
        )
        return found is not None

    async def list(self, *, operator_id: int, limit: int, offset: int) -> RowPage[Location]:
        statement = select(Location).where(Location.operator_id == operator_id)
        return await _page(
            self._session, statement, order_by=Location.id, limit=limit, offset=offset
        )


class StationRepository(_Repository):
    async def add(
        self,
        *,
        operator_id: int,
        location_id: int,
        identity: str,
        password_hash: str,
        tariff_id: int | None,
        pricing_display: bool,
        now: datetime,
    ) -> Station:
        station = Station(
            operator_id=operator_id,
            location_id=location_id,
            identity=identity,
            password_hash=password_hash,
            password_changed_at=now,
            tariff_id=tariff_id,
            pricing_display=pricing_display,
            created_at=now,
            updated_at=now,
        )
        self._session.add(station)
        await self.flush()
        return station

    async def get(
        self, *, operator_id: int, station_id: int, for_update: bool = False
    ) -> Station | None:
        statement = select(Station).where(
            Station.id == station_id, Station.operator_id == operator_id
        )
        if for_update:
            statement = statement.with_for_update()
        return (await self._session.execute(statement)).scalar_one_or_none()

    async def by_identity(
        self, *, identity: str, operator_id: int | None = None, for_update: bool = False
    ) -> Station | None:
        """Identities are unique across operators (they name the WebSocket URL); the OCPP edge
        looks a station up without an operator, the operator's tools with one."""
        statement = select(Station).where(Station.identity == identity)
        if operator_id is not None:
            statement = statement.where(Station.operator_id == operator_id)
        if for_update:
            statement = statement.with_for_update()
        return (await self._session.execute(statement)).scalar_one_or_none()

    async def time_zone(self, *, operator_id: int, station_id: int) -> str | None:
        """The IANA time zone of the station's location; None when no such station."""
        found: str | None = await self._session.scalar(
            select(Location.time_zone)
            .join(Station, Station.location_id == Location.id)
            .where(Station.id == station_id, Station.operator_id == operator_id)
        )
        return found

    async def identity_taken(self, *, identity: str) -> bool:
        found = await self._session.scalar(select(Station.id).where(Station.identity == identity))
        return found is not None

    async def list(
        self, *, operator_id: int, location_id: int | None, limit: int, offset: int
    ) -> RowPage[Station]:
        statement = select(Station).where(Station.operator_id == operator_id)
        if location_id is not None:
            statement = statement.where(Station.location_id == location_id)
        return await _page(
            self._session, statement, order_by=Station.id, limit=limit, offset=offset
        )


class EvseRepository(_Repository):
    async def add(
        self,
        *,
        station_id: int,
        connector_id: int,
        max_power_w: int,
        uid: str | None,
        connector_standard: str | None,
        power_type: str | None,
        tariff_id: int | None,
        now: datetime,
    ) -> Evse:
        evse = Evse(
            station_id=station_id,
            connector_id=connector_id,
            max_power_w=max_power_w,
            uid=uid,
            connector_standard=connector_standard,
            power_type=power_type,
            tariff_id=tariff_id,
            created_at=now,
            updated_at=now,
        )
        self._session.add(evse)
        await self.flush()
        return evse

    async def get(self, *, operator_id: int, evse_id: int, for_update: bool = False) -> Evse | None:
        """EVSEs belong to the operator that owns their station."""
        statement = (
            select(Evse)
            .join(Station, Station.id == Evse.station_id)
            .where(Evse.id == evse_id, Station.operator_id == operator_id)
        )
        if for_update:
            statement = statement.with_for_update(of=Evse)
        return (await self._session.execute(statement)).scalar_one_or_none()

    async def by_connector(self, *, station_id: int, connector_id: int) -> Evse | None:
        result = await self._session.execute(
            select(Evse).where(Evse.station_id == station_id, Evse.connector_id == connector_id)
        )
        return result.scalar_one_or_none()

    async def uid_taken(self, *, uid: str, except_id: int | None = None) -> bool:
        statement = select(Evse.id).where(Evse.uid == uid)
        if except_id is not None:
            statement = statement.where(Evse.id != except_id)
        return await self._session.scalar(statement) is not None

    async def highest_connector_id(self, *, station_id: int) -> int:
        found = await self._session.scalar(
            select(func.max(Evse.connector_id)).where(Evse.station_id == station_id)
        )
        return int(found or 0)

    async def list_for_station(self, *, station_id: int, limit: int, offset: int) -> RowPage[Evse]:
        statement = select(Evse).where(Evse.station_id == station_id)
        return await _page(
            self._session, statement, order_by=Evse.connector_id, limit=limit, offset=offset
        )

    async def for_stations(self, *, station_ids: Sequence[int]) -> dict[int, list[Evse]]:
        """All EVSEs of several stations in one query (station pages show their EVSEs)."""
        grouped: dict[int, list[Evse]] = {station_id: [] for station_id in station_ids}
        if not station_ids:
            return grouped
        result = await self._session.execute(
            select(Evse)
            .where(Evse.station_id.in_(station_ids))
            .order_by(Evse.station_id, Evse.connector_id)
        )
        for evse in result.scalars():
            grouped[evse.station_id].append(evse)
        return grouped


class DriverRepository(_Repository):
    async def add(
        self,
        *,
        operator_id: int,
        name: str,
        email: str | None,
        tariff_id: int | None,
        group_id: int | None,
        now: datetime,
    ) -> Driver:
        driver = Driver(
            operator_id=operator_id,
            name=name,
            email=email,
            tariff_id=tariff_id,
            group_id=group_id,
            created_at=now,
            updated_at=now,
        )
        self._session.add(driver)
        await self.flush()
        return driver

    async def get(
        self, *, operator_id: int, driver_id: int, for_update: bool = False
    ) -> Driver | None:
        statement = select(Driver).where(Driver.id == driver_id, Driver.operator_id == operator_id)
        if for_update:
            statement = statement.with_for_update()
        return (await self._session.execute(statement)).scalar_one_or_none()

    async def exists(self, *, operator_id: int, driver_id: int) -> bool:
        found = await self._session.scalar(
            select(Driver.id).where(Driver.id == driver_id, Driver.operator_id == operator_id)
        )
        return found is not None

    async def list(self, *, operator_id: int, limit: int, offset: int) -> RowPage[Driver]:
        statement = select(Driver).where(Driver.operator_id == operator_id)
        return await _page(self._session, statement, order_by=Driver.id, limit=limit, offset=offset)


class DriverGroupRepository(_Repository):
    async def add(
        self, *, operator_id: int, name: str, tariff_id: int | None, now: datetime
    ) -> DriverGroup:
        group = DriverGroup(
            operator_id=operator_id,
            name=name,
            tariff_id=tariff_id,
            created_at=now,
            updated_at=now,
        )
        self._session.add(group)
        await self.flush()
        return group

    async def get(
        self, *, operator_id: int, group_id: int, for_update: bool = False
    ) -> DriverGroup | None:
        statement = select(DriverGroup).where(
            DriverGroup.id == group_id, DriverGroup.operator_id == operator_id
        )
        if for_update:
            statement = statement.with_for_update()
        return (await self._session.execute(statement)).scalar_one_or_none()

    async def exists(self, *, operator_id: int, group_id: int) -> bool:
        found = await self._session.scalar(
            select(DriverGroup.id).where(
                DriverGroup.id == group_id, DriverGroup.operator_id == operator_id
            )
        )
        return found is not None

    async def list(self, *, operator_id: int, limit: int, offset: int) -> RowPage[DriverGroup]:
        statement = select(DriverGroup).where(DriverGroup.operator_id == operator_id)
        return await _page(
            self._session, statement, order_by=DriverGroup.id, limit=limit, offset=offset
        )


class TokenRepository(_Repository):
    async def add(
        self,
        *,
        operator_id: int,
        uid: str,
        type: str,
        status: str,
        driver_id: int | None,
        parent_id_tag: str | None,
        expires_at: datetime | None,
        now: datetime,
    ) -> Token:
        token = Token(
            operator_id=operator_id,
            uid=uid,
            type=type,
            status=status,
            driver_id=driver_id,
            parent_id_tag=parent_id_tag,
            expires_at=expires_at,
            created_at=now,
            updated_at=now,
        )
        self._session.add(token)
        await self.flush()
        return token

    async def get(
        self, *, operator_id: int, token_id: int, for_update: bool = False
    ) -> Token | None:
        statement = select(Token).where(Token.id == token_id, Token.operator_id == operator_id)
        if for_update:
            statement = statement.with_for_update()
        return (await self._session.execute(statement)).scalar_one_or_none()

    async def by_uid(self, *, operator_id: int, uid: str) -> Token | None:
        """`uid` must already be normalised (upper-case), as stored."""
        result = await self._session.execute(
            select(Token).where(Token.operator_id == operator_id, Token.uid == uid)
        )
        return result.scalar_one_or_none()

    async def list(
        self,
        *,
        operator_id: int,
        driver_id: int | None,
        status: str | None,
        uid: str | None,
        limit: int,
        offset: int,
    ) -> RowPage[Token]:
        statement = select(Token).where(Token.operator_id == operator_id)
        if driver_id is not None:
            statement = statement.where(Token.driver_id == driver_id)
        if status is not None:
            statement = statement.where(Token.status == status)
        if uid is not None:
            statement = statement.where(Token.uid == uid)
        return await _page(self._session, statement, order_by=Token.id, limit=limit, offset=offset)


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


async def tariff_assignments(
    session: AsyncSession,
    *,
    operator_id: int,
    station_id: int,
    evse_id: int | None,
    driver_id: int | None,
) -> TariffAssignments | None:
    """One round trip for station + location, one each for EVSE and driver when given.
    None when the station is not the operator's."""
    row = (
        await session.execute(
            select(Station.tariff_id, Location.tariff_id)
            .join(Location, Location.id == Station.location_id)
            .where(Station.id == station_id, Station.operator_id == operator_id)
        )
    ).one_or_none()
    if row is None:
        return None
    evse_row = None
    if evse_id is not None:
        evse_row = (
            await session.execute(
                select(Evse.tariff_id).where(Evse.id == evse_id, Evse.station_id == station_id)
            )
        ).one_or_none()
    driver_row = None
    if driver_id is not None:
        driver_row = (
            await session.execute(
                select(Driver.tariff_id, DriverGroup.tariff_id)
                .outerjoin(DriverGroup, DriverGroup.id == Driver.group_id)
                .where(Driver.id == driver_id, Driver.operator_id == operator_id)
            )
        ).one_or_none()
    return TariffAssignments(
        driver=driver_row[0] if driver_row is not None else None,
        group=driver_row[1] if driver_row is not None else None,
        evse=evse_row[0] if evse_row is not None else None,
        station=row[0],
        location=row[1],
        evse_found=evse_id is None or evse_row is not None,
        driver_found=driver_id is None or driver_row is not None,
    )
