"""Operators and API keys: create operators, issue, list and revoke keys, and the database
steps of authenticating a key (`caller` runs them around the digest check).

Keys are stored as HMAC-SHA256 digests under the server's secret (`infra.secrets`). Nothing
remembers an accepted key between requests: every request reads the key's row, so a revoked
key is refused at once by every server on the database.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from evbilling.access.domain import (
    ALL_SCOPES,
    LAST_USED_RESOLUTION,
    InvalidApiKey,
    MissingScope,
    new_api_key,
    parse_scopes,
)
from evbilling.access.repository import ApiKeyRepository, OperatorRepository, StoredApiKey
from evbilling.infra.db.repository import OffsetPage, PageRequest
from evbilling.infra.secrets import ApiKeyHasher
from evbilling.infra.validation import MAX_NAME_LENGTH, check_page, required_text
from evbilling.kit.errors import InvalidRequest, NotFound
from evbilling.models import ApiKey, Operator

__all__ = [
    "Caller",
    "CreatedOperator",
    "InvalidApiKey",
    "IssuedApiKey",
    "OperatorSummary",
    "check_operator",
    "create_api_key",
    "create_operator",
    "ensure_operator",
    "find_api_key",
    "list_api_keys",
    "list_operators",
    "record_api_key_use",
    "revoke_api_key",
]


@dataclass(frozen=True, slots=True)
class Caller:
    operator_id: int
    api_key_id: int
    scopes: frozenset[str] = field(default=frozenset())


@dataclass(frozen=True, slots=True)
class IssuedApiKey:
    id: int
    name: str
    operator_id: int
    prefix: str
    created_at: datetime
    key: str  # shown once; only its digest is stored
    scopes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class CreatedOperator:
    id: int
    name: str
    created_at: datetime
    api_key: IssuedApiKey


@dataclass(frozen=True, slots=True)
class OperatorSummary:
    id: int
    name: str
    created_at: datetime
    active_api_keys: int


async def ensure_operator(*, db: AsyncSession, name: str, now: datetime) -> int:
    """The operator a single-tenant installation works for (the first one); created on first
    use."""
    operators = OperatorRepository(db)
    existing = await operators.first()
    if existing is not None:
        return existing.id
    return (await operators.create(name=name, now=now)).id


async def check_operator(*, db: AsyncSession, operator_id: int) -> int:
    if await OperatorRepository(db).get(id=operator_id) is None:
        raise NotFound(kind="operator", key=operator_id)
    return operator_id


async def create_operator(
    *, db: AsyncSession, name: str, now: datetime, hasher: ApiKeyHasher
) -> CreatedOperator:
    """A new operator of a multi-operator installation, with its first API key. It sees
    only what it creates: every read and write is scoped to its id."""
    name = required_text(name, field="name", max_length=MAX_NAME_LENGTH)
    row = await OperatorRepository(db).create(name=name, now=now)
    key = await create_api_key(
        db=db, operator_id=row.id, name="first", now=now, hasher=hasher, scopes=ALL_SCOPES
    )
    return CreatedOperator(id=row.id, name=row.name, created_at=row.created_at, api_key=key)


async def list_operators(
    *, db: AsyncSession, page: PageRequest = PageRequest()
) -> OffsetPage[OperatorSummary]:
    check_page(page)
    operators = OperatorRepository(db)
    found: OffsetPage[Operator] = await operators.list(limit=page.limit, offset=page.offset)
    counts = await operators.active_key_counts([row.id for row in found.rows])
    return OffsetPage(
        rows=[
            OperatorSummary(
                id=row.id,
                name=row.name,
                created_at=row.created_at,
                active_api_keys=counts.get(row.id, 0),
            )
            for row in found.rows
        ],
        total=found.total,
        limit=found.limit,
        offset=found.offset,
    )


async def create_api_key(
    *,
    db: AsyncSession,
    operator_id: int,
    name: str,
    now: datetime,
    hasher: ApiKeyHasher,
    scopes: Iterable[str] = (),
    granted_by: frozenset[str] | None = None,
) -> IssuedApiKey:
    """A new key with `scopes` (access.domain.Scope; none: the everyday routes only).
    `granted_by`: the scopes of the key asking for it, which can hand out no more than it
    holds (None: the command line, which works on the database directly)."""
    name = required_text(name, field="name", max_length=MAX_NAME_LENGTH)
    try:
        wanted = parse_scopes(scopes)
    except ValueError as exc:
        raise InvalidRequest(str(exc), field="scopes") from exc
    if granted_by is not None:
        for scope in sorted(wanted - granted_by):
            raise MissingScope(scope)
    await check_operator(db=db, operator_id=operator_id)
    issued = new_api_key()
    row = await ApiKeyRepository(db).create(
        operator_id=operator_id,
        name=name,
        prefix=issued.prefix,
        secret_hash=hasher.digest(issued.key),
        scopes=wanted,
        now=now,
    )
    return IssuedApiKey(
        id=row.id,
        name=name,
        operator_id=operator_id,
        prefix=issued.prefix,
        created_at=now,
        key=issued.key,
        scopes=tuple(sorted(wanted)),
    )


async def list_api_keys(
    *, db: AsyncSession, operator_id: int, page: PageRequest = PageRequest()
) -> OffsetPage[ApiKey]:
    check_page(page)
    return await ApiKeyRepository(db).list(
        operator_id=operator_id, limit=page.limit, offset=page.offset
    )


async def revoke_api_key(
    *, db: AsyncSession, operator_id: int, key_id: int, now: datetime
) -> ApiKey:
    """Revoke the operator's key (its own current one too); revoking twice keeps the first
    time. Another operator's key is not found."""
    row = await ApiKeyRepository(db).get_owned_for_update(id=key_id, owner_id=operator_id)
    if row.revoked_at is None:
        row.revoked_at = now
        await db.flush()
    return row


async def find_api_key(*, db: AsyncSession, prefix: str) -> StoredApiKey | None:
    return await ApiKeyRepository(db).by_prefix(prefix)


async def record_api_key_use(
    *, db: AsyncSession, key_id: int, now: datetime, upgraded_digest: str | None = None
) -> None:
    """Note a verified key's use (at most every LAST_USED_RESOLUTION); `upgraded_digest`
    replaces an argon2 hash from before HMAC digests."""
    await ApiKeyRepository(db).record_use(
        key_id=key_id,
        now=now,
        stale_before=now - LAST_USED_RESOLUTION,
        secret_hash=upgraded_digest,
    )
