"""Stations, their EVSEs (one connector each) and the connector status history."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column

from evbilling.models.base import Base, BigId


class Station(Base):
    __tablename__ = "stations"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    operator_id: Mapped[int] = mapped_column(ForeignKey("operators.id"), index=True)
    location_id: Mapped[int] = mapped_column(ForeignKey("locations.id"), index=True)
    # The charge point identity: the last path segment of the OCPP WebSocket URL.
    identity: Mapped[str] = mapped_column(String(48), unique=True)
    password_hash: Mapped[str | None] = mapped_column(String(200))
    # A new password the station accepted (ChangeConfiguration AuthorizationKey) but has not
    # logged in with yet: both work until it does, then this one replaces password_hash.
    pending_password_hash: Mapped[str | None] = mapped_column(String(200))
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
    # The last OCPP transactionId given to this station (ids count 1, 2, ... per station).
    last_transaction_id: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
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
