"""OCPP messages the server could not process, kept with their frame for an operator."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from evbilling.models.base import Base, BigId

# A dead letter keeps at most this much of its frame (characters); `frame_length` tells
# whether it was cut.
MAX_DEAD_LETTER_FRAME = 64 * 1024


class OcppDeadLetter(Base):
    """A station's CALL that failed on its own (after group commit isolated it): nothing of
    it was committed; its frame, the error and when it arrived are kept here instead."""

    __tablename__ = "ocpp_dead_letters"
    __table_args__ = (Index("ix_ocpp_dead_letters_operator_page", "operator_id", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    operator_id: Mapped[int] = mapped_column(ForeignKey("operators.id"))
    station_id: Mapped[int | None] = mapped_column(ForeignKey("stations.id", ondelete="SET NULL"))
    station_identity: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64))
    message_id: Mapped[str] = mapped_column(String(36))
    # The CALL as JSON text (re-encoded from the decoded frame), cut to MAX_DEAD_LETTER_FRAME.
    frame: Mapped[str] = mapped_column(Text)
    frame_length: Mapped[int] = mapped_column(Integer)
    error_type: Mapped[str] = mapped_column(String(200))
    error_message: Mapped[str] = mapped_column(String(500))
    # The server's clock when the failed message was kept (moments after it arrived).
    received_at: Mapped[datetime]
