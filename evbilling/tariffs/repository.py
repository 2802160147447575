"""The SQL of tariffs and their versions; reads are scoped to the operator."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import and_, func, select, update

from evbilling.infra.db.repository import OffsetPage, RepositoryBase
from evbilling.models import Operator, Tariff, TariffVersion


class TariffRepository(RepositoryBase[Tariff]):
    model = Tariff

    async def list(self, *, operator_id: int, limit: int, offset: int) -> OffsetPage[Tariff]:
        return await self.page(self.select_owned(owner_id=operator_id), limit=limit, offset=offset)

    async def get_many(self, *, operator_id: int, tariff_ids: Sequence[int]) -> dict[int, Tariff]:
        if not tariff_ids:
            return {}
        statement = self.select_owned(owner_id=operator_id).where(Tariff.id.in_(tariff_ids))
        return {row.id: row for row in (await self.db.execute(statement)).scalars()}

    async def ocpi_id_taken(
        self, *, operator_id: int, ocpi_id: str, except_id: int | None = None
    ) -> bool:
        statement = select(Tariff.id).where(
            Tariff.operator_id == operator_id, Tariff.ocpi_id == ocpi_id
        )
        if except_id is not None:
            statement = statement.where(Tariff.id != except_id)
        return await self.db.scalar(statement) is not None

    async def default_for(self, *, operator_id: int) -> Tariff | None:
        result = await self.db.execute(
            self.select_owned(owner_id=operator_id)
            .where(Tariff.is_default.is_(True))
            .order_by(Tariff.id)
            .limit(1)
        )
        row: Tariff | None = result.scalar_one_or_none()
        return row

    async def lock_defaults(self, *, operator_id: int) -> None:
        """Serialise default changes per operator (row lock on PostgreSQL; SQLite has one
        writer anyway), so two concurrent 'make default' calls cannot leave two defaults."""
        await self.db.execute(
            select(Operator.id).where(Operator.id == operator_id).with_for_update()
        )

    async def clear_default(self, *, operator_id: int, keep_id: int | None, now: datetime) -> None:
        statement = (
            update(Tariff)
            .where(Tariff.operator_id == operator_id, Tariff.is_default.is_(True))
            .values(is_default=False, updated_at=now)
            .execution_options(synchronize_session="fetch")
        )
        if keep_id is not None:
            statement = statement.where(Tariff.id != keep_id)
        await self.db.execute(statement)

    def add_version(self, version: TariffVersion) -> TariffVersion:
        self.db.add(version)
        return version

    async def versions(self, *, tariff_id: int) -> Sequence[TariffVersion]:
        result = await self.db.execute(
            select(TariffVersion)
            .where(TariffVersion.tariff_id == tariff_id)
            .order_by(TariffVersion.version)
        )
        return list(result.scalars())

    async def version(self, *, tariff_id: int, version: int) -> TariffVersion | None:
        result = await self.db.execute(
            select(TariffVersion).where(
                TariffVersion.tariff_id == tariff_id, TariffVersion.version == version
            )
        )
        return result.scalar_one_or_none()

    async def versions_at(
        self, *, tariff_ids: Sequence[int], at: datetime
    ) -> dict[int, TariffVersion]:
        """Per tariff, the version in force at `at`: the latest one published at or before
        it, or the first one for a tariff published after it."""
        if not tariff_ids:
            return {}
        versions = TariffVersion.__table__.c
        latest = (
            select(versions.tariff_id, func.max(versions.version).label("version"))
            .where(versions.tariff_id.in_(tariff_ids), versions.created_at <= at)
            .group_by(versions.tariff_id)
            .subquery()
        )
        statement = select(TariffVersion).join(
            latest,
            and_(
                TariffVersion.tariff_id == latest.c.tariff_id,
                TariffVersion.version == latest.c.version,
            ),
        )
        found = {row.tariff_id: row for row in (await self.db.execute(statement)).scalars()}
        younger = [tariff_id for tariff_id in tariff_ids if tariff_id not in found]
        if younger:
            first = select(TariffVersion).where(
                TariffVersion.tariff_id.in_(younger), TariffVersion.version == 1
            )
            found.update((row.tariff_id, row) for row in (await self.db.execute(first)).scalars())
        return found
