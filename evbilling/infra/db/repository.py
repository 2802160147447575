"""What every slice's repository stands on: load by id (scoped to the owner), load for update,
flush with unique-constraint races named, and the two kinds of pages.

Offset pages (with a total) suit small catalog tables that people page through; keyset pages
(`after` the last id seen, newest first or oldest first) suit tables that grow without bound,
such as sessions and meter data, where OFFSET would rescan everything skipped.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, TypeVar

from sqlalchemy import Select, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from evbilling.kit import EVBillingError, NotFound

Row = TypeVar("Row")


class DuplicateRow(EVBillingError):
    """A unique constraint refused the write (a concurrent insert won the race)."""


@dataclass(frozen=True, slots=True)
class PageRequest:
    """What an offset list asks for."""

    limit: int = 50
    offset: int = 0


@dataclass(frozen=True, slots=True)
class OffsetPage(Generic[Row]):
    rows: Sequence[Row]
    total: int
    limit: int
    offset: int


@dataclass(frozen=True, slots=True)
class KeysetPage(Generic[Row]):
    rows: Sequence[Row]
    limit: int
    # The id to pass as `after` for the next page; None when this page is the last.
    next_after: int | None


async def paginate_offset(
    db: AsyncSession,
    statement: Select[Any],
    *,
    order_by: InstrumentedAttribute[Any],
    limit: int,
    offset: int,
) -> OffsetPage[Row]:
    total = await db.scalar(select(func.count()).select_from(statement.subquery()))
    result = await db.execute(statement.order_by(order_by).limit(limit).offset(offset))
    return OffsetPage(
        rows=list(result.scalars()), total=int(total or 0), limit=limit, offset=offset
    )


async def paginate_keyset(
    db: AsyncSession,
    statement: Select[Any],
    *,
    key: InstrumentedAttribute[int],
    limit: int,
    after: int | None,
    descending: bool = True,
) -> KeysetPage[Row]:
    """One page ordered by `key` (a unique integer column), starting after the key `after`."""
    if after is not None:
        statement = statement.where(key < after if descending else key > after)
    ordered = statement.order_by(key.desc() if descending else key.asc()).limit(limit + 1)
    rows = list((await db.execute(ordered)).scalars())
    more = len(rows) > limit
    rows = rows[:limit]
    next_after = int(getattr(rows[-1], key.key)) if more and rows else None
    return KeysetPage(rows=rows, limit=limit, next_after=next_after)


class RepositoryBase(Generic[Row]):
    """Subclasses name their `model`; `owner_column` scopes every read to one operator, so a
    guessed id of another operator's object loads nothing."""

    model: ClassVar[type[Any]]
    owner_column: ClassVar[str | None] = "operator_id"
    # What a missing row is called in NotFound ("location 7 not found").
    kind: ClassVar[str] = "object"

    def __init__(self, db: AsyncSession) -> None:
        self.db = db

    def select_owned(self, *, owner_id: int | None) -> Select[Any]:
        statement: Select[Any] = select(self.model)
        if self.owner_column is not None and owner_id is not None:
            statement = statement.where(getattr(self.model, self.owner_column) == owner_id)
        return statement

    async def get(self, *, id: int, owner_id: int | None = None) -> Row | None:
        statement = self.select_owned(owner_id=owner_id).where(self.model.id == id)
        row: Row | None = (await self.db.execute(statement)).scalar_one_or_none()
        return row

    async def get_for_update(self, *, id: int, owner_id: int | None = None) -> Row | None:
        """The row locked until the transaction ends (FOR UPDATE on PostgreSQL; SQLite has
        one writer at a time, which serialises the same way)."""
        statement = self.select_owned(owner_id=owner_id).where(self.model.id == id)
        row: Row | None = (await self.db.execute(statement.with_for_update())).scalar_one_or_none()
        return row

    async def get_owned(self, *, id: int, owner_id: int) -> Row:
        """The owner's row, or NotFound: another owner's row is not told apart from none."""
        row = await self.get(id=id, owner_id=owner_id)
        if row is None:
            raise NotFound(kind=self.kind, key=id)
        return row

    async def get_owned_for_update(self, *, id: int, owner_id: int) -> Row:
        row = await self.get_for_update(id=id, owner_id=owner_id)
        if row is None:
            raise NotFound(kind=self.kind, key=id)
        return row

    def add(self, row: Row) -> Row:
        self.db.add(row)
        return row

    async def flush(self) -> None:
        """Flush, turning a unique-constraint race into a named error the services can map."""
        try:
            await self.db.flush()
        except IntegrityError as exc:
            raise DuplicateRow(str(exc.orig)) from exc

    async def page(self, statement: Select[Any], *, limit: int, offset: int) -> OffsetPage[Row]:
        return await paginate_offset(
            self.db, statement, order_by=self.model.id, limit=limit, offset=offset
        )

    async def keyset_page(
        self,
        statement: Select[Any],
        *,
        limit: int,
        after: int | None,
        descending: bool = True,
    ) -> KeysetPage[Row]:
        return await paginate_keyset(
            self.db, statement, key=self.model.id, limit=limit, after=after, descending=descending
        )


def apply_changes(row: object, changes: dict[str, object]) -> bool:
    """Set each changed attribute; True when anything actually changed. The one update path:
    services validate a partial update into `changes` (only the fields given), then apply."""
    changed = False
    for attribute, value in changes.items():
        if getattr(row, attribute) != value:
            setattr(row, attribute, value)
            changed = True
    return changed
