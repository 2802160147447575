"""Read-side SQL for charging sessions, their meter samples and anomalies, and re-rating."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Row, Select, func, select
from sqlalchemy.orm import Bundle

from evbilling.charging.domain import ENDED_STATUSES
from evbilling.infra.db.repository import KeysetPage, OffsetPage, RepositoryBase, paginate_keyset
from evbilling.models import (
    ChargingSession,
    ConnectorStatusEvent,
    MeteringAnomaly,
    MeterValueRecord,
    Station,
)

# A session as operators read it: its columns and its station's OCPP identity, as one flat
# row. The tariff document, the CDR and the rating periods are left out (they can be large;
# they have their own reads).
_LEFT_OUT = frozenset({"tariff_ocpi", "cdr", "rating_periods"})
_READ_SESSION: Bundle[Any] = Bundle(
    "session",
    *(column for column in ChargingSession.__table__.c if column.key not in _LEFT_OUT),
    Station.identity.label("station_identity"),
    single_entity=True,
)


@dataclass(frozen=True, slots=True)
class SessionFilter:
    operator_id: int
    station_id: int | None = None
    driver_id: int | None = None
    status: str | None = None
    pricing_status: str | None = None
    started_from: datetime | None = None
    started_before: datetime | None = None


class SessionRepository(RepositoryBase[ChargingSession]):
    model = ChargingSession
    kind = "session"

    def _read(self, where: SessionFilter) -> Select[Any]:
        query = (
            select(_READ_SESSION)
            .select_from(ChargingSession)
            .join(Station, Station.id == ChargingSession.station_id)
            .where(ChargingSession.operator_id == where.operator_id)
        )
        if where.station_id is not None:
            query = query.where(ChargingSession.station_id == where.station_id)
        if where.driver_id is not None:
            query = query.where(ChargingSession.driver_id == where.driver_id)
        if where.status is not None:
            query = query.where(ChargingSession.status == where.status)
        if where.pricing_status is not None:
            query = query.where(ChargingSession.pricing_status == where.pricing_status)
        if where.started_from is not None:
            query = query.where(ChargingSession.started_at >= where.started_from)
        if where.started_before is not None:
            query = query.where(ChargingSession.started_at < where.started_before)
        return query

    async def after(
        self, *, where: SessionFilter, limit: int, after: int | None
    ) -> KeysetPage[Row[Any]]:
        """Newest first (highest transaction id), the page after the id `after`."""
        return await paginate_keyset(
            self.db, self._read(where), key=ChargingSession.id, limit=limit, after=after
        )

    async def offset_page(
        self, *, where: SessionFilter, limit: int, offset: int
    ) -> OffsetPage[Row[Any]]:
        """Newest first, skipping `offset` rows, with the total; the same order as `after`."""
        statement = self._read(where)
        total = await self.db.scalar(select(func.count()).select_from(statement.subquery()))
        rows = await self.db.execute(
            statement.order_by(ChargingSession.id.desc()).limit(limit).offset(offset)
        )
        return OffsetPage(
            rows=list(rows.scalars()), total=int(total or 0), limit=limit, offset=offset
        )

    async def read(self, *, operator_id: int, session_id: int) -> Row[Any] | None:
        statement = self._read(SessionFilter(operator_id=operator_id)).where(
            ChargingSession.id == session_id
        )
        row: Row[Any] | None = (await self.db.execute(statement)).scalar_one_or_none()
        return row

    async def meter_values(self, *, session_id: int) -> list[MeterValueRecord]:
        result = await self.db.execute(
            select(MeterValueRecord)
            .where(MeterValueRecord.session_id == session_id)
            .order_by(MeterValueRecord.timestamp, MeterValueRecord.id)
        )
        return list(result.scalars())

    async def meter_value_page(
        self, *, session_id: int, limit: int, after: int | None
    ) -> KeysetPage[MeterValueRecord]:
        """A session's readings in the order they were stored, `after` the last id seen."""
        statement = select(MeterValueRecord).where(MeterValueRecord.session_id == session_id)
        return await paginate_keyset(
            self.db,
            statement,
            key=MeterValueRecord.id,
            limit=limit,
            after=after,
            descending=False,
        )

    async def anomalies(self, *, session_id: int) -> list[MeteringAnomaly]:
        result = await self.db.execute(
            select(MeteringAnomaly)
            .where(MeteringAnomaly.session_id == session_id)
            .order_by(MeteringAnomaly.sample_timestamp, MeteringAnomaly.id)
        )
        return list(result.scalars())

    async def station_identity(self, *, operator_id: int, station_id: int) -> str | None:
        return await self.db.scalar(
            select(Station.identity).where(
                Station.id == station_id, Station.operator_id == operator_id
            )
        )


class RerateRepository(RepositoryBase[ChargingSession]):
    """Bulk reads for re-rating many sessions: one query per batch and kind of evidence."""

    model = ChargingSession

    async def completed_batch(
        self,
        *,
        operator_id: int,
        started_from: datetime,
        started_before: datetime,
        station_id: int | None,
        after_id: int,
        limit: int,
    ) -> list[tuple[ChargingSession, str]]:
        query = (
            select(ChargingSession, Station.identity)
            .join(Station, Station.id == ChargingSession.station_id)
            .where(
                ChargingSession.operator_id == operator_id,
                ChargingSession.status.in_(sorted(ENDED_STATUSES)),
                ChargingSession.billable.is_(True),
                ChargingSession.started_at >= started_from,
                ChargingSession.started_at < started_before,
                ChargingSession.id > after_id,
            )
            .order_by(ChargingSession.id)
            .limit(limit)
        )
        if station_id is not None:
            query = query.where(ChargingSession.station_id == station_id)
        rows = await self.db.execute(query)
        return [(row[0], row[1]) for row in rows]

    async def readings(
        self, session_ids: list[int]
    ) -> dict[int, list[tuple[datetime, list[dict[str, str]]]]]:
        """(timestamp, sampled values) of each session's readings, in time order."""
        found: dict[int, list[tuple[datetime, list[dict[str, str]]]]] = {
            session_id: [] for session_id in session_ids
        }
        if not session_ids:
            return found
        values = MeterValueRecord.__table__.c
        connection = await self.db.connection()
        rows = await connection.execute(
            select(values.session_id, values.timestamp, values.sampled_values)
            .where(values.session_id.in_(session_ids))
            .order_by(values.timestamp, values.id)
        )
        for session_id, timestamp, sampled_values in rows:
            found[session_id].append((timestamp, sampled_values))
        return found

    async def status_changes(
        self, *, station_ids: list[int], start: datetime, end: datetime
    ) -> list[ConnectorStatusEvent]:
        if not station_ids:
            return []
        rows = await self.db.execute(
            select(ConnectorStatusEvent)
            .where(
                ConnectorStatusEvent.station_id.in_(station_ids),
                ConnectorStatusEvent.timestamp >= start,
                ConnectorStatusEvent.timestamp < end,
            )
            .order_by(ConnectorStatusEvent.timestamp, ConnectorStatusEvent.id)
        )
        return list(rows.scalars())
