"""One-time codes that link an RFID card to a driver's app account: issued at the card's
first use at a station (shown on its display), entered in the app with the card's UID."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from evbilling.models.base import Base, BigId


class RfidLinkCode(Base):
    """A code for one card UID of one operator; only its salted digest is stored. It is
    spent by a successful link, dead after `max_attempts` wrong tries or at `expires_at`."""

    __tablename__ = "rfid_link_codes"
    __table_args__ = (Index("ix_rfid_link_codes_operator_uid", "operator_id", "uid"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    operator_id: Mapped[int] = mapped_column(ForeignKey("operators.id"))
    # The card's idTag as stored (upper-case); the token may not exist yet.
    uid: Mapped[str] = mapped_column(String(20))
    station_id: Mapped[int | None] = mapped_column(ForeignKey("stations.id", ondelete="SET NULL"))
    salt: Mapped[str] = mapped_column(String(32))
    code_digest: Mapped[str] = mapped_column(String(64))
    attempts: Mapped[int] = mapped_column(Integer)
    max_attempts: Mapped[int] = mapped_column(Integer)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
