"""One unit of work, tried again when PostgreSQL refuses it for a serialization failure or a
deadlock (SQLSTATE 40001, 40P01): nothing of a refused attempt was committed, so running the
whole work again is safe. The guarded UPDATEs of wallets run under READ COMMITTED and should
not be refused; this is the safety net should an installation run stricter isolation."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from evbilling.infra.context import ServiceContext

T = TypeVar("T")
RETRYABLE = frozenset({"40001", "40P01"})


def is_retryable(error: DBAPIError) -> bool:
    original = error.orig
    code = getattr(original, "sqlstate", None) or getattr(original, "pgcode", None)
    return code in RETRYABLE


async def in_retried_unit(
    context: ServiceContext,
    work: Callable[[AsyncSession], Awaitable[T]],
    *,
    attempts: int = 5,
) -> T:
    """Run `work` in a unit of work and commit it, again on a serialization failure."""
    for attempt in range(attempts):
        try:
            async with context.unit_of_work() as db:
                result = await work(db)
                await db.commit()
                return result
        except DBAPIError as error:
            if not is_retryable(error) or attempt == attempts - 1:
                raise
            await asyncio.sleep(0.005 * 2**attempt)
    raise AssertionError("unreachable")
