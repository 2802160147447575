"""Faults injected into the real test database: a trigger that refuses some rows, so a unit of
work fails inside the database exactly as a poison message would (no stubs)."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

_names = itertools.count(1)
_PG_FUNCTION = (
    "CREATE OR REPLACE FUNCTION evbilling_test_poison() RETURNS trigger LANGUAGE plpgsql AS "
    "$$ BEGIN RAISE EXCEPTION 'poisoned row'; END $$"
)


@asynccontextmanager
async def poisoned(
    engine: AsyncEngine, *, table: str, event: str = "INSERT", when: str
) -> AsyncIterator[None]:
    """While inside, every `event` (INSERT or UPDATE) of a `table` row matching `when` (SQL
    on NEW) fails with a database error; the trigger is dropped on the way out."""
    name = f"evbilling_test_poison_{next(_names)}"
    postgres = engine.dialect.name == "postgresql"
    async with engine.begin() as connection:
        if postgres:
            await connection.execute(text(_PG_FUNCTION))
            await connection.execute(
                text(
                    f"CREATE TRIGGER {name} BEFORE {event} ON {table} FOR EACH ROW "
                    f"WHEN ({when}) EXECUTE FUNCTION evbilling_test_poison()"
                )
            )
        else:
            await connection.execute(
                text(
                    f"CREATE TRIGGER {name} BEFORE {event} ON {table} WHEN {when} "
                    "BEGIN SELECT RAISE(ABORT, 'poisoned row'); END"
                )
            )
    try:
        yield
    finally:
        async with engine.begin() as connection:
            drop = f"DROP TRIGGER IF EXISTS {name}" + (f" ON {table}" if postgres else "")
            await connection.execute(text(drop))
