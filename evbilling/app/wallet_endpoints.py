"""The driver's own wallet in the app (tag "wallet"): the balance, its movements (keyset
pages) and top-ups charged to the driver's saved card through the provider. Every route is
scoped to the signed-in driver: there is no wallet id to guess, so another driver's wallet
is never reachable; a driver of no wallet gets 404."""

from __future__ import annotations

from enum import Enum
from typing import Annotated

from fastapi import APIRouter, Query, Request, status

from evbilling.access.driver_caller import CurrentDriver, require_verified
from evbilling.infra.http.deps import Context, Db
from evbilling.infra.http.schemas import Limit, Output, problems
from evbilling.kit import NotFound
from evbilling.money import Money
from evbilling.payments import wallet_topups
from evbilling.payments.endpoints import Edge
from evbilling.wallets import service as wallets
from evbilling.wallets.endpoints import wallet_limits
from evbilling.wallets.schemas import (
    TopUpCreate,
    WalletMovementPage,
    WalletMovementRead,
    WalletRead,
)

router = APIRouter()
_TAG: list[str | Enum] = ["wallet"]
After = Annotated[int | None, Query(ge=1, description="The next_after of the previous page.")]


class TopUpRead(Output):
    topup_id: int
    status: str
    amount: str
    currency: str
    wallet: WalletRead


@router.get(
    "/wallet",
    response_model=WalletRead,
    tags=_TAG,
    summary="My wallet: available, reserved for a running session, balance",
    responses=problems(401, 404),
)
async def get_my_wallet(driver: CurrentDriver, db: Db) -> WalletRead:
    view = await wallets.get_wallet(
        db=db, operator_id=driver.operator_id, driver_id=driver.driver_id
    )
    if view is None:
        raise NotFound(kind="wallet", key="of this driver")
    return WalletRead.of(view)


@router.get(
    "/wallet/movements",
    response_model=WalletMovementPage,
    tags=_TAG,
    summary="What came into and went out of my wallet, newest first",
    responses=problems(401),
)
async def list_my_movements(
    driver: CurrentDriver, db: Db, limit: Limit = 50, after: After = None
) -> WalletMovementPage:
    page = await wallets.list_movements(
        db=db, operator_id=driver.operator_id, driver_id=driver.driver_id, limit=limit, after=after
    )
    return WalletMovementPage(
        items=[WalletMovementRead.of(row) for row in page.rows],
        limit=page.limit,
        next_after=page.next_after,
    )


@router.post(
    "/wallet/top-ups",
    response_model=TopUpRead,
    status_code=status.HTTP_201_CREATED,
    tags=_TAG,
    summary="Top up my wallet from my saved card (409 without one: save a card first)",
    responses=problems(401, 404, 409, 422),
)
async def top_up_my_wallet(
    body: TopUpCreate, driver: CurrentDriver, context: Context, edge: Edge, request: Request
) -> TopUpRead:
    require_verified(driver, before="topping up")
    result = await wallet_topups.top_up(
        context=context,
        provider=edge.provider,
        operator_id=driver.operator_id,
        driver_id=driver.driver_id,
        amount=Money.of(body.amount, body.currency),
        limits=wallet_limits(request),
    )
    async with context.unit_of_work() as db:
        view = await wallets.get_wallet(
            db=db, operator_id=driver.operator_id, driver_id=driver.driver_id
        )
    assert view is not None, "a top-up opens the wallet"
    return TopUpRead(
        topup_id=result.topup_id,
        status=result.status.value,
        amount=str(result.amount.amount),
        currency=result.amount.currency,
        wallet=WalletRead.of(view),
    )
