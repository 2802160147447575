"""Card payments: provider customers and saved methods, card set-ups, holds (payments) with
their captures, refunds, every provider call with its idempotency key, the provider-event
inbox, what each settled session came to, and reconciliation runs. Amounts are integer minor
units of `currency` (ISO 4217 exponent); no card number or CVC is ever stored."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, ForeignKey, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column

from evbilling.models.base import Base, BigId

_LIVE_UNATTACHED = text("status IN ('planned', 'authorized') AND session_id IS NULL")


class PaymentCustomer(Base):
    """A driver's customer at one provider."""

    __tablename__ = "payment_customers"
    __table_args__ = (
        Index("uq_payment_customers_provider_driver", "provider", "driver_id", unique=True),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    operator_id: Mapped[int] = mapped_column(ForeignKey("operators.id"))
    driver_id: Mapped[int] = mapped_column(ForeignKey("drivers.id", ondelete="CASCADE"))
    provider: Mapped[str] = mapped_column(String(20))
    provider_customer_id: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime]


class PaymentMethod(Base):
    """A saved card or wallet card: the provider's token, brand, last 4 and expiry only."""

    __tablename__ = "payment_methods"
    __table_args__ = (
        Index("uq_payment_methods_provider_token", "provider", "provider_method_id", unique=True),
        Index("ix_payment_methods_driver", "driver_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    operator_id: Mapped[int] = mapped_column(ForeignKey("operators.id"))
    driver_id: Mapped[int] = mapped_column(ForeignKey("drivers.id", ondelete="CASCADE"))
    provider: Mapped[str] = mapped_column(String(20))
    provider_customer_id: Mapped[str] = mapped_column(String(100))
    provider_method_id: Mapped[str] = mapped_column(String(100))
    brand: Mapped[str] = mapped_column(String(20))
    last4: Mapped[str] = mapped_column(String(4))
    exp_month: Mapped[int] = mapped_column(Integer)
    exp_year: Mapped[int] = mapped_column(Integer)
    wallet: Mapped[str | None] = mapped_column(String(20))
    is_default: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime]


class CardSetup(Base):
    """A hosted card-entry page started for a driver; its token is stored once it succeeded
    (by the return URL or the webhook, whichever comes first)."""

    __tablename__ = "card_setups"
    __table_args__ = (
        Index("uq_card_setups_provider_setup", "provider", "provider_setup_id", unique=True),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    operator_id: Mapped[int] = mapped_column(ForeignKey("operators.id"))
    driver_id: Mapped[int] = mapped_column(ForeignKey("drivers.id", ondelete="CASCADE"))
    provider: Mapped[str] = mapped_column(String(20))
    provider_setup_id: Mapped[str | None] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(12))
    url: Mapped[str | None] = mapped_column(String(2000))
    method_id: Mapped[int | None] = mapped_column(
        ForeignKey("payment_methods.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class Payment(Base):
    """A hold on a driver's saved method for a session at a station, and what became of it:
    authorized, captured, released, refunded. `status` only moves forward
    (payments.domain.PaymentStatus)."""

    __tablename__ = "payments"
    __table_args__ = (
        # One live hold per driver and charger before a session takes it (a retried start
        # reuses it).
        Index(
            "uq_payments_live_driver_station",
            "driver_id",
            "station_id",
            unique=True,
            sqlite_where=_LIVE_UNATTACHED,
            postgresql_where=_LIVE_UNATTACHED,
        ),
        Index("uq_payments_provider_authorization", "provider", "authorization_id", unique=True),
        Index("ix_payments_status", "status"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    operator_id: Mapped[int] = mapped_column(ForeignKey("operators.id"))
    driver_id: Mapped[int] = mapped_column(ForeignKey("drivers.id"))
    station_id: Mapped[int] = mapped_column(ForeignKey("stations.id"))
    evse_id: Mapped[int | None] = mapped_column(ForeignKey("evses.id", ondelete="SET NULL"))
    session_id: Mapped[int | None] = mapped_column(ForeignKey("charging_sessions.id"), unique=True)
    provider: Mapped[str] = mapped_column(String(20))
    provider_customer_id: Mapped[str] = mapped_column(String(100))
    provider_method_id: Mapped[str] = mapped_column(String(100))
    off_session: Mapped[bool] = mapped_column(Boolean)
    # Ours, "hold:{id}", carried by the provider's object.
    reference: Mapped[str | None] = mapped_column(String(40), unique=True)
    authorization_id: Mapped[str | None] = mapped_column(String(100))
    currency: Mapped[str] = mapped_column(String(3))
    requested_minor: Mapped[int] = mapped_column(BigInteger)
    authorized_minor: Mapped[int] = mapped_column(BigInteger)
    captured_minor: Mapped[int] = mapped_column(BigInteger)
    refunded_minor: Mapped[int] = mapped_column(BigInteger)
    # What the session may still cost after its limit is reached (payments.domain
    # .safety_margin), and the spending limit the hold allows (authorized - margin).
    margin_minor: Mapped[int] = mapped_column(BigInteger)
    limit_minor: Mapped[int | None] = mapped_column(BigInteger)
    capture_before: Mapped[datetime | None]
    captured_at: Mapped[datetime | None]
    status: Mapped[str] = mapped_column(String(12))
    decline_code: Mapped[str | None] = mapped_column(String(60))
    # The ledger's pending transfer of the hold (psp clearing <- driver receivable).
    ledger_pending_id: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class ProviderCall(Base):
    """One call to a provider that creates or moves money, stored with its idempotency key
    (committed) before it is made. An open one (pending or unknown) is settled by retrieving
    the provider's object; it is repeated with the same key only within the provider's
    idempotency window."""

    __tablename__ = "provider_calls"
    __table_args__ = (Index("ix_provider_calls_subject", "subject"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    provider: Mapped[str] = mapped_column(String(20))
    operation: Mapped[str] = mapped_column(String(30))
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    # What the call is about: "hold:17", "refund:5", "card_setup:3", "customer:driver:2".
    subject: Mapped[str] = mapped_column(String(60))
    amount_minor: Mapped[int | None] = mapped_column(BigInteger)
    state: Mapped[str] = mapped_column(String(12))
    provider_object_id: Mapped[str | None] = mapped_column(String(100))
    error: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class PaymentRefund(Base):
    """An operator's refund of (part of) a captured payment."""

    __tablename__ = "payment_refunds"
    __table_args__ = (
        Index("uq_payment_refunds_provider_refund", "provider", "provider_refund_id", unique=True),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    operator_id: Mapped[int] = mapped_column(ForeignKey("operators.id"))
    payment_id: Mapped[int] = mapped_column(ForeignKey("payments.id"), index=True)
    provider: Mapped[str] = mapped_column(String(20))
    reference: Mapped[str | None] = mapped_column(String(40), unique=True)
    provider_refund_id: Mapped[str | None] = mapped_column(String(100))
    currency: Mapped[str] = mapped_column(String(3))
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    reason: Mapped[str] = mapped_column(String(500))
    status: Mapped[str] = mapped_column(String(12))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class WebhookInbox(Base):
    """A provider event, stored in the same transaction as its effect: a second delivery of
    the same event id finds its row and changes nothing."""

    __tablename__ = "webhook_events"
    __table_args__ = (
        Index("uq_webhook_events_provider_event", "provider", "event_id", unique=True),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    provider: Mapped[str] = mapped_column(String(20))
    event_id: Mapped[str] = mapped_column(String(100))
    type: Mapped[str] = mapped_column(String(60))
    object_id: Mapped[str] = mapped_column(String(100))
    # What the event changed: "applied", "unchanged", "unknown_object".
    outcome: Mapped[str] = mapped_column(String(20))
    received_at: Mapped[datetime]


class SessionCharge(Base):
    """What a settled session came to and how it was paid: captured on the card, owed by the
    driver (receivable) or written off. total = captured + receivable + written off."""

    __tablename__ = "session_charges"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    operator_id: Mapped[int] = mapped_column(ForeignKey("operators.id"))
    session_id: Mapped[int] = mapped_column(ForeignKey("charging_sessions.id"), unique=True)
    driver_id: Mapped[int | None] = mapped_column(ForeignKey("drivers.id"), index=True)
    payment_id: Mapped[int | None] = mapped_column(ForeignKey("payments.id"))
    location_id: Mapped[int | None] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    total_minor: Mapped[int] = mapped_column(BigInteger)
    # [{"rate": "19", "net_minor": 1000, "vat_minor": 190}, ...]: refunds are shared by them.
    portions: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    # What the capture is to take (decided once, kept for its retries).
    capture_minor: Mapped[int] = mapped_column(BigInteger)
    captured_minor: Mapped[int] = mapped_column(BigInteger)
    receivable_minor: Mapped[int] = mapped_column(BigInteger)
    written_off_minor: Mapped[int] = mapped_column(BigInteger)
    shortfall_reason: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(12), index=True)
    capture_failures: Mapped[int] = mapped_column(Integer)
    # How the session was paid (the session's payment kind when it settled): "card",
    # "wallet", "postpaid", "free", "fixed_fee"; NULL for charges settled before it was kept.
    payment_kind: Mapped[str | None] = mapped_column(String(16))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class ReconciliationRun(Base):
    """One comparison of our records and the ledger with the provider's balance movements."""

    __tablename__ = "reconciliation_runs"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    provider: Mapped[str] = mapped_column(String(20))
    period_from: Mapped[datetime]
    period_to: Mapped[datetime]
    mismatch_count: Mapped[int] = mapped_column(Integer)
    mismatches: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    created_at: Mapped[datetime]
