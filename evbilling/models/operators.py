"""Operators and their API keys (only a keyed digest of each key is stored)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    ForeignKey,
    String,
)
from sqlalchemy.orm import Mapped, mapped_column

from evbilling.models.base import Base, BigId


class Operator(Base):
    __tablename__ = "operators"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime]
    # What a token linked to nobody (no driver, no postpaid account) may do at Authorize
    # (payments.choice_rules.UnlinkedPolicy): "free" (today's behaviour: accepted, priced for
    # the record, not charged), "refuse" (Blocked) or "fixed_fee" (the fee below, incl. VAT).
    unlinked_token_policy: Mapped[str] = mapped_column(String(16), server_default="free")
    unlinked_token_fee_minor: Mapped[int | None] = mapped_column(BigInteger)
    unlinked_token_fee_currency: Mapped[str | None] = mapped_column(String(3))


class ApiKey(Base):
    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    operator_id: Mapped[int] = mapped_column(ForeignKey("operators.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    # The public prefix finds the row; only a digest of the whole key is stored:
    # "hmac-sha256$<hex>" under the server's API-key secret, or, for a key issued before
    # HMAC digests, its argon2 hash (replaced by the HMAC digest at its first use).
    prefix: Mapped[str] = mapped_column(String(16), unique=True)
    secret_hash: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime]
    # Updated at most every few minutes (access.domain.LAST_USED_RESOLUTION).
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    # What the key may do beyond the operator's everyday routes, space-separated
    # (access.domain.Scope): "payments" for refunds, captures and card set-ups.
    scopes: Mapped[str] = mapped_column(String(200), server_default="")
