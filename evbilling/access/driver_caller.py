"""Who is calling the driver app API: the access-token dependency every app route declares.

Like the operator's API key (`caller.py`): the token's digest is computed on the event loop,
its row (and its account's) is read in a short transaction of its own, and nothing is cached,
so a revoked token or a closed account is refused at once by every server.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Header

from evbilling.access.app_tokens import InvalidAppToken, find_access_token
from evbilling.infra.context import ServiceContext
from evbilling.infra.http.deps import Context
from evbilling.kit.errors import Conflict


@dataclass(frozen=True, slots=True)
class DriverCaller:
    driver_id: int
    operator_id: int
    account_id: int
    # Whether the account's e-mail address is verified: a driver may sign in before, but
    # starting a charge (or anything that spends money) requires it.
    verified: bool = False


def bearer_token(authorization: str | None) -> str:
    """The credentials of an `Authorization: Bearer <token>` header; InvalidAppToken else."""
    if authorization is None:
        raise InvalidAppToken("an access token is required: 'Authorization: Bearer <token>'")
    scheme, _, credentials = authorization.partition(" ")
    if scheme.lower() != "bearer" or not credentials.strip():
        raise InvalidAppToken("use 'Authorization: Bearer <access token>'")
    return credentials.strip()


async def authenticate_driver(*, context: ServiceContext, token: str) -> DriverCaller:
    async with context.unit_of_work() as db:
        stored = await find_access_token(
            db=db, hasher=context.api_keys, token=token, now=context.clock.now()
        )
    return DriverCaller(
        driver_id=stored.driver_id,
        operator_id=stored.operator_id,
        account_id=stored.account_id,
        verified=stored.verified,
    )


async def get_current_driver(
    context: Context, authorization: Annotated[str | None, Header()] = None
) -> DriverCaller:
    return await authenticate_driver(context=context, token=bearer_token(authorization))


CurrentDriver = Annotated[DriverCaller, Depends(get_current_driver)]


class UnverifiedEmail(Conflict):
    """Spending money (charging, topping up) needs a verified e-mail address."""


def require_verified(caller: DriverCaller, *, before: str) -> None:
    """Refuse (409) what spends money until the driver confirmed their address."""
    if not caller.verified:
        raise UnverifiedEmail(f"verify your e-mail address before {before}")
