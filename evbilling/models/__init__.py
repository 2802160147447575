"""SQLAlchemy 2.0 models: operator -> location -> station -> EVSE/connector, drivers and their
groups, tokens, versioned OCPI tariffs, charging sessions with meter samples and anomalies,
connector status history."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from evbilling.infra.db.types import ExactDecimal, UTCDateTime

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# SQLite only auto-increments INTEGER PRIMARY KEY; PostgreSQL gets BIGINT identities.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime(),
        Decimal: ExactDecimal(),
        dict[str, Any]: JSON,
    }


class Operator(Base):
    __tablename__ = "operators"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime]


class ApiKey(Base):
    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    operator_id: Mapped[int] = mapped_column(ForeignKey("operators.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    # The public prefix finds the row; only an argon2 hash of the whole key is stored.
    prefix: Mapped[str] = mapped_column(String(16), unique=True)
    secret_hash: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]


class Tariff(Base):
    """An OCPI 2.2.1 Tariff, versioned: `ocpi_json` is the current version's document, exactly
    as written by `dumps_ocpi`; every version (1 included) is also kept in `tariff_versions`."""

    __tablename__ = "tariffs"
    # A unique index rather than a constraint: SQLite can add one without rebuilding the table.
    __table_args__ = (
        Index("uq_tariffs_operator_id_ocpi_id", "operator_id", "ocpi_id", unique=True),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    operator_id: Mapped[int] = mapped_column(ForeignKey("operators.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    # The OCPI tariff id (unique per operator); str(id) unless the document named one.
    ocpi_id: Mapped[str] = mapped_column(String(36))
    # Always the OCPI document's currency; it never changes between versions.
    currency: Mapped[str] = mapped_column(String(3))
    ocpi_json: Mapped[str] = mapped_column(Text)
    # The operator default: priced when no driver, group, EVSE, station or location tariff is set.
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class TariffVersion(Base):
    """Immutable history: one row per version of a tariff, the first one included."""

    __tablename__ = "tariff_versions"
    __table_args__ = (UniqueConstraint("tariff_id", "version"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    tariff_id: Mapped[int] = mapped_column(ForeignKey("tariffs.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    ocpi_json: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]


class DriverGroup(Base):
    """A fleet or group of drivers sharing a tariff (below a driver's own override)."""

    __tablename__ = "driver_groups"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    operator_id: Mapped[int] = mapped_column(ForeignKey("operators.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    tariff_id: Mapped[int | None] = mapped_column(ForeignKey("tariffs.id", ondelete="SET NULL"))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class Location(Base):
    __tablename__ = "locations"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    operator_id: Mapped[int] = mapped_column(ForeignKey("operators.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    address: Mapped[str | None] = mapped_column(String(300))
    city: Mapped[str | None] = mapped_column(String(100))
    postal_code: Mapped[str | None] = mapped_column(String(20))
    country: Mapped[str | None] = mapped_column(String(3))
    time_zone: Mapped[str] = mapped_column(String(64))
    tariff_id: Mapped[int | None] = mapped_column(ForeignKey("tariffs.id", ondelete="SET NULL"))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class Station(Base):
    __tablename__ = "stations"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    operator_id: Mapped[int] = mapped_column(ForeignKey("operators.id"), index=True)
    location_id: Mapped[int] = mapped_column(ForeignKey("locations.id"), index=True)
    # The charge point identity: the last path segment of the OCPP WebSocket URL.
    identity: Mapped[str] = mapped_column(String(48), unique=True)
    password_hash: Mapped[str | None] = mapped_column(String(200))
    password_changed_at: Mapped[datetime | None]
    tariff_id: Mapped[int | None] = mapped_column(ForeignKey("tariffs.id", ondelete="SET NULL"))
    # Shows prices and running costs on the station's display (OCA "California pricing"
    # DataTransfer messages).
    pricing_display: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    vendor: Mapped[str | None] = mapped_column(String(50))
    model: Mapped[str | None] = mapped_column(String(50))
    serial_number: Mapped[str | None] = mapped_column(String(50))
    firmware_version: Mapped[str | None] = mapped_column(String(50))
    iccid: Mapped[str | None] = mapped_column(String(50))
    imsi: Mapped[str | None] = mapped_column(String(50))
    meter_type: Mapped[str | None] = mapped_column(String(50))
    meter_serial_number: Mapped[str | None] = mapped_column(String(50))
    registration_status: Mapped[str | None] = mapped_column(String(20))
    last_boot_at: Mapped[datetime | None]
    last_heartbeat_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class Evse(Base):
    """One EVSE with one connector, addressed by its OCPP 1.6 connectorId (1..n)."""

    __tablename__ = "evses"
    __table_args__ = (UniqueConstraint("station_id", "connector_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    station_id: Mapped[int] = mapped_column(ForeignKey("stations.id", ondelete="CASCADE"))
    connector_id: Mapped[int] = mapped_column(Integer)
    uid: Mapped[str | None] = mapped_column(String(48), unique=True)
    max_power_w: Mapped[int] = mapped_column(Integer)
    connector_standard: Mapped[str | None] = mapped_column(String(40))
    power_type: Mapped[str | None] = mapped_column(String(10))
    tariff_id: Mapped[int | None] = mapped_column(ForeignKey("tariffs.id", ondelete="SET NULL"))
    status: Mapped[str | None] = mapped_column(String(20))
    error_code: Mapped[str | None] = mapped_column(String(40))
    status_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class ConnectorStatusEvent(Base):
    """Every StatusNotification as sent; idle and parking time are billed from this history."""

    __tablename__ = "connector_status_events"
    __table_args__ = (
        Index(
            "ix_connector_status_events_station_connector_at",
            "station_id",
            "connector_id",
            "timestamp",
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    station_id: Mapped[int] = mapped_column(ForeignKey("stations.id", ondelete="CASCADE"))
    connector_id: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20))
    error_code: Mapped[str] = mapped_column(String(40))
    info: Mapped[str | None] = mapped_column(String(50))
    vendor_id: Mapped[str | None] = mapped_column(String(255))
    vendor_error_code: Mapped[str | None] = mapped_column(String(50))
    timestamp: Mapped[datetime]
    received_at: Mapped[datetime]


class Driver(Base):
    __tablename__ = "drivers"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    operator_id: Mapped[int] = mapped_column(ForeignKey("operators.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(320))
    tariff_id: Mapped[int | None] = mapped_column(ForeignKey("tariffs.id", ondelete="SET NULL"))
    group_id: Mapped[int | None] = mapped_column(
        ForeignKey("driver_groups.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class Token(Base):
    __tablename__ = "tokens"
    __table_args__ = (UniqueConstraint("operator_id", "uid"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    operator_id: Mapped[int] = mapped_column(ForeignKey("operators.id"))
    # OCPP 1.6 idTag (RFID UID as hex); stored upper-case so lookups are exact.
    uid: Mapped[str] = mapped_column(String(20))
    type: Mapped[str] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(10))
    driver_id: Mapped[int | None] = mapped_column(ForeignKey("drivers.id", ondelete="SET NULL"))
    parent_id_tag: Mapped[str | None] = mapped_column(String(20))
    expires_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class ChargingSession(Base):
    """A charging transaction; its primary key is the OCPP 1.6 transactionId."""

    __tablename__ = "charging_sessions"
    __table_args__ = (
        Index("ix_charging_sessions_station_started", "station_id", "started_at"),
        Index("ix_charging_sessions_driver_started", "driver_id", "started_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    operator_id: Mapped[int] = mapped_column(ForeignKey("operators.id"))
    station_id: Mapped[int] = mapped_column(ForeignKey("stations.id"))
    evse_id: Mapped[int | None] = mapped_column(ForeignKey("evses.id"))
    connector_id: Mapped[int] = mapped_column(Integer)
    # Identifies a StartTransaction so a replay maps onto the same transactionId.
    start_key: Mapped[str] = mapped_column(String(64), unique=True)
    id_tag: Mapped[str] = mapped_column(String(20))
    token_id: Mapped[int | None] = mapped_column(ForeignKey("tokens.id", ondelete="SET NULL"))
    driver_id: Mapped[int | None] = mapped_column(ForeignKey("drivers.id", ondelete="SET NULL"))
    authorization_status: Mapped[str] = mapped_column(String(20))
    # active -> completed; rejected sessions (bad token) are recorded but never billed.
    status: Mapped[str] = mapped_column(String(12), index=True)
    billable: Mapped[bool] = mapped_column(Boolean)
    reservation_id: Mapped[int | None] = mapped_column(BigInteger)
    started_at: Mapped[datetime]
    stopped_at: Mapped[datetime | None]
    meter_start_wh: Mapped[int] = mapped_column(BigInteger)
    meter_stop_wh: Mapped[int | None] = mapped_column(BigInteger)
    last_register_wh: Mapped[int | None] = mapped_column(BigInteger)
    last_register_at: Mapped[datetime | None]
    energy_wh: Mapped[int | None] = mapped_column(BigInteger)
    stop_reason: Mapped[str | None] = mapped_column(String(20))
    stop_id_tag: Mapped[str | None] = mapped_column(String(20))
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
