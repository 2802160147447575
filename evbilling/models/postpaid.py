"""Postpaid accounts of businesses and fleets: the account (credit limit, payer), one row per
session charged to it (its exposure while it runs, its amount once accrued), monthly
statements with their lines (immutable once issued) and payments received."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from evbilling.models.base import Base, BigId


class PostpaidAccount(Base):
    __tablename__ = "postpaid_accounts"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    operator_id: Mapped[int] = mapped_column(ForeignKey("operators.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    currency: Mapped[str] = mapped_column(String(3))
    credit_limit_minor: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(12))  # active | suspended | closed
    # The driver whose saved card may pay the statements (optional; checked against the
    # operator by the service, no foreign key: drivers already refer to accounts).
    payer_driver_id: Mapped[int | None] = mapped_column(BigInteger)
    billing_email: Mapped[str | None] = mapped_column(String(320))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class PostpaidExposure(Base):
    """A session charged to an account: `open` from the credit check at authorization,
    `attached` once its session started, `accrued` once its sale was booked, `released` when
    no session took it. Open and attached rows count against the credit limit."""

    __tablename__ = "postpaid_exposures"
    __table_args__ = (
        Index("ix_postpaid_exposures_account_status", "account_id", "status"),
        Index("uq_postpaid_exposures_session", "session_id", unique=True),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("postpaid_accounts.id"))
    driver_id: Mapped[int | None] = mapped_column(ForeignKey("drivers.id", ondelete="SET NULL"))
    station_id: Mapped[int] = mapped_column(ForeignKey("stations.id"))
    session_id: Mapped[int | None] = mapped_column(ForeignKey("charging_sessions.id"))
    currency: Mapped[str] = mapped_column(String(3))
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(10))
    accrued_minor: Mapped[int | None] = mapped_column(BigInteger)
    # What was accrued per VAT rate: [{"rate": "19", "net_minor": 1000, "vat_minor": 190}]
    portions: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    accrued_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class PostpaidStatement(Base):
    """A month of an account, issued once: [period_start, period_end) in UTC."""

    __tablename__ = "postpaid_statements"
    __table_args__ = (
        Index("uq_postpaid_statements_period", "account_id", "period_start", unique=True),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    operator_id: Mapped[int] = mapped_column(ForeignKey("operators.id"), index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("postpaid_accounts.id"))
    period_start: Mapped[datetime]
    period_end: Mapped[datetime]
    currency: Mapped[str] = mapped_column(String(3))
    session_count: Mapped[int] = mapped_column(Integer)
    energy_wh: Mapped[int] = mapped_column(BigInteger)
    net_minor: Mapped[int] = mapped_column(BigInteger)
    vat_minor: Mapped[int] = mapped_column(BigInteger)
    total_minor: Mapped[int] = mapped_column(BigInteger)
    # [{"rate": "19", "net_minor": 1000, "vat_minor": 190, "total_minor": 1190}, ...]
    vat_summary: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    opening_balance_minor: Mapped[int] = mapped_column(BigInteger)
    charges_minor: Mapped[int] = mapped_column(BigInteger)
    payments_minor: Mapped[int] = mapped_column(BigInteger)
    closing_balance_minor: Mapped[int] = mapped_column(BigInteger)
    issued_at: Mapped[datetime]


class PostpaidStatementLine(Base):
    __tablename__ = "postpaid_statement_lines"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    statement_id: Mapped[int] = mapped_column(ForeignKey("postpaid_statements.id"), index=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("charging_sessions.id"))
    driver_id: Mapped[int | None] = mapped_column(BigInteger)
    station: Mapped[str] = mapped_column(String(48))
    started_at: Mapped[datetime]
    stopped_at: Mapped[datetime | None]
    duration_s: Mapped[int] = mapped_column(BigInteger)
    energy_wh: Mapped[int] = mapped_column(BigInteger)
    net_minor: Mapped[int] = mapped_column(BigInteger)
    vat_minor: Mapped[int] = mapped_column(BigInteger)
    total_minor: Mapped[int] = mapped_column(BigInteger)
    # [{"rate": "19", "net_minor": ..., "vat_minor": ...}]
    portions: Mapped[list[dict[str, Any]]] = mapped_column(JSON)


class PostpaidPayment(Base):
    """Money received for an account: a bank transfer an operator marked, or a card payment
    of a statement through the provider (pending until captured)."""

    __tablename__ = "postpaid_payments"
    __table_args__ = (
        Index("uq_postpaid_payments_reference", "account_id", "method", "reference", unique=True),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    operator_id: Mapped[int] = mapped_column(ForeignKey("operators.id"))
    account_id: Mapped[int] = mapped_column(ForeignKey("postpaid_accounts.id"), index=True)
    statement_id: Mapped[int | None] = mapped_column(ForeignKey("postpaid_statements.id"))
    method: Mapped[str] = mapped_column(String(16))  # bank_transfer | card
    reference: Mapped[str] = mapped_column(String(120))
    currency: Mapped[str] = mapped_column(String(3))
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(12))  # pending | succeeded | failed
    provider: Mapped[str | None] = mapped_column(String(20))
    authorization_id: Mapped[str | None] = mapped_column(String(255))
    driver_id: Mapped[int | None] = mapped_column(BigInteger)
    error: Mapped[str | None] = mapped_column(String(500))
    actor: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
