"""Charging sessions with their meter readings (as sent) and metering anomalies."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from evbilling.models.base import Base, BigId

_ACTIVE = text("status = 'active'")
_ACTIVE_WITH_TOKEN = text("status = 'active' AND token_id IS NOT NULL")


class ChargingSession(Base):
    """A charging transaction. The OCPP 1.6 transactionId is `transaction_id`, unique per
    station; `id` is the session's own key (the API's)."""

    __tablename__ = "charging_sessions"
    __table_args__ = (
        Index("ix_charging_sessions_station_started", "station_id", "started_at"),
        Index("ix_charging_sessions_driver_started", "driver_id", "started_at"),
        Index(
            "uq_charging_sessions_station_transaction", "station_id", "transaction_id", unique=True
        ),
        # At most one active session per connector and per token, whatever races.
        Index(
            "uq_charging_sessions_active_connector",
            "station_id",
            "connector_id",
            unique=True,
            sqlite_where=_ACTIVE,
            postgresql_where=_ACTIVE,
        ),
        Index(
            "uq_charging_sessions_active_token",
            "token_id",
            unique=True,
            sqlite_where=_ACTIVE_WITH_TOKEN,
            postgresql_where=_ACTIVE_WITH_TOKEN,
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    operator_id: Mapped[int] = mapped_column(ForeignKey("operators.id"))
    station_id: Mapped[int] = mapped_column(ForeignKey("stations.id"))
    # The OCPP transactionId, 1..2^31-1, counted per station (stations.last_transaction_id).
    transaction_id: Mapped[int] = mapped_column(Integer)
    evse_id: Mapped[int | None] = mapped_column(ForeignKey("evses.id"))
    connector_id: Mapped[int] = mapped_column(Integer)
    # Identifies a StartTransaction so a replay maps onto the same transactionId.
    start_key: Mapped[str] = mapped_column(String(64), unique=True)
    id_tag: Mapped[str] = mapped_column(String(20))
    token_id: Mapped[int | None] = mapped_column(ForeignKey("tokens.id", ondelete="SET NULL"))
    driver_id: Mapped[int | None] = mapped_column(ForeignKey("drivers.id", ondelete="SET NULL"))
    authorization_status: Mapped[str] = mapped_column(String(20))
    # active -> completed | superseded | abandoned | closed (charging.domain.SessionStatus);
    # rejected sessions (bad token) are recorded but never billed.
    status: Mapped[str] = mapped_column(String(12), index=True)
    billable: Mapped[bool] = mapped_column(Boolean)
    # pending -> priced | review | failed; not_billable (charging.domain.PricingStatus).
    pricing_status: Mapped[str] = mapped_column(String(12), index=True)
    # Why pricing failed, when it did.
    pricing_error: Mapped[str | None] = mapped_column(String(500))
    reservation_id: Mapped[int | None] = mapped_column(BigInteger)
    started_at: Mapped[datetime]
    stopped_at: Mapped[datetime | None]
    meter_start_wh: Mapped[int] = mapped_column(BigInteger)
    meter_stop_wh: Mapped[int | None] = mapped_column(BigInteger)
    # The session's trusted energy register: the last reading that passed every plausibility
    # check (docs/metering.md), in the precision the meter sent it (10 Wh for kWh with two
    # decimals; NULL: 1 Wh). Once the session has ended, the register it was billed up to.
    last_register_wh: Mapped[int | None] = mapped_column(BigInteger)
    last_register_at: Mapped[datetime | None]
    last_register_resolution_wh: Mapped[int | None] = mapped_column(Integer)
    energy_wh: Mapped[int | None] = mapped_column(BigInteger)
    stop_reason: Mapped[str | None] = mapped_column(String(20))
    # Identifies what the StopTransaction reported (meterStop, timestamp as sent): a replay
    # changes nothing, a second stop with another account is recorded as an anomaly.
    stop_key: Mapped[str | None] = mapped_column(String(32))
    stop_id_tag: Mapped[str | None] = mapped_column(String(20))
    # Why the server or an operator ended it (the station's own reason is stop_reason).
    end_reason: Mapped[str | None] = mapped_column(String(500))
    # Server time of the last message about the session (start, meter values, stop); a session
    # silent for too long is abandoned.
    last_seen_at: Mapped[datetime]
    tariff_id: Mapped[int | None] = mapped_column(ForeignKey("tariffs.id", ondelete="SET NULL"))
    # The tariff version the session is priced with: its exact OCPI document, copied at start,
    # and the station's IANA time zone that time-of-day restrictions are evaluated in.
    tariff_version: Mapped[int | None] = mapped_column(Integer)
    tariff_ocpi: Mapped[str | None] = mapped_column(Text)
    time_zone: Mapped[str | None] = mapped_column(String(64))
    # The priced OCPI CDR (JSON text, exact decimals) once the session is rated.
    cdr: Mapped[str | None] = mapped_column(Text)
    # The periods it was rated from (evbilling.charging.metering.encode_periods), for re-rating.
    rating_periods: Mapped[list[list[str | None]] | None] = mapped_column(JSON)
    currency: Mapped[str | None] = mapped_column(String(3))
    cost_excl_vat: Mapped[Decimal | None]
    cost_vat: Mapped[Decimal | None]
    cost_incl_vat: Mapped[Decimal | None]
    cost_breakdown: Mapped[dict[str, Any] | None]
    # When the car left the connector (unplugged: the connector's first Available after the
    # stop, a stop reason EVDisconnected, or the idle cap); idle time until then is priced
    # when the tariff bills parking time.
    occupied_until: Mapped[datetime | None]
    # When the amount became final (session.completed was recorded); NULL before.
    completed_at: Mapped[datetime | None]
    # Payments sets the most the session may cost (incl. VAT, minor units of `currency`);
    # charging stops the session remotely when the running cost reaches it.
    spending_limit_minor: Mapped[int | None] = mapped_column(BigInteger)
    limit_reached_at: Mapped[datetime | None]
    limit_stop_reason: Mapped[str | None] = mapped_column(String(200))
    # How the session is paid ("card" | "wallet" | "postpaid" | "free") and why.
    payment_kind: Mapped[str | None] = mapped_column(String(16))
    payment_reason: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class MeterValueRecord(Base):
    """One MeterValue element (a timestamp and its sampled values) as the station sent it.

    The sampled values stay together as JSON (value, measurand, phase, location, context,
    unit, format for each): one row per reading keeps a busy station's writes small, and
    nothing is lost.
    """

    __tablename__ = "meter_values"
    __table_args__ = (Index("ix_meter_values_session_at", "session_id", "timestamp"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    station_id: Mapped[int] = mapped_column(ForeignKey("stations.id", ondelete="CASCADE"))
    connector_id: Mapped[int] = mapped_column(Integer)
    session_id: Mapped[int | None] = mapped_column(
        ForeignKey("charging_sessions.id", ondelete="CASCADE")
    )
    # Hash of everything that identifies the reading: a replayed message inserts nothing.
    value_key: Mapped[str] = mapped_column(String(32), unique=True)
    timestamp: Mapped[datetime]
    sampled_values: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    received_at: Mapped[datetime]


class MeteringAnomaly(Base):
    """A reading that cannot be billed as sent, kept for billing-accuracy review."""

    __tablename__ = "metering_anomalies"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    station_id: Mapped[int] = mapped_column(ForeignKey("stations.id", ondelete="CASCADE"))
    session_id: Mapped[int | None] = mapped_column(
        ForeignKey("charging_sessions.id", ondelete="CASCADE"), index=True
    )
    anomaly_key: Mapped[str] = mapped_column(String(40), unique=True)
    kind: Mapped[str] = mapped_column(String(40))
    detail: Mapped[str] = mapped_column(String(500))
    sample_timestamp: Mapped[datetime | None]
    value: Mapped[str | None] = mapped_column(String(100))
    detected_at: Mapped[datetime]
