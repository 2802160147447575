"""The driver app's bearer tokens: short-lived access tokens and rotating refresh tokens.

A sign-in issues a pair in a new *family*: an access token (15 minutes) and a refresh token
(30 days). Refreshing uses the refresh token once: it is marked rotated and a new pair of the
same family is issued. A rotated refresh token presented again means it was copied (the
holder and a thief both have it): the whole family is revoked, so both are signed out.

Tokens are 256 random bits; only their HMAC-SHA256 digest under the server's secret is stored
(the API-key hasher), so a request is checked without argon2, on the event loop.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from evbilling.access.app_token_repository import AppTokenRepository, StoredAccess
from evbilling.infra.secrets import ApiKeyHasher
from evbilling.kit import EVBillingError

ACCESS_TOKEN_LIFETIME = timedelta(minutes=15)
REFRESH_TOKEN_LIFETIME = timedelta(days=30)
ACCESS_PREFIX = "evba_"
REFRESH_PREFIX = "evbr_"
TOKEN_BYTES = 32
# Nothing issued is longer; anything longer is refused before it is hashed.
MAX_APP_TOKEN_LENGTH = 100

__all__ = [
    "ACCESS_TOKEN_LIFETIME",
    "REFRESH_TOKEN_LIFETIME",
    "InvalidAppToken",
    "StoredAccess",
    "TokenPair",
    "find_access_token",
    "issue_token_pair",
    "prune_app_tokens",
    "revoke_account_tokens",
    "revoke_family_of",
    "rotate_refresh_token",
]


class InvalidAppToken(EVBillingError):
    """An app token is missing, malformed, unknown, expired or revoked."""


@dataclass(frozen=True, slots=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in: int  # seconds the access token is valid
    family: str


def _new_token(prefix: str) -> str:
    return prefix + secrets.token_urlsafe(TOKEN_BYTES)


def checked_token(text: str, *, prefix: str) -> str:
    """A well-formed token of the kind `prefix` names; InvalidAppToken otherwise."""
    token = text.strip()
    if (
        len(token) > MAX_APP_TOKEN_LENGTH
        or not token.isascii()
        or not token.isprintable()
        or not token.startswith(prefix)
        or len(token) <= len(prefix)
    ):
        raise InvalidAppToken("malformed token")
    return token


async def issue_token_pair(
    *,
    db: AsyncSession,
    hasher: ApiKeyHasher,
    account_id: int,
    now: datetime,
    family: str | None = None,
) -> TokenPair:
    """A new access and refresh token for the account, in `family` (a new one by default)."""
    family = family or secrets.token_hex(16)
    access = _new_token(ACCESS_PREFIX)
    refresh = _new_token(REFRESH_PREFIX)
    await AppTokenRepository(db).add_pair(
        account_id=account_id,
        family=family,
        access_digest=hasher.digest(access),
        access_expires_at=now + ACCESS_TOKEN_LIFETIME,
        refresh_digest=hasher.digest(refresh),
        refresh_expires_at=now + REFRESH_TOKEN_LIFETIME,
        now=now,
    )
    return TokenPair(
        access_token=access,
        refresh_token=refresh,
        expires_in=int(ACCESS_TOKEN_LIFETIME.total_seconds()),
        family=family,
    )


async def find_access_token(
    *, db: AsyncSession, hasher: ApiKeyHasher, token: str, now: datetime
) -> StoredAccess:
    """The live access token `token` and its account; InvalidAppToken when it is malformed,
    unknown, expired, revoked, or its account is closed."""
    digest = hasher.digest(checked_token(token, prefix=ACCESS_PREFIX))
    stored = await AppTokenRepository(db).access_by_digest(digest)
    if stored is None or stored.revoked or stored.closed:
        raise InvalidAppToken("unknown or revoked access token")
    if stored.expires_at <= now:
        raise InvalidAppToken("the access token has expired; refresh it")
    return stored


async def rotate_refresh_token(
    *,
    db: AsyncSession,
    hasher: ApiKeyHasher,
    refresh_token: str,
    now: datetime,
) -> TokenPair | None:
    """Use a refresh token once: a new pair of its family. None when the token had already
    been used: its whole family is revoked (the caller commits that, then refuses).
    InvalidAppToken when it is malformed, unknown, expired or revoked."""
    digest = hasher.digest(checked_token(refresh_token, prefix=REFRESH_PREFIX))
    tokens = AppTokenRepository(db)
    row = await tokens.refresh_for_update(digest)
    if (
        row is None
        or row.revoked_at is not None
        or row.expires_at <= now
        or not await tokens.account_is_open(row.account_id)
    ):
        raise InvalidAppToken("unknown, expired or revoked refresh token")
    if row.rotated_at is not None:
        await tokens.revoke_family(family=row.family, now=now)
        return None
    row.rotated_at = now
    await tokens.flush()
    return await issue_token_pair(
        db=db, hasher=hasher, account_id=row.account_id, now=now, family=row.family
    )


async def revoke_family_of(
    *, db: AsyncSession, hasher: ApiKeyHasher, access_token: str, now: datetime
) -> None:
    """Sign out the sign-in the access token belongs to: its family's tokens are revoked."""
    stored = await find_access_token(db=db, hasher=hasher, token=access_token, now=now)
    await AppTokenRepository(db).revoke_family(family=stored.family, now=now)


async def revoke_account_tokens(*, db: AsyncSession, account_id: int, now: datetime) -> None:
    """Sign out every sign-in of the account."""
    await AppTokenRepository(db).revoke_account(account_id=account_id, now=now)


async def prune_app_tokens(*, db: AsyncSession, now: datetime) -> int:
    """Forget tokens long expired: access tokens a day after, refresh tokens a day after."""
    return await AppTokenRepository(db).prune(
        access_before=now - timedelta(days=1), refresh_before=now - timedelta(days=1)
    )
