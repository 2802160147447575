"""Driver accounts of the app: e-mail and password (argon2), the app's access and refresh
tokens (HMAC digests only) and the one-time links sent by e-mail (verification, reset)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from evbilling.models.base import Base, BigId


class DriverAccount(Base):
    """A driver's log-in: one account per driver row, one per e-mail address."""

    __tablename__ = "driver_accounts"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    operator_id: Mapped[int] = mapped_column(ForeignKey("operators.id"), index=True)
    driver_id: Mapped[int] = mapped_column(ForeignKey("drivers.id"), unique=True)
    # Normalized (trimmed, lower-case); replaced by a placeholder when the account is closed.
    email: Mapped[str] = mapped_column(String(320), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    email_verified_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class AppRefreshToken(Base):
    """A refresh token of one sign-in (its `family`): used once, then replaced by the next.
    A second use of a replaced token revokes the whole family."""

    __tablename__ = "app_refresh_tokens"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("driver_accounts.id"), index=True)
    family: Mapped[str] = mapped_column(String(32), index=True)
    # "hmac-sha256$<hex>" under the server's API-key secret.
    digest: Mapped[str] = mapped_column(String(100), unique=True)
    issued_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    rotated_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]


class AppAccessToken(Base):
    """A short-lived bearer token of the app API, issued with a refresh token of `family`."""

    __tablename__ = "app_access_tokens"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("driver_accounts.id"), index=True)
    family: Mapped[str] = mapped_column(String(32), index=True)
    digest: Mapped[str] = mapped_column(String(100), unique=True)
    issued_at: Mapped[datetime]
    expires_at: Mapped[datetime] = mapped_column(index=True)
    revoked_at: Mapped[datetime | None]


class AccountLink(Base):
    """A one-time link mailed to an account: `verify` (the e-mail address) or `reset` (the
    password). Only its digest is stored; it works once, until `expires_at`."""

    __tablename__ = "account_links"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("driver_accounts.id"), index=True)
    purpose: Mapped[str] = mapped_column(String(10))
    digest: Mapped[str] = mapped_column(String(100), unique=True)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
