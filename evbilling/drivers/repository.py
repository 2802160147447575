"""The SQL of drivers, driver groups and tokens; reads are scoped to the operator."""

from __future__ import annotations

from sqlalchemy import select

from evbilling.infra.db.repository import OffsetPage, RepositoryBase
from evbilling.models import Driver, DriverGroup, Token


class DriverRepository(RepositoryBase[Driver]):
    model = Driver
    kind = "driver"

    async def list(self, *, operator_id: int, limit: int, offset: int) -> OffsetPage[Driver]:
        return await self.page(self.select_owned(owner_id=operator_id), limit=limit, offset=offset)

    async def tariff_ids(
        self, *, operator_id: int, driver_id: int
    ) -> tuple[int | None, int | None] | None:
        """The tariffs of the driver and of the driver's group; None when no such driver."""
        row = (
            await self.db.execute(
                select(Driver.tariff_id, DriverGroup.tariff_id)
                .outerjoin(DriverGroup, DriverGroup.id == Driver.group_id)
                .where(Driver.id == driver_id, Driver.operator_id == operator_id)
            )
        ).one_or_none()
        return None if row is None else (row[0], row[1])


class DriverGroupRepository(RepositoryBase[DriverGroup]):
    model = DriverGroup
    kind = "driver group"

    async def list(self, *, operator_id: int, limit: int, offset: int) -> OffsetPage[DriverGroup]:
        return await self.page(self.select_owned(owner_id=operator_id), limit=limit, offset=offset)


class TokenRepository(RepositoryBase[Token]):
    model = Token
    kind = "token"

    async def by_uid(self, *, operator_id: int, uid: str) -> Token | None:
        """`uid` must already be normalised (upper-case), as stored."""
        result = await self.db.execute(
            self.select_owned(owner_id=operator_id).where(Token.uid == uid)
        )
        row: Token | None = result.scalar_one_or_none()
        return row

    async def list(
        self,
        *,
        operator_id: int,
        driver_id: int | None,
        status: str | None,
        uid: str | None,
        limit: int,
        offset: int,
    ) -> OffsetPage[Token]:
        statement = self.select_owned(owner_id=operator_id)
        if driver_id is not None:
            statement = statement.where(Token.driver_id == driver_id)
        if status is not None:
            statement = statement.where(Token.status == status)
        if uid is not None:
            statement = statement.where(Token.uid == uid)
        return await self.page(statement, limit=limit, offset=offset)
