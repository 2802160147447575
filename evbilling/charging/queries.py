"""Read-side SQL for charging sessions, their meter samples and anomalies."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from evbilling.models import (
    ChargingSession,
    ConnectorStatusEvent,
    MeteringAnomaly,
    MeterValueRecord,
    Station,
)


@dataclass(frozen=True, slots=True)
class SessionFilter:
    operator_id: int
    station_id: int | None = None
    driver_id: int | None = None
    status: str | None = None
    started_from: datetime | None = None
    started_before: datetime | None = None


class SessionRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    def _filtered(self, query: Any, where: SessionFilter) -> Any:
        query = query.where(ChargingSession.operator_id == where.operator_id)
        if where.station_id is not None:
            query = query.where(ChargingSession.station_id == where.station_id)
        if where.driver_id is not None:
            query = query.where(ChargingSession.driver_id == where.driver_id)
        if where.status is not None:
            query = query.where(ChargingSession.status == where.status)
        if where.started_from is not None:
            query = query.where(ChargingSession.started_at >= where.started_from)
        if where.started_before is not None:
            query = query.where(ChargingSession.started_at < where.started_before)
        return query

    async def page(
        self, *, where: SessionFilter, limit: int, offset: int
    ) -> tuple[list[tuple[ChargingSession, str]], int]:
        total = await self._session.scalar(
            self._filtered(select(func.count()).select_from(ChargingSession), where)
        )
        query = self._filtered(
            select(ChargingSession, Station.identity).join(
                Station, Station.id == ChargingSession.station_id
            ),
            where,
        )
        rows = await self._session.execute(
            query.order_by(ChargingSession.started_at.desc(), ChargingSession.id.desc())
            .limit(limit)
            .offset(offset)
        )
        return [(row[0], row[1]) for row in rows], int(total or 0)

    async def get(self, *, operator_id: int, session_id: int) -> tuple[ChargingSession, str] | None:
        row = (
            await self._session.execute(
                select(ChargingSession, Station.identity)
                .join(Station, Station.id == ChargingSession.station_id)
                .where(ChargingSession.id == session_id, ChargingSession.operator_id == operator_id)
            )
        ).first()
        return (row[0], row[1]) if row is not None else None

    async def meter_values(self, *, session_id: int) -> list[MeterValueRecord]:
        result = await self._session.execute(
            select(MeterValueRecord)
            .where(MeterValueRecord.session_id == session_id)
            .order_by(MeterValueRecord.timestamp, MeterValueRecord.id)
        )
        return list(result.scalars())

    async def anomalies(self, *, session_id: int) -> list[MeteringAnomaly]:
        result = await self._session.execute(
            select(MeteringAnomaly)
            .where(MeteringAnomaly.session_id == session_id)
            .order_by(MeteringAnomaly.sample_timestamp, MeteringAnomaly.id)
        )
        return list(result.scalars())

    async def station_identity(self, *, operator_id: int, station_id: int) -> str | None:
        return await self._session.scalar(
            select(Station.identity).where(
                Station.id == station_id, Station.operator_id == operator_id
            )
        )


class RerateRepository:
    """Bulk reads for re-rating many sessions: one query per batch and kind of evidence."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

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
                ChargingSession.status == "completed",
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
        rows = await self._session.execute(query)
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
        connection = await self._session.connection()
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
        rows = await self._session.execute(
            select(ConnectorStatusEvent)
            .where(
                ConnectorStatusEvent.station_id.in_(station_ids),
                ConnectorStatusEvent.timestamp >= start,
                ConnectorStatusEvent.timestamp < end,
            )
            .order_by(ConnectorStatusEvent.timestamp, ConnectorStatusEvent.id)
        )
        return list(rows.scalars())
