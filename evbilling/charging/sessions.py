"""Charging sessions as operators read them: energy, duration, price breakdown, evidence.

Sessions grow without bound, so the list pages by keyset (`after` the last id seen, newest
first); offset pages with a total stay for small result sets.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from evbilling.charging.read_repository import SessionFilter, SessionRepository
from evbilling.charging.schemas import (
    MeterReadingPage,
    MeterReadingRead,
    MeterSampleRead,
    SessionDetailRead,
    SessionPage,
    SessionRead,
)
from evbilling.kit.errors import InvalidRequest, NotFound


async def list_sessions(
    *,
    db: AsyncSession,
    where: SessionFilter,
    limit: int = 50,
    offset: int = 0,
    after: int | None = None,
) -> SessionPage:
    """Newest first. With `after`, the page after that session id (no total: counting a
    growing table costs as much as reading it); otherwise `offset` rows in, with the total."""
    repo = SessionRepository(db)
    if after is not None:
        if offset:
            raise InvalidRequest("use either after or offset, not both", field="offset")
        keyset = await repo.after(where=where, limit=limit, after=after)
        return SessionPage(
            items=[SessionRead.model_validate(row) for row in keyset.rows],
            total=None,
            limit=limit,
            offset=0,
            next_after=keyset.next_after,
        )
    page = await repo.offset_page(where=where, limit=limit, offset=offset)
    more = offset + len(page.rows) < page.total
    return SessionPage(
        items=[SessionRead.model_validate(row) for row in page.rows],
        total=page.total,
        limit=limit,
        offset=offset,
        next_after=page.rows[-1].id if more and page.rows else None,
    )


async def get_session(
    *, db: AsyncSession, operator_id: int, session_id: int, with_samples: bool = True
) -> SessionDetailRead:
    """A session with its evidence; `with_samples=False` leaves out the meter samples (a long
    session has thousands)."""
    repo = SessionRepository(db)
    row = await repo.read(operator_id=operator_id, session_id=session_id)
    if row is None:
        raise NotFound(kind="session", key=session_id)
    readings = await repo.meter_values(session_id=session_id) if with_samples else []
    samples = [
        MeterSampleRead.model_validate({"timestamp": reading.timestamp, **sampled})
        for reading in readings
        for sampled in reading.sampled_values
    ]
    return SessionDetailRead.model_validate(
        {
            **row._asdict(),
            "meter_samples": samples,
            "anomalies": await repo.anomalies(session_id=session_id),
        }
    )


async def list_meter_readings(
    *, db: AsyncSession, operator_id: int, session_id: int, limit: int, after: int | None
) -> MeterReadingPage:
    """A session's meter readings page by page (keyset: `after` the last reading id seen), for
    sessions too long to read in one response."""
    repo = SessionRepository(db)
    if await repo.read(operator_id=operator_id, session_id=session_id) is None:
        raise NotFound(kind="session", key=session_id)
    page = await repo.meter_value_page(session_id=session_id, limit=limit, after=after)
    items = [
        MeterReadingRead(
            id=row.id,
            connector_id=row.connector_id,
            timestamp=row.timestamp,
            received_at=row.received_at,
            sampled_values=[
                MeterSampleRead.model_validate({"timestamp": row.timestamp, **sampled})
                for sampled in row.sampled_values
            ],
        )
        for row in page.rows
    ]
    return MeterReadingPage(items=items, limit=limit, next_after=page.next_after)


async def session_cdr(*, db: AsyncSession, operator_id: int, session_id: int) -> str:
    """The priced OCPI CDR of a finished session, as stored (exact JSON text)."""
    found = await SessionRepository(db).get(id=session_id, owner_id=operator_id)
    if found is None or found.cdr is None:
        raise NotFound(kind="CDR of session", key=session_id)
    return found.cdr


async def station_identity(*, db: AsyncSession, operator_id: int, station_id: int) -> str:
    """The OCPP identity of an operator's station (commands address stations by it)."""
    identity = await SessionRepository(db).station_identity(
        operator_id=operator_id, station_id=station_id
    )
    if identity is None:
        raise NotFound(kind="station", key=station_id)
    return identity
