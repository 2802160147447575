"""The SQL of stations and their EVSEs. Station reads are scoped to the operator; an EVSE
belongs to the operator that owns its station."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, Select, func, select, update

from evbilling.infra.db.repository import OffsetPage, RepositoryBase, paginate_offset
from evbilling.models import Evse, Location, Station


class StationRepository(RepositoryBase[Station]):
    model = Station

    async def by_identity(
        self, *, identity: str, operator_id: int | None = None, for_update: bool = False
    ) -> Station | None:
        """Identities are unique across operators (they name the WebSocket URL); the OCPP edge
        looks a station up without an operator, the operator's tools with one."""
        statement = self.select_owned(owner_id=operator_id).where(Station.identity == identity)
        if for_update:
            statement = statement.with_for_update()
        row: Station | None = (await self.db.execute(statement)).scalar_one_or_none()
        return row

    async def promote_pending_password(
        self, *, station_id: int, pending_hash: str, now: datetime
    ) -> bool:
        """Make the pending password the current one, if it is still the pending one (a
        rotation since may have replaced it). True when the station's current password is
        that one now, whether this call or a concurrent login promoted it."""
        promoted = cast(
            CursorResult[Any],
            await self.db.execute(
                update(Station)
                .where(Station.id == station_id, Station.pending_password_hash == pending_hash)
                .values(
                    password_hash=pending_hash,
                    pending_password_hash=None,
                    password_changed_at=now,
                    updated_at=now,
                )
                .execution_options(synchronize_session=False)
            ),
        )
        if promoted.rowcount == 1:
            return True
        current = await self.db.scalar(
            select(Station.password_hash).where(Station.id == station_id)
        )
        return current == pending_hash

    async def identity_taken(self, *, identity: str) -> bool:
        return (
            await self.db.scalar(select(Station.id).where(Station.identity == identity)) is not None
        )

    async def list(
        self, *, operator_id: int, location_id: int | None, limit: int, offset: int
    ) -> OffsetPage[Station]:
        statement = self.select_owned(owner_id=operator_id)
        if location_id is not None:
            statement = statement.where(Station.location_id == location_id)
        return await self.page(statement, limit=limit, offset=offset)

    async def time_zone(self, *, operator_id: int, station_id: int) -> str | None:
        """The IANA time zone of the station's location; None when no such station."""
        found: str | None = await self.db.scalar(
            select(Location.time_zone)
            .join(Station, Station.location_id == Location.id)
            .where(Station.id == station_id, Station.operator_id == operator_id)
        )
        return found

    async def tariff_ids(
        self, *, operator_id: int, station_id: int
    ) -> tuple[int | None, int | None] | None:
        """The tariffs assigned to the station and to its location; None when no such
        station."""
        row = (
            await self.db.execute(
                select(Station.tariff_id, Location.tariff_id)
                .join(Location, Location.id == Station.location_id)
                .where(Station.id == station_id, Station.operator_id == operator_id)
            )
        ).one_or_none()
        return None if row is None else (row[0], row[1])


class EvseRepository(RepositoryBase[Evse]):
    model = Evse
    kind = "evse"
    owner_column = None  # owned through the station

    def select_owned(self, *, owner_id: int | None) -> Select[Any]:
        statement: Select[Any] = select(Evse)
        if owner_id is not None:
            statement = statement.join(Station, Station.id == Evse.station_id).where(
                Station.operator_id == owner_id
            )
        return statement

    async def get_for_update(self, *, id: int, owner_id: int | None = None) -> Evse | None:
        # Lock the EVSE only, not the station row the ownership check joins.
        statement = self.select_owned(owner_id=owner_id).where(Evse.id == id)
        row: Evse | None = (
            await self.db.execute(statement.with_for_update(of=Evse))
        ).scalar_one_or_none()
        return row

    async def by_connector(self, *, station_id: int, connector_id: int) -> Evse | None:
        result = await self.db.execute(
            select(Evse).where(Evse.station_id == station_id, Evse.connector_id == connector_id)
        )
        return result.scalar_one_or_none()

    async def uid_taken(self, *, uid: str, except_id: int | None = None) -> bool:
        statement = select(Evse.id).where(Evse.uid == uid)
        if except_id is not None:
            statement = statement.where(Evse.id != except_id)
        return await self.db.scalar(statement) is not None

    async def highest_connector_id(self, *, station_id: int) -> int:
        found = await self.db.scalar(
            select(func.max(Evse.connector_id)).where(Evse.station_id == station_id)
        )
        return int(found or 0)

    async def list_for_station(
        self, *, station_id: int, limit: int, offset: int
    ) -> OffsetPage[Evse]:
        # Ordered as the station numbers them, not by id.
        return await paginate_offset(
            self.db,
            select(Evse).where(Evse.station_id == station_id),
            order_by=Evse.connector_id,
            limit=limit,
            offset=offset,
        )

    async def for_stations(self, *, station_ids: Sequence[int]) -> dict[int, list[Evse]]:
        """All EVSEs of several stations in one query (station pages show their EVSEs)."""
        grouped: dict[int, list[Evse]] = {station_id: [] for station_id in station_ids}
        if not station_ids:
            return grouped
        result = await self.db.execute(
            select(Evse)
            .where(Evse.station_id.in_(station_ids))
            .order_by(Evse.station_id, Evse.connector_id)
        )
        for evse in result.scalars():
            grouped[evse.station_id].append(evse)
        return grouped

    async def tariff_id_on(self, *, evse_id: int, station_id: int) -> tuple[bool, int | None]:
        """(whether the EVSE is one of this station's, its tariff)."""
        row = (
            await self.db.execute(
                select(Evse.tariff_id).where(Evse.id == evse_id, Evse.station_id == station_id)
            )
        ).one_or_none()
        return (row is not None, None if row is None else row[0])
