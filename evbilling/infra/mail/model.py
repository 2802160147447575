"""The mail outbox's table (evbilling.infra.mail works it)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from evbilling.infra.db.base import Base, BigId


class MailMessage(Base):
    """One message to send: written in the transaction that wants it sent, delivered after
    that commits by the `mail.deliver` job. `pending` -> `sent` (or `failed` after the
    job's last attempt)."""

    __tablename__ = "mail_outbox"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    to_address: Mapped[str] = mapped_column(String(320))
    subject: Mapped[str] = mapped_column(String(200))
    body_text: Mapped[str] = mapped_column(Text)
    # A message named by its sender is queued once (a retried request mails nothing twice).
    dedupe_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    status: Mapped[str] = mapped_column(String(10))
    attempts: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(index=True)
    sent_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(String(500))
