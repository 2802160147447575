"""Repositories for operators and API keys (authentication look-ups)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from evbilling.infra.db.repository import RepositoryBase
from evbilling.models import ApiKey, Operator


class OperatorRepository(RepositoryBase[Operator]):
    """Operators own everything else, so nothing scopes them."""

    model = Operator
    owner_column = None

    async def create(self, *, name: str, now: datetime) -> Operator:
        operator = self.add(Operator(name=name, created_at=now))
        await self.flush()
        return operator

    async def first(self) -> Operator | None:
        result = await self.db.execute(select(Operator).order_by(Operator.id).limit(1))
        return result.scalar_one_or_none()


class ApiKeyRepository(RepositoryBase[ApiKey]):
    model = ApiKey
    kind = "api key"

    async def create(
        self, *, operator_id: int, name: str, prefix: str, secret_hash: str, now: datetime
    ) -> ApiKey:
        key = self.add(
            ApiKey(
                operator_id=operator_id,
                name=name,
                prefix=prefix,
                secret_hash=secret_hash,
                created_at=now,
            )
        )
        await self.db.flush()
        return key

    async def by_prefix(self, prefix: str) -> ApiKey | None:
        result = await self.db.execute(select(ApiKey).where(ApiKey.prefix == prefix))
        return result.scalar_one_or_none()

    async def list_for(self, operator_id: int) -> list[ApiKey]:
        result = await self.db.execute(
            select(ApiKey).where(ApiKey.operator_id == operator_id).order_by(ApiKey.id)
        )
        return list(result.scalars())
