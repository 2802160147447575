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
    pending_password_hash: str | None
    pricing_display: bool


@dataclass(frozen=True, slots=True)
class OpenSession:
    id: int
    station_id: int
    connector_id: int
    status: str
    billable: bool
    started_at: datetime
    stopped_at: datetime | None
    meter_start_wh: int
    last_register_wh: int | None
    last_register_at: datetime | None
    last_register_resolution_wh: int | None
    max_power_w: int
    # Set by payments: charging enforces it on every MeterValues (no extra query without).
    spending_limit_minor: int | None = None
    limit_reached_at: datetime | None = None


class ChargingRepository(RepositoryBase[ChargingSession]):
    model = ChargingSession
    kind = "session"

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
                    Station.pending_password_hash,
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
            pending_password_hash=row.pending_password_hash,
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

    async def next_transaction_id(self, *, station_id: int) -> int | None:
        """The station's next OCPP transactionId, counted in its row: the UPDATE locks the row
        on PostgreSQL (and SQLite has one writer), so no two starts get the same id. None when
        the station no longer exists."""
        counted = await self.db.scalar(
            update(Station)
            .where(Station.id == station_id)
            .values(last_transaction_id=Station.last_transaction_id + 1)
            .returning(Station.last_transaction_id)
        )
        return None if counted is None else int(counted)

    async def active_on_connector(
        self, *, station_id: int, connector_id: int
    ) -> ChargingSession | None:
        """The connector's active session (at most one: a partial unique index), locked."""
        result = await self.db.execute(
            select(ChargingSession)
            .where(
                ChargingSession.station_id == station_id,
                ChargingSession.connector_id == connector_id,
                ChargingSession.status == "active",
            )
            .with_for_update()
        )
        return result.scalar_one_or_none()

    async def silent_sessions(self, *, seen_before: datetime, limit: int) -> list[ChargingSession]:
        """Active sessions nothing was heard about since `seen_before`, oldest first; rows
        another transaction holds are skipped (PostgreSQL), it is ending them already."""
        result = await self.db.execute(
            select(ChargingSession)
            .where(ChargingSession.status == "active", ChargingSession.last_seen_at < seen_before)
            .order_by(ChargingSession.last_seen_at, ChargingSession.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return list(result.scalars())

    async def failed_pricing(self, *, limit: int) -> list[ChargingSession]:
        """Ended sessions whose pricing failed, the longest untried first (each attempt sets
        updated_at), locked; rows another transaction holds are skipped (PostgreSQL)."""
        result = await self.db.execute(
            select(ChargingSession)
            .where(
                ChargingSession.pricing_status == "failed",
                ChargingSession.stopped_at.is_not(None),
            )
            .order_by(ChargingSession.updated_at, ChargingSession.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return list(result.scalars())

    async def awaiting_unplug(
        self, *, station_id: int, connector_id: int, at: datetime
    ) -> list[ChargingSession]:
        """The connector's sessions stopped at or before `at` whose car has not left yet
        (occupied_until unknown), locked."""
        result = await self.db.execute(
            select(ChargingSession)
            .where(
                ChargingSession.station_id == station_id,
                ChargingSession.connector_id == connector_id,
                ChargingSession.occupied_until.is_(None),
                ChargingSession.stopped_at.is_not(None),
                ChargingSession.stopped_at <= at,
            )
            .order_by(ChargingSession.id)
            .with_for_update()
        )
        return list(result.scalars())

    async def idle_past(self, *, stopped_before: datetime, limit: int) -> list[ChargingSession]:
        """Sessions stopped before `stopped_before` whose car was never reported gone, oldest
        first, locked; rows another transaction holds are skipped (PostgreSQL)."""
        result = await self.db.execute(
            select(ChargingSession)
            .where(
                ChargingSession.occupied_until.is_(None),
                ChargingSession.stopped_at.is_not(None),
                ChargingSession.stopped_at < stopped_before,
            )
            .order_by(ChargingSession.stopped_at, ChargingSession.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return list(result.scalars())

    async def session_by_start_key(self, start_key: str) -> ChargingSession | None:
        result = await self.db.execute(
            select(ChargingSession).where(ChargingSession.start_key == start_key)
        )
        return result.scalar_one_or_none()

    async def add_session(self, charging_session: ChargingSession) -> ChargingSession:
        self.db.add(charging_session)
        await self.db.flush()
        return charging_session

    async def session_of_transaction(
        self, *, station_id: int, transaction_id: int, lock: bool = False
    ) -> ChargingSession | None:
        """The session a station's OCPP transactionId names; with `lock`, locked until the
        transaction ends (a stop and an abandonment of the same session never both end it)."""
        statement = select(ChargingSession).where(
            ChargingSession.station_id == station_id,
            ChargingSession.transaction_id == transaction_id,
        )
        result = await self.db.execute(statement.with_for_update() if lock else statement)
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

    async def seen_session(
        self, *, station_id: int, transaction_id: int, now: datetime
    ) -> OpenSession | None:
        """The session a station's message names, marked as heard of `now` (last_seen_at), with
        the few columns MeterValues needs and the EVSE's power limit: one statement."""
        connection = await self.db.connection()
        row = (
            await connection.execute(
                _SEEN_SESSION,
                {"seen_station": station_id, "seen_transaction": transaction_id, "seen_at": now},
            )
        ).first()
        if row is None:
            return None
        last = (row.last_register_wh, row.last_register_at, row.last_register_resolution_wh)
        # A register advanced earlier in this transaction and not written yet (deferred).
        for update_ in deferred_rows(self.db, _SET_LAST_REGISTER):
            if update_["session_id"] == row.id:
                last = (update_["wh"], update_["at"], update_["resolution"])
        return OpenSession(
            id=row.id,
            station_id=row.station_id,
            connector_id=row.connector_id,
            status=row.status,
            billable=row.billable,
            started_at=row.started_at,
            stopped_at=row.stopped_at,
            meter_start_wh=row.meter_start_wh,
            last_register_wh=last[0],
            last_register_at=last[1],
            last_register_resolution_wh=last[2],
            max_power_w=row.max_power_w or 0,
            spending_limit_minor=row.spending_limit_minor,
            limit_reached_at=row.limit_reached_at,
        )

    async def set_last_register(
        self, *, session_id: int, wh: int, at: datetime, resolution_wh: int
    ) -> None:
        # Deferred to the end of the transaction: one executemany for a whole group commit.
        row = {"session_id": session_id, "wh": wh, "at": at, "resolution": resolution_wh}
        await defer_rows(self.db, _SET_LAST_REGISTER, [row])

    async def evse_max_power_w(self, evse_id: int | None) -> int | None:
        if evse_id is None:
            return None
        return await self.db.scalar(select(Evse.max_power_w).where(Evse.id == evse_id))

    async def anomaly_kinds(self, *, session_id: int) -> set[str]:
        """The kinds of anomaly recorded for a session (each once)."""
        rows = await self.db.execute(
            select(MeteringAnomaly.kind).where(MeteringAnomaly.session_id == session_id).distinct()
        )
        return set(rows.scalars())

    async def review_if_priced(self, *, session_id: int) -> None:
        """A priced session whose evidence is put in doubt afterwards (a reading after its
        stop, a conflicting second stop) goes to review; pending or failed ones stay as they
        are (their pricing decides then)."""
        await self.db.execute(
            update(ChargingSession)
            .where(ChargingSession.id == session_id, ChargingSession.pricing_status == "priced")
            .values(pricing_status="review")
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
_SEEN_SESSION = (
    update(ChargingSession)
    .where(
        _SESSIONS.c.station_id == bindparam("seen_station"),
        _SESSIONS.c.transaction_id == bindparam("seen_transaction"),
    )
    # Bind names must differ from column names in an UPDATE.
    .values(last_seen_at=bindparam("seen_at"))
    .returning(
        _SESSIONS.c.id,
        _SESSIONS.c.station_id,
        _SESSIONS.c.connector_id,
        _SESSIONS.c.status,
        _SESSIONS.c.billable,
        _SESSIONS.c.started_at,
        _SESSIONS.c.stopped_at,
        _SESSIONS.c.meter_start_wh,
        _SESSIONS.c.last_register_wh,
        _SESSIONS.c.last_register_at,
        _SESSIONS.c.last_register_resolution_wh,
        _SESSIONS.c.spending_limit_minor,
        _SESSIONS.c.limit_reached_at,
        select(_EVSES.c.max_power_w)
        .where(_EVSES.c.id == _SESSIONS.c.evse_id)
        .scalar_subquery()
        .label("max_power_w"),
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
    .values(
        last_register_wh=bindparam("wh"),
        last_register_at=bindparam("at"),
        last_register_resolution_wh=bindparam("resolution"),
    )
)
_INSERT_IGNORING: dict[tuple[bool, str], Any] = {
    (is_postgres, model.__tablename__): (
        pg_insert(model) if is_postgres else sqlite_insert(model)
    ).on_conflict_do_nothing(index_elements=[key])
    for is_postgres in (False, True)
    for model, key in ((MeterValueRecord, "value_key"), (MeteringAnomaly, "anomaly_key"))
}
