"""Who is calling the operator API: the API-key dependency every operator route declares.

A request's key is checked in three steps: its digest is computed (HMAC-SHA256, on the
event loop, before any database work), its row is read by the public prefix in a short
transaction of its own, and the two digests are compared in constant time after that
transaction has ended. Nothing is cached: a key revoked through any server is refused by
every server at its next request.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Header

from evbilling.access.domain import (
    InvalidApiKey,
    MissingScope,
    Scope,
    api_key_prefix,
    last_use_is_stale,
)
from evbilling.access.repository import StoredApiKey
from evbilling.access.service import Caller, find_api_key, record_api_key_use
from evbilling.infra.context import ServiceContext
from evbilling.infra.http.deps import Context
from evbilling.infra.secrets import is_argon2_hash, verify_secret_async

_REFUSED = "unknown or revoked API key"


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
    return await authenticate(context=context, key=key)


async def authenticate(*, context: ServiceContext, key: str) -> Caller:
    prefix = api_key_prefix(key)
    digest = context.api_keys.digest(key)
    # Not the request's transaction: that one must start clean, and this one ends before
    # the comparison.
    async with context.unit_of_work() as db:
        stored = await find_api_key(db=db, prefix=prefix)
    if stored is None or stored.revoked:
        raise InvalidApiKey(_REFUSED)
    upgraded: str | None = None
    if is_argon2_hash(stored.secret_hash):
        upgraded = await _verify_issued_before_hmac(stored, key=key, digest=digest)
    elif not context.api_keys.matches(api_key_digest=digest, stored=stored.secret_hash):
        raise InvalidApiKey(_REFUSED)
    now = context.clock.now()
    if upgraded is not None or last_use_is_stale(last_used_at=stored.last_used_at, now=now):
        async with context.unit_of_work() as db:
            await record_api_key_use(db=db, key_id=stored.id, now=now, upgraded_digest=upgraded)
            await db.commit()
    return Caller(operator_id=stored.operator_id, api_key_id=stored.id, scopes=stored.scopes)


async def _verify_issued_before_hmac(stored: StoredApiKey, *, key: str, digest: str) -> str:
    """A key issued before HMAC digests: checked against its argon2 hash this once (in a
    thread), and its HMAC digest returned to replace that hash."""
    if not await verify_secret_async(secret=key, secret_hash=stored.secret_hash):
        raise InvalidApiKey(_REFUSED)
    return digest


CurrentCaller = Annotated[Caller, Depends(get_caller)]


def require_scope(scope: Scope | str) -> Callable[[Caller], Awaitable[Caller]]:
    """A dependency: the caller, if its key holds `scope` (403 otherwise)."""
    needed = Scope(scope).value

    async def dependency(caller: CurrentCaller) -> Caller:
        if needed not in caller.scopes:
            raise MissingScope(needed)
        return caller

    return dependency


PaymentsCaller = Annotated[Caller, Depends(require_scope(Scope.PAYMENTS))]
