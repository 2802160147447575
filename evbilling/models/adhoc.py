"""Ad-hoc payments: a guest who pays at one EVSE with a card, without an account (EU AFIR).

Each one has its own guest driver and AD_HOC token (a random idTag), and is addressed by an
unguessable token in its page's URL, stored only as a digest."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from evbilling.models.base import Base, BigId


class AdhocPayment(Base):
    __tablename__ = "adhoc_payments"
    __table_args__ = (Index("uq_adhoc_payments_page_digest", "page_digest", unique=True),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    operator_id: Mapped[int] = mapped_column(ForeignKey("operators.id"))
    station_id: Mapped[int] = mapped_column(ForeignKey("stations.id"))
    evse_id: Mapped[int] = mapped_column(ForeignKey("evses.id"))
    connector_id: Mapped[int] = mapped_column(Integer)
    driver_id: Mapped[int] = mapped_column(ForeignKey("drivers.id"))
    token_id: Mapped[int] = mapped_column(ForeignKey("tokens.id"))
    # SHA-256 of the page token (hex); the token itself is only ever in the guest's URL.
    page_digest: Mapped[str] = mapped_column(String(64))
    # created -> card_pending -> held -> starting | start_pending -> charging -> ended;
    # declined | refused | failed (payments.adhoc.AdhocStatus).
    status: Mapped[str] = mapped_column(String(16))
    message: Mapped[str | None] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(254))
    card_setup_id: Mapped[int | None] = mapped_column(
        ForeignKey("card_setups.id", ondelete="SET NULL")
    )
    payment_id: Mapped[int | None] = mapped_column(ForeignKey("payments.id", ondelete="SET NULL"))
    session_id: Mapped[int | None] = mapped_column(
        ForeignKey("charging_sessions.id", ondelete="SET NULL")
    )
    receipt_mailed_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
