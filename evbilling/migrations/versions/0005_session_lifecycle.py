"""Session lifecycle: station-scoped transaction ids, one active session per connector and
per token, pricing status, how and when a session was last heard of

Revision ID: 0005
Revises: 0004

- charging_sessions.transaction_id: the OCPP transactionId, unique per station; existing
  sessions keep the id they were given (transaction_id = id). stations.last_transaction_id
  counts them per station (the highest given so far).
- charging_sessions.pricing_status (pending, priced, review, failed, not_billable) and
  pricing_error: sessions rated before this revision are `priced` (`review` when an anomaly
  changed their bill); a billable session that ended without a price is `failed`, with the
  error that was kept in its cost breakdown (the breakdown is then emptied).
- charging_sessions.end_reason, and last_seen_at: the server time of the last message about
  the session (the later of its last change and its last meter reading's arrival).
- partial unique indexes: at most one active session per (station, connector) and per token.
  Older rows may break them (that was the bug): of the active sessions on one connector or
  with one token, the newest stays active; each older one is ended as `superseded` to its last
  register reading, with a `session_superseded` anomaly, and left `failed` with a reason, so
  `evbilling session reprice-failed` prices it from its evidence.

SQLite: plain ADD COLUMN (NOT NULL through a constant default SQLite keeps; nothing is read
without writing the column) and CREATE INDEX; no table is rebuilt.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

import evbilling.infra.db.types

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
UTC_DATETIME = evbilling.infra.db.types.UTCDateTime(timezone=True)

# The anomaly kinds that changed what a session was billed (charging.domain at 0005).
_REVIEW_KINDS = ("register_decreased", "implausible_jump", "meter_stop_below_start")
_REPRICE = "ended by migration 0005; run `evbilling session reprice-failed` to price it"

_ACTIVE = sa.text("status = 'active'")
_ACTIVE_WITH_TOKEN = sa.text("status = 'active' AND token_id IS NOT NULL")

sessions = sa.table(
    "charging_sessions",
    sa.column("id", BigId),
    sa.column("station_id", BigId),
    sa.column("connector_id", sa.Integer()),
    sa.column("token_id", BigId),
    sa.column("transaction_id", sa.Integer()),
    sa.column("status", sa.String()),
    sa.column("billable", sa.Boolean()),
    sa.column("started_at", UTC_DATETIME),
    sa.column("stopped_at", UTC_DATETIME),
    sa.column("meter_start_wh", sa.BigInteger()),
    sa.column("meter_stop_wh", sa.BigInteger()),
    sa.column("last_register_wh", sa.BigInteger()),
    sa.column("last_register_at", UTC_DATETIME),
    sa.column("energy_wh", sa.BigInteger()),
    sa.column("cost_excl_vat", evbilling.infra.db.types.ExactDecimal()),
    sa.column("cost_breakdown", sa.JSON()),
    sa.column("pricing_status", sa.String()),
    sa.column("pricing_error", sa.String()),
    sa.column("end_reason", sa.String()),
    sa.column("last_seen_at", UTC_DATETIME),
    sa.column("updated_at", UTC_DATETIME),
)
anomalies = sa.table(
    "metering_anomalies",
    sa.column("station_id", BigId),
    sa.column("session_id", BigId),
    sa.column("anomaly_key", sa.String()),
    sa.column("kind", sa.String()),
    sa.column("detail", sa.String()),
    sa.column("sample_timestamp", UTC_DATETIME),
    sa.column("value", sa.String()),
    sa.column("detected_at", UTC_DATETIME),
)
meter_values = sa.table(
    "meter_values", sa.column("session_id", BigId), sa.column("received_at", UTC_DATETIME)
)
stations = sa.table(
    "stations", sa.column("id", BigId), sa.column("last_transaction_id", sa.Integer())
)


def _sqlite() -> bool:
    return op.get_bind().dialect.name == "sqlite"


def _add_not_null(table: str, column: sa.Column[Any], *, sqlite_default: str) -> None:
    """A NOT NULL column filled afterwards: SQLite adds it with a constant default (it cannot
    add NOT NULL otherwise, nor drop a default without a rebuild); PostgreSQL adds it
    nullable and sets NOT NULL once it is filled (`_require`)."""
    if _sqlite():
        column.server_default = sa.DefaultClause(sa.text(sqlite_default))
        column.nullable = False
    op.add_column(table, column)


def _require(table: str, column: str) -> None:
    if not _sqlite():
        op.alter_column(table, column, nullable=False)


def upgrade() -> None:
    bind = op.get_bind()
    now = datetime.now(UTC)

    op.add_column(
        "stations",
        sa.Column("last_transaction_id", sa.Integer(), server_default="0", nullable=False),
    )
    _add_not_null(
        "charging_sessions", sa.Column("transaction_id", sa.Integer()), sqlite_default="0"
    )
    _add_not_null(
        "charging_sessions",
        sa.Column("pricing_status", sa.String(length=12)),
        sqlite_default="'pending'",
    )
    op.add_column(
        "charging_sessions", sa.Column("pricing_error", sa.String(length=500), nullable=True)
    )
    op.add_column(
        "charging_sessions", sa.Column("end_reason", sa.String(length=500), nullable=True)
    )
    _add_not_null(
        "charging_sessions",
        sa.Column("last_seen_at", UTC_DATETIME),
        sqlite_default="'1970-01-01 00:00:00.000000'",
    )

    # Transaction ids: the ones already given out, and each station's counter after them.
    bind.execute(sessions.update().values(transaction_id=sessions.c.id))
    bind.execute(
        stations.update().values(
            last_transaction_id=sa.select(
                sa.func.coalesce(sa.func.max(sessions.c.transaction_id), 0)
            )
            .where(sessions.c.station_id == stations.c.id)
            .scalar_subquery()
        )
    )

    # Last seen: the last change, or the arrival of its last meter reading if that is later.
    bind.execute(sessions.update().values(last_seen_at=sessions.c.updated_at))
    last_reading = (
        sa.select(sa.func.max(meter_values.c.received_at))
        .where(meter_values.c.session_id == sessions.c.id)
        .scalar_subquery()
    )
    bind.execute(
        sessions.update()
        .where(last_reading > sessions.c.last_seen_at)
        .values(last_seen_at=last_reading)
    )

    _end_duplicate_active_sessions(bind, now=now)
    _fill_pricing_status(bind)

    _require("charging_sessions", "transaction_id")
    _require("charging_sessions", "pricing_status")
    _require("charging_sessions", "last_seen_at")
    op.create_index(
        "uq_charging_sessions_station_transaction",
        "charging_sessions",
        ["station_id", "transaction_id"],
        unique=True,
    )
    op.create_index(
        "uq_charging_sessions_active_connector",
        "charging_sessions",
        ["station_id", "connector_id"],
        unique=True,
        sqlite_where=_ACTIVE,
        postgresql_where=_ACTIVE,
    )
    op.create_index(
        "uq_charging_sessions_active_token",
        "charging_sessions",
        ["token_id"],
        unique=True,
        sqlite_where=_ACTIVE_WITH_TOKEN,
        postgresql_where=_ACTIVE_WITH_TOKEN,
    )
    op.create_index(
        op.f("ix_charging_sessions_pricing_status"), "charging_sessions", ["pricing_status"]
    )


def _end_duplicate_active_sessions(bind: sa.Connection, *, now: datetime) -> None:
    """Of the active sessions sharing a connector or a token, keep the newest active."""
    active = bind.execute(
        sa.select(
            sessions.c.id,
            sessions.c.station_id,
            sessions.c.connector_id,
            sessions.c.token_id,
            sessions.c.started_at,
            sessions.c.meter_start_wh,
            sessions.c.last_register_wh,
            sessions.c.last_register_at,
        )
        .where(sessions.c.status == "active")
        .order_by(sessions.c.started_at.desc(), sessions.c.id.desc())
    ).all()
    connectors: set[tuple[int, int]] = set()
    tokens: set[int] = set()
    for row in active:
        connector = (row.station_id, row.connector_id)
        if connector not in connectors and (row.token_id is None or row.token_id not in tokens):
            connectors.add(connector)
            if row.token_id is not None:
                tokens.add(row.token_id)
            continue
        ended_at = max(row.last_register_at or row.started_at, row.started_at)
        meter_end = (
            row.last_register_wh if row.last_register_wh is not None else row.meter_start_wh
        )
        why = "connector" if connector in connectors else "token"
        bind.execute(
            sessions.update()
            .where(sessions.c.id == row.id)
            .values(
                status="superseded",
                stopped_at=ended_at,
                meter_stop_wh=meter_end,
                energy_wh=max(meter_end - row.meter_start_wh, 0),
                end_reason=f"a later session was active with the same {why}",
                pricing_status="failed",
                pricing_error=_REPRICE,
                updated_at=now,
            )
        )
        bind.execute(
            anomalies.insert().values(
                station_id=row.station_id,
                session_id=row.id,
                anomaly_key=f"migration-0005-superseded-{row.id}",
                kind="session_superseded",
                detail=f"a later session was active with the same {why}; ended by migration "
                "0005 at its last register reading",
                sample_timestamp=ended_at,
                value=str(meter_end),
                detected_at=now,
            )
        )


def _fill_pricing_status(bind: sa.Connection) -> None:
    ended = (
        sessions.c.pricing_status.is_(None) | (sessions.c.pricing_status == "pending")
    ) & (sessions.c.status != "active")
    bind.execute(
        sessions.update()
        .where(ended, (sessions.c.status == "rejected") | sessions.c.billable.is_(False))
        .values(pricing_status="not_billable")
    )
    reviewed = sa.exists().where(
        anomalies.c.session_id == sessions.c.id, anomalies.c.kind.in_(_REVIEW_KINDS)
    )
    priced = ended & sessions.c.cost_excl_vat.is_not(None)
    bind.execute(sessions.update().where(priced, reviewed).values(pricing_status="review"))
    bind.execute(sessions.update().where(priced).values(pricing_status="priced"))
    # Billable, ended, and no price: failed, with the error kept in the breakdown if any.
    for session_id, breakdown in bind.execute(
        sa.select(sessions.c.id, sessions.c.cost_breakdown).where(ended)
    ).all():
        error = breakdown.get("error") if isinstance(breakdown, dict) else None
        bind.execute(
            sessions.update()
            .where(sessions.c.id == session_id)
            .values(
                pricing_status="failed",
                pricing_error=str(error or "not priced before revision 0005")[:500],
                cost_breakdown=sa.null(),
            )
        )
    bind.execute(
        sessions.update().where(sessions.c.status == "active").values(pricing_status="pending")
    )


def downgrade() -> None:
    """Back to 0003. Sessions keep their status text; pricing errors and end reasons are
    dropped, and transaction ids other than the session id are lost."""
    for name in (
        "ix_charging_sessions_pricing_status",
        "uq_charging_sessions_active_token",
        "uq_charging_sessions_active_connector",
        "uq_charging_sessions_station_transaction",
    ):
        op.drop_index(name, table_name="charging_sessions")
    for column in ("last_seen_at", "end_reason", "pricing_error", "pricing_status", "transaction_id"):
        _drop_column("charging_sessions", column)
    _drop_column("stations", "last_transaction_id")


def _drop_column(table: str, column: str) -> None:
    if _sqlite():
        op.execute(f'ALTER TABLE "{table}" DROP COLUMN "{column}"')
    else:
        op.drop_column(table, column)
