"""SQL for the charging hot path: what OCPP messages read and write."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from evbilling.infra.db.deferred import defer_rows, deferred_rows, flush_deferred
from evbilling.infra.db.repository import RepositoryBase
from evbilling.models import (
    ChargingSession,
    ConnectorStatusEvent,
    Evse,
    MeteringAnomaly,
    MeterValueRecord,
    Station,
    Token,
)


@dataclass(frozen=True, slots=True)
class StationLogin:
    id: int
    operator_id: int
    identity: str
    password_hash: str | None
    pricing_display: bool


@dataclass(frozen=True, slots=True)
class OpenSession:
    id: int
    station_id: int
    connector_id: int
    status: str
    billable: bool
    meter_start_wh: int
    last_register_wh: int | None
    last_register_at: datetime | None
    max_power_w: int


class ChargingRepository(RepositoryBase[ChargingSession]):
    model = ChargingSession

    @property
    def _dialect(self) -> str:
        return self.db.get_bind().dialect.name

    async def station_login(self, identity: str) -> StationLogin | None:
        row = (
            await self.db.execute(
                select(
                    Station.id,
                    Station.operator_id,
                    Station.identity,
                    Station.password_hash,
                    Station.pricing_display,
                ).where(Station.identity == identity)
            )
        ).first()
        if row is None:
            return None
        return StationLogin(
            id=row.id,
            operator_id=row.operator_id,
            identity=row.identity,
            password_hash=row.password_hash,
            pricing_display=row.pricing_display,
        )

    async def station(self, station_id: int) -> Station | None:
        return await self.db.get(Station, station_id)

    async def touch_heartbeat(self, *, station_id: int, now: datetime) -> None:
        # Core on the connection (no ORM statement: deferred readings stay deferred).
        connection = await self.db.connection()
        await connection.execute(_TOUCH_HEARTBEAT, {"station_id": station_id, "now": now})

    async def evse(self, *, station_id: int, connector_id: int) -> Evse | None:
        result = await self.db.execute(
            select(Evse).where(Evse.station_id == station_id, Evse.connector_id == connector_id)
        )
        return result.scalar_one_or_none()

    async def add_evse(
        self, *, station_id: int, connector_id: int, max_power_w: int, now: datetime
    ) -> Evse:
        evse = Evse(
            station_id=station_id,
            connector_id=connector_id,
            max_power_w=max_power_w,
            created_at=now,
            updated_at=now,
        )
        self.db.add(evse)
        await self.db.flush()
        return evse

    async def add_status_event(self, **values: Any) -> None:
        await self.db.execute(insert(ConnectorStatusEvent).values(**values))

    async def token(self, *, operator_id: int, uid: str) -> Token | None:
        result = await self.db.execute(
            select(Token).where(Token.operator_id == operator_id, Token.uid == uid)
        )
        return result.scalar_one_or_none()

    async def has_active_session(self, *, token_id: int) -> bool:
        count = await self.db.scalar(
            select(func.count())
            .select_from(ChargingSession)
            .where(ChargingSession.token_id == token_id, ChargingSession.status == "active")
        )
        return bool(count)

    async def session_by_start_key(self, start_key: str) -> ChargingSession | None:
        result = await self.db.execute(
            select(ChargingSession).where(ChargingSession.start_key == start_key)
        )
        return result.scalar_one_or_none()

    async def add_session(self, charging_session: ChargingSession) -> ChargingSession:
        self.db.add(charging_session)
        await self.db.flush()
        return charging_session

    async def session_of_station(
        self, *, station_id: int, session_id: int
    ) -> ChargingSession | None:
        result = await self.db.execute(
            select(ChargingSession).where(
                ChargingSession.id == session_id, ChargingSession.station_id == station_id
            )
        )
        return result.scalar_one_or_none()

    async def session(self, session_id: int) -> ChargingSession | None:
        """The session by id; no query when this unit of work has loaded it already."""
        return await self.db.get(ChargingSession, session_id)

    async def readings_of(self, *, session_id: int) -> list[tuple[datetime, list[dict[str, str]]]]:
        await flush_deferred(self.db)  # readings stored earlier in this transaction count
        connection = await self.db.connection()
        rows = await connection.execute(
            select(MeterValueRecord.timestamp, MeterValueRecord.sampled_values)
            .where(MeterValueRecord.session_id == session_id)
            .order_by(MeterValueRecord.timestamp, MeterValueRecord.id)
        )
        return [(row.timestamp, row.sampled_values) for row in rows]

    async def status_changes(
        self, *, station_id: int, connector_id: int, start: datetime, end: datetime
    ) -> list[tuple[datetime, str]]:
        """The connector's status changes during [start, end) and the one in force at start."""
        connection = await self.db.connection()
        events = ConnectorStatusEvent.__table__.c
        before = await connection.execute(
            select(events.timestamp, events.status)
            .where(
                events.station_id == station_id,
                events.connector_id == connector_id,
                events.timestamp < start,
            )
            .order_by(events.timestamp.desc(), events.id.desc())
            .limit(1)
        )
        during = await connection.execute(
            select(events.timestamp, events.status)
            .where(
                events.station_id == station_id,
                events.connector_id == connector_id,
                events.timestamp >= start,
                events.timestamp < end,
            )
            .order_by(events.timestamp, events.id)
        )
        return [(row.timestamp, row.status) for row in [*before, *during]]

    async def open_session(self, *, station_id: int, session_id: int) -> OpenSession | None:
        """The few columns MeterValues needs, with the EVSE's power limit, in one query."""
        connection = await self.db.connection()
        row = (
            await connection.execute(
                _OPEN_SESSION, {"session_id": session_id, "station_id": station_id}
            )
        ).first()
        if row is None:
            return None
        last_wh, last_at = row.last_register_wh, row.last_register_at
        # A register advanced earlier in this transaction and not written yet (deferred).
        for update_ in deferred_rows(self.db, _SET_LAST_REGISTER):
            if update_["session_id"] == session_id:
                last_wh, last_at = update_["wh"], update_["at"]
        return OpenSession(
            id=row.id,
            station_id=row.station_id,
            connector_id=row.connector_id,
            status=row.status,
            billable=row.billable,
            meter_start_wh=row.meter_start_wh,
            last_register_wh=last_wh,
            last_register_at=last_at,
            max_power_w=row.max_power_w or 0,
        )

    async def set_last_register(self, *, session_id: int, wh: int, at: datetime) -> None:
        # Deferred to the end of the transaction: one executemany for a whole group commit.
        await defer_rows(
            self.db, _SET_LAST_REGISTER, [{"session_id": session_id, "wh": wh, "at": at}]
        )

    async def add_meter_values(self, rows: Sequence[dict[str, Any]]) -> None:
        """Insert the readings not stored yet (a replay inserts nothing); deferred to the end of
        the transaction, so a group commit's readings go in one executemany."""
        await defer_rows(self.db, self._insert_ignoring(MeterValueRecord, "value_key"), rows)

    async def add_anomalies(self, rows: Sequence[dict[str, Any]]) -> None:
        if rows:
            connection = await self.db.connection()
            await connection.execute(self._insert_ignoring(MeteringAnomaly, "anomaly_key"), rows)

    def _insert_ignoring(self, model: type[Any], key: str) -> Any:
        """Insert that skips rows whose natural key exists: replays store nothing twice."""
        return _INSERT_IGNORING[(self._dialect == "postgresql", model.__tablename__)]


