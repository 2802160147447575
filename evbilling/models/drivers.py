"""Drivers, driver groups (fleets) and tokens (RFID cards, OCPP idTags)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    ForeignKey,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from evbilling.models.base import Base, BigId


class DriverGroup(Base):
    """A fleet or group of drivers sharing a tariff (below a driver's own override)."""

    __tablename__ = "driver_groups"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    operator_id: Mapped[int] = mapped_column(ForeignKey("operators.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    tariff_id: Mapped[int | None] = mapped_column(ForeignKey("tariffs.id", ondelete="SET NULL"))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


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
    # How the driver's sessions are paid (payments.choice_rules.Preference): "card",
    # "wallet" or "postpaid"; NULL: postpaid account, else wallet with a balance, else card.
    payment_preference: Mapped[str | None] = mapped_column(String(16))
    # The postpaid account the driver's sessions are charged to (evbilling.postpaid). No
    # foreign key: accounts are closed, never deleted, and a plain column is added and
    # dropped in place on SQLite.
    postpaid_account_id: Mapped[int | None] = mapped_column(BigInteger)
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
    # A fleet card charged to a postpaid account (evbilling.postpaid); no foreign key, as
    # on drivers.
    postpaid_account_id: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
