"""Request-scoped dependencies: the service context and one unit of work per request.

`Db` is the request's transaction: it commits when the route returns and rolls back when it
raises, before the response is sent (scope "function"), so a success is never answered for
work that was not committed, and routes and services never commit themselves.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from evbilling.infra.context import ServiceContext


def get_context(request: Request) -> ServiceContext:
    context: ServiceContext = request.app.state.context
    return context


Context = Annotated[ServiceContext, Depends(get_context)]


async def get_db(context: Context) -> AsyncIterator[AsyncSession]:
    async with context.unit_of_work() as session:
        yield session
        await session.commit()


Db = Annotated[AsyncSession, Depends(get_db, scope="function")]
