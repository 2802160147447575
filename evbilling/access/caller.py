"""Who is calling the operator API: the API-key dependency every operator route declares."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header

from evbilling.access.service import Caller, InvalidApiKey, authenticate_api_key
from evbilling.infra.http.deps import Context


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
