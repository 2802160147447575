"""Request-scoped dependencies: the service context, one unit of work, the calling operator."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Header, Request
from sqlalchemy.ext.asyncio import AsyncSession

from evbilling.access.service import Caller, InvalidApiKey, authenticate_api_key
from evbilling.infra.context import ServiceContext


def get_context(request: Request) -> ServiceContext:
    context: ServiceContext = request.app.state.context
    return context


Context = Annotated[ServiceContext, Depends(get_context)]


async def get_db(context: Context) -> AsyncIterator[AsyncSession]:
    """One transaction per request: the route commits; anything else rolls back."""
    async with context.unit_of_work() as session:
        yield session


Db = Annotated[AsyncSession, Depends(get_db)]


async def get_caller(
    context: Context,
    authorization: Annotated[str | None, Header()] = None,
    x_api_key: Annotated[str | None, Header()] = None,
) -> Caller:
    key = x_api_key
    if authorization is not None:
        scheme, _, credentials = authorization.partition(" ")
        if scheme.lower() != "bearer" or not credentials.strip():
            raise InvalidApiKey("use 'Authorization: Bearer <API key>' or 'X-API-Key'")
        key = credentials.strip()
    if not key:
        raise InvalidApiKey("an API key is required")
    # Authentication reads in its own short transaction so the request's stays clean.
    async with context.unit_of_work() as session:
        return await authenticate_api_key(db=session, key=key, cache=context.api_key_cache)


CurrentCaller = Annotated[Caller, Depends(get_caller)]
