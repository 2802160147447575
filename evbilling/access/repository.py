"""Repositories for operators and API keys (authentication look-ups)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, or_, select, update

from evbilling.access.domain import decode_scopes, encode_scopes
from evbilling.infra.db.repository import OffsetPage, RepositoryBase
from evbilling.models import ApiKey, Operator


@dataclass(frozen=True, slots=True)
class StoredApiKey:
    """What authentication needs of a key's row, read in a short transaction: a plain value,
    so it stays valid after that transaction has ended."""

    id: int
    operator_id: int
    secret_hash: str
    revoked: bool
    last_used_at: datetime | None
    scopes: frozenset[str]


class OperatorRepository(RepositoryBase[Operator]):
    """Operators own everything else, so nothing scopes them."""

    model = Operator
    owner_column = None
    kind = "operator"

    async def create(self, *, name: str, now: datetime) -> Operator:
        operator = self.add(Operator(name=name, created_at=now))
        await self.flush()
        return operator

    async def first(self) -> Operator | None:
        result = await self.db.execute(select(Operator).order_by(Operator.id).limit(1))
        return result.scalar_one_or_none()

    async def list(self, *, limit: int, offset: int) -> OffsetPage[Operator]:
        return await self.page(select(Operator), limit=limit, offset=offset)

    async def active_key_counts(self, operator_ids: Sequence[int]) -> dict[int, int]:
        if not operator_ids:
            return {}
        result = await self.db.execute(
            select(ApiKey.operator_id, func.count())
            .where(ApiKey.operator_id.in_(operator_ids), ApiKey.revoked_at.is_(None))
            .group_by(ApiKey.operator_id)
        )
        return {row[0]: row[1] for row in result}


class ApiKeyRepository(RepositoryBase[ApiKey]):
    model = ApiKey
    kind = "api key"

    async def create(
        self,
        *,
        operator_id: int,
        name: str,
        prefix: str,
        secret_hash: str,
        scopes: frozenset[str],
        now: datetime,
    ) -> ApiKey:
        key = self.add(
            ApiKey(
                operator_id=operator_id,
                name=name,
                prefix=prefix,
                secret_hash=secret_hash,
                scopes=encode_scopes(scopes),
                created_at=now,
            )
        )
        await self.flush()
        return key

    async def by_prefix(self, prefix: str) -> StoredApiKey | None:
        row = (
            await self.db.execute(
                select(
                    ApiKey.id,
                    ApiKey.operator_id,
                    ApiKey.secret_hash,
                    ApiKey.revoked_at,
                    ApiKey.last_used_at,
                    ApiKey.scopes,
                ).where(ApiKey.prefix == prefix)
            )
        ).first()
        if row is None:
            return None
        return StoredApiKey(
            id=row.id,
            operator_id=row.operator_id,
            secret_hash=row.secret_hash,
            revoked=row.revoked_at is not None,
            last_used_at=row.last_used_at,
            scopes=decode_scopes(row.scopes),
        )

    async def list(self, *, operator_id: int, limit: int, offset: int) -> OffsetPage[ApiKey]:
        return await self.page(self.select_owned(owner_id=operator_id), limit=limit, offset=offset)

    async def record_use(
        self, *, key_id: int, now: datetime, stale_before: datetime, secret_hash: str | None
    ) -> None:
        """Note the key's use if the last note is older than `stale_before`; with
        `secret_hash`, also replace its digest (an argon2 hash that was just verified) unless
        the key was revoked meanwhile."""
        if secret_hash is not None:
            await self.db.execute(
                update(ApiKey)
                .where(ApiKey.id == key_id, ApiKey.revoked_at.is_(None))
                .values(secret_hash=secret_hash, last_used_at=now)
            )
            return
        await self.db.execute(
            update(ApiKey)
            .where(
                ApiKey.id == key_id,
                or_(ApiKey.last_used_at.is_(None), ApiKey.last_used_at < stale_before),
            )
            .values(last_used_at=now)
        )
