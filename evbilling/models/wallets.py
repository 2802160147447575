"""Prepaid wallets: one per driver and currency, with the reservations sessions take from it
and the card top-ups that funded it. Amounts are integer minor units of `currency`.

The ledger is the truth (the `wallet` account of the driver); `available_minor` and
`reserved_minor` are a guarded cache of it, changed only by guarded UPDATEs in the same
transaction as the ledger entry that moves the money (evbilling/wallets/repository.py):
available = posted wallet balance - live reservations, never below zero (CHECK)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from evbilling.models.base import Base, BigId

_LIVE_UNATTACHED = text("status = 'live' AND session_id IS NULL")


class Wallet(Base):
    """A driver's prepaid balance in one currency."""

    __tablename__ = "wallets"
    __table_args__ = (
        Index("uq_wallets_driver_currency", "driver_id", "currency", unique=True),
        CheckConstraint("available_minor >= 0", name="available"),
        CheckConstraint("reserved_minor >= 0", name="reserved"),
        CheckConstraint("status IN ('open', 'closed')", name="status"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    operator_id: Mapped[int] = mapped_column(ForeignKey("operators.id"), index=True)
    driver_id: Mapped[int] = mapped_column(ForeignKey("drivers.id"))
    currency: Mapped[str] = mapped_column(String(3))
    available_minor: Mapped[int] = mapped_column(BigInteger)
    reserved_minor: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(12))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    closed_at: Mapped[datetime | None]


class WalletReservation(Base):
    """An amount of a wallet set aside for a session at a station (a pending ledger transfer
    Dr wallet / Cr driver receivable): live until settled at the session's end or released."""

    __tablename__ = "wallet_reservations"
    __table_args__ = (
        # One live reservation per driver and charger before a session takes it.
        Index(
            "uq_wallet_reservations_live_driver_station",
            "driver_id",
            "station_id",
            unique=True,
            sqlite_where=_LIVE_UNATTACHED,
            postgresql_where=_LIVE_UNATTACHED,
        ),
        Index("ix_wallet_reservations_status", "status"),
        CheckConstraint("amount_minor > 0", name="positive"),
        CheckConstraint("posted_minor >= 0 AND posted_minor <= amount_minor", name="posted"),
        CheckConstraint("status IN ('live', 'settled', 'released')", name="status"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    operator_id: Mapped[int] = mapped_column(ForeignKey("operators.id"))
    wallet_id: Mapped[int] = mapped_column(ForeignKey("wallets.id"), index=True)
    driver_id: Mapped[int] = mapped_column(ForeignKey("drivers.id"))
    station_id: Mapped[int] = mapped_column(ForeignKey("stations.id"))
    session_id: Mapped[int | None] = mapped_column(ForeignKey("charging_sessions.id"), unique=True)
    currency: Mapped[str] = mapped_column(String(3))
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    margin_minor: Mapped[int] = mapped_column(BigInteger)
    posted_minor: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(12))
    ledger_pending_id: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class WalletTopup(Base):
    """A top-up charged to the driver's saved card (authorized, then captured at once), and
    what a wallet closure refunded of it."""

    __tablename__ = "wallet_topups"
    __table_args__ = (
        Index(
            "uq_wallet_topups_provider_authorization", "provider", "authorization_id", unique=True
        ),
        CheckConstraint("amount_minor > 0", name="positive"),
        CheckConstraint("refunded_minor >= 0 AND refunded_minor <= amount_minor", name="refunded"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    operator_id: Mapped[int] = mapped_column(ForeignKey("operators.id"))
    wallet_id: Mapped[int] = mapped_column(ForeignKey("wallets.id"), index=True)
    driver_id: Mapped[int] = mapped_column(ForeignKey("drivers.id"))
    provider: Mapped[str] = mapped_column(String(20))
    provider_customer_id: Mapped[str] = mapped_column(String(100))
    provider_method_id: Mapped[str] = mapped_column(String(100))
    # Ours, "topup:{id}", carried by the provider's object.
    reference: Mapped[str | None] = mapped_column(String(40), unique=True)
    authorization_id: Mapped[str | None] = mapped_column(String(100))
    currency: Mapped[str] = mapped_column(String(3))
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    refunded_minor: Mapped[int] = mapped_column(BigInteger)
    # planned -> authorized -> captured (-> refunded, partly or fully); failed; unknown.
    status: Mapped[str] = mapped_column(String(12))
    decline_code: Mapped[str | None] = mapped_column(String(60))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
