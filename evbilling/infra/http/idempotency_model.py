"""The Idempotency-Key store's table (evbilling.infra.http.idempotency works it)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from evbilling.infra.db.base import Base, BigId


class IdempotencyKey(Base):
    """One client's key for one money-moving request, and the response it got.

    `principal` is the HMAC digest of the caller's credential, so one operator's key never
    answers another's request. `in_progress` until the request ends; kept only when it
    succeeded (a refused request changed nothing, so its key may be used again).
    """

    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("principal", "key", name="uq_idempotency_keys_key"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    principal: Mapped[str] = mapped_column(String(64))
    key: Mapped[str] = mapped_column(String(255))
    # sha256 of method, path, query and body: the same key with another request is a conflict.
    request_hash: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(12))
    response_status: Mapped[int | None] = mapped_column(Integer)
    response_content_type: Mapped[str | None] = mapped_column(String(100))
    response_body: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime] = mapped_column(index=True)
