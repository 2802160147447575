"""Operators and API keys: who is calling the operator API."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from evbilling.access.repository import ApiKeyRepository, OperatorRepository
from evbilling.infra.secrets import VerifiedSecretCache, hash_secret_async, verify_secret_async
from evbilling.kit import EVBillingError
from evbilling.kit.errors import NotFound

API_KEY_PREFIX = "evb"


class InvalidApiKey(EVBillingError):
    """The API key is missing, malformed, unknown or revoked."""


@dataclass(frozen=True, slots=True)
class Caller:
    operator_id: int
    api_key_id: int


@dataclass(frozen=True, slots=True)
class IssuedApiKey:
    id: int
    name: str
    operator_id: int
    key: str  # shown once; only its argon2 hash is stored


async def ensure_operator(*, db: AsyncSession, name: str, now: datetime) -> int:
    """The operator a single-tenant installation works for; created on first use."""
    operators = OperatorRepository(db)
    existing = await operators.first()
    if existing is not None:
        return existing.id
    return (await operators.create(name=name, now=now)).id


async def create_api_key(
    *, db: AsyncSession, operator_id: int, name: str, now: datetime
) -> IssuedApiKey:
    if await OperatorRepository(db).get(id=operator_id) is None:
        raise NotFound(kind="operator", key=operator_id)
    prefix = secrets.token_hex(6)
    secret = secrets.token_urlsafe(24)
    key = f"{API_KEY_PREFIX}_{prefix}_{secret}"
    row = await ApiKeyRepository(db).create(
        operator_id=operator_id,
        name=name,
        prefix=prefix,
        secret_hash=await hash_secret_async(key),
        now=now,
    )
    return IssuedApiKey(id=row.id, name=name, operator_id=operator_id, key=key)


async def revoke_api_key(
    *, db: AsyncSession, operator_id: int, key_id: int, now: datetime, cache: VerifiedSecretCache
) -> None:
    row = await ApiKeyRepository(db).get_owned(id=key_id, owner_id=operator_id)
    row.revoked_at = now
    await db.flush()
    cache.forget_owner(row.id)


async def authenticate_api_key(*, db: AsyncSession, key: str, cache: VerifiedSecretCache) -> Caller:
    parts = key.split("_", 2)
    if len(parts) != 3 or parts[0] != API_KEY_PREFIX or not parts[1] or not parts[2]:
        raise InvalidApiKey("malformed API key")
    row = await ApiKeyRepository(db).by_prefix(parts[1])
    if row is None or row.revoked_at is not None:
        raise InvalidApiKey("unknown or revoked API key")
    if cache.get(key) != row.id:
        if not await verify_secret_async(secret=key, secret_hash=row.secret_hash):
            raise InvalidApiKey("unknown or revoked API key")
        cache.put(key, row.id)
    return Caller(operator_id=row.operator_id, api_key_id=row.id)