# Statements of the hot path, built once (SQLAlchemy then reuses their compiled form).
_SESSIONS = ChargingSession.__table__
_EVSES = Evse.__table__
_OPEN_SESSION = (
    select(
        _SESSIONS.c.id,
        _SESSIONS.c.station_id,
        _SESSIONS.c.connector_id,
        _SESSIONS.c.status,
        _SESSIONS.c.billable,
        _SESSIONS.c.meter_start_wh,
        _SESSIONS.c.last_register_wh,
        _SESSIONS.c.last_register_at,
        _EVSES.c.max_power_w,
    )
    .select_from(_SESSIONS.outerjoin(_EVSES, _EVSES.c.id == _SESSIONS.c.evse_id))
    .where(
        _SESSIONS.c.id == bindparam("session_id"),
        _SESSIONS.c.station_id == bindparam("station_id"),
    )
)
_TOUCH_HEARTBEAT = (
    update(Station)
    .where(Station.id == bindparam("station_id"))
    .values(last_heartbeat_at=bindparam("now"))
)
_SET_LAST_REGISTER = (
    update(ChargingSession)
    .where(ChargingSession.id == bindparam("session_id"))
    .values(last_register_wh=bindparam("wh"), last_register_at=bindparam("at"))
)
_INSERT_IGNORING: dict[tuple[bool, str], Any] = {
    (is_postgres, model.__tablename__): (
        pg_insert(model) if is_postgres else sqlite_insert(model)
    ).on_conflict_do_nothing(index_elements=[key])
    for is_postgres in (False, True)
    for model, key in ((MeterValueRecord, "value_key"), (MeteringAnomaly, "anomaly_key"))
}
