"""Deferred writes: rows a unit of work defers reach the database with its transaction, and
only with it; whatever reads them in the same transaction sees them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import bindparam, insert, select, update

from evbilling.infra.context import ServiceContext
from evbilling.infra.db.deferred import defer_rows, deferred_rows, flush_deferred
from evbilling.kit import FixedClock
from evbilling.models import Operator

ADD_OPERATOR = insert(Operator)
RENAME_OPERATOR = (
    update(Operator).where(Operator.id == bindparam("oid")).values(name=bindparam("new_name"))
)


def rows(now: datetime, *names: str) -> list[dict[str, object]]:
    return [{"name": name, "created_at": now} for name in names]


async def stored(context: ServiceContext) -> list[str]:
    async with context.unit_of_work() as db:
        return list(await db.scalars(select(Operator.name).order_by(Operator.name)))


class TestDeferredWrites:
    async def test_deferred_rows_are_written_when_the_transaction_commits(
        self, context: ServiceContext, clock: FixedClock
    ) -> None:
        async with context.unit_of_work() as db:
            await defer_rows(db, ADD_OPERATOR, rows(clock.now(), "a", "b"))
            await defer_rows(db, ADD_OPERATOR, rows(clock.now(), "c"))
            assert len(deferred_rows(db, ADD_OPERATOR)) == 3
            await db.commit()

        assert await stored(context) == ["a", "b", "c"]

    async def test_a_rolled_back_transaction_writes_none_of_them(
        self, context: ServiceContext, clock: FixedClock
    ) -> None:
        async with context.unit_of_work() as db:
            await defer_rows(db, ADD_OPERATOR, rows(clock.now(), "a"))
            await db.rollback()
            assert deferred_rows(db, ADD_OPERATOR) == []
            await db.commit()

        assert await stored(context) == []

    async def test_an_orm_statement_in_the_same_transaction_sees_them(
        self, context: ServiceContext, clock: FixedClock
    ) -> None:
        async with context.unit_of_work() as db:
            await defer_rows(db, ADD_OPERATOR, rows(clock.now(), "a"))

            names = list(await db.scalars(select(Operator.name)))

            assert names == ["a"]
            assert deferred_rows(db, ADD_OPERATOR) == []
            await db.rollback()

        assert await stored(context) == []

    async def test_flush_deferred_writes_them_for_core_readers(
        self, context: ServiceContext, clock: FixedClock
    ) -> None:
        async with context.unit_of_work() as db:
            await defer_rows(db, ADD_OPERATOR, rows(clock.now(), "a"))
            await flush_deferred(db)
            connection = await db.connection()

            names = list((await connection.execute(select(Operator.name))).scalars())

            assert names == ["a"]
            await db.commit()

    async def test_inside_a_savepoint_rows_are_written_at_once_and_undone_with_it(
        self, context: ServiceContext, clock: FixedClock
    ) -> None:
        async with context.unit_of_work() as db:
            await defer_rows(db, ADD_OPERATOR, rows(clock.now(), "kept"))
            savepoint = await db.begin_nested()
            await defer_rows(db, ADD_OPERATOR, rows(clock.now(), "undone"))
            await savepoint.rollback()
            await db.commit()

        assert await stored(context) == ["kept"]

    async def test_a_refresh_and_a_later_orm_change_come_after_them(
        self, context: ServiceContext, clock: FixedClock
    ) -> None:
        async with context.unit_of_work() as db:
            operator = Operator(name="first", created_at=clock.now())
            db.add(operator)
            await db.flush()
            await defer_rows(db, RENAME_OPERATOR, [{"oid": operator.id, "new_name": "second"}])

            await db.refresh(operator)
            assert operator.name == "second"
            operator.name = "third"  # the ORM's change, made after the deferred one
            await db.commit()

        assert await stored(context) == ["third"]
