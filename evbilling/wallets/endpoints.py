"""Operator wallet routes under /api/v1: a driver's wallet, its movements (keyset pages) and
goodwill credits (with a reason; an operator key with the `payments` scope). Another
operator's driver answers 404."""

from __future__ import annotations

from enum import Enum
from typing import Annotated

from fastapi import APIRouter, Query, Request, status

from evbilling.access.caller import CurrentCaller, PaymentsCaller
from evbilling.infra.http.deps import Context, Db
from evbilling.infra.http.schemas import Limit, problems
from evbilling.kit import NotFound
from evbilling.money import Money
from evbilling.wallets import service as wallets
from evbilling.wallets.domain import WalletLimits
from evbilling.wallets.schemas import (
    GoodwillCreate,
    WalletMovementPage,
    WalletMovementRead,
    WalletRead,
)

router = APIRouter()
_TAG: list[str | Enum] = ["wallets"]
CREDITS_ROUTE = "/api/v1/drivers/{driver_id}/wallet/credits"
IDEMPOTENT_ROUTES: tuple[str, ...] = (CREDITS_ROUTE,)
After = Annotated[int | None, Query(ge=1, description="The next_after of the previous page.")]


def wallet_limits(request: Request) -> WalletLimits:
    """The installation's limits, set on the app by main (defaults without)."""
    limits = getattr(request.app.state, "wallet_limits", None)
    return limits if isinstance(limits, WalletLimits) else WalletLimits()


@router.get(
    "/drivers/{driver_id}/wallet",
    response_model=WalletRead,
    tags=_TAG,
    summary="A driver's prepaid wallet: available, reserved for running sessions, balance",
    responses=problems(404),
)
async def get_wallet(driver_id: int, caller: CurrentCaller, db: Db) -> WalletRead:
    view = await wallets.get_wallet(db=db, operator_id=caller.operator_id, driver_id=driver_id)
    if view is None:
        raise NotFound(kind="wallet of driver", key=driver_id)
    return WalletRead.of(view)


@router.get(
    "/drivers/{driver_id}/wallet/movements",
    response_model=WalletMovementPage,
    tags=_TAG,
    summary="What came into and went out of a driver's wallet, newest first",
    responses=problems(404),
)
async def list_movements(
    driver_id: int, caller: CurrentCaller, db: Db, limit: Limit = 50, after: After = None
) -> WalletMovementPage:
    page = await wallets.list_movements(
        db=db, operator_id=caller.operator_id, driver_id=driver_id, limit=limit, after=after
    )
    return WalletMovementPage(
        items=[WalletMovementRead.of(row) for row in page.rows],
        limit=page.limit,
        next_after=page.next_after,
    )


@router.post(
    "/drivers/{driver_id}/wallet/credits",
    response_model=WalletMovementRead,
    status_code=status.HTTP_201_CREATED,
    tags=_TAG,
    summary="Credit a driver's wallet as a goodwill gesture (a reason is required)",
    responses=problems(403, 404, 409, 422),
)
async def credit_goodwill(
    driver_id: int,
    body: GoodwillCreate,
    caller: PaymentsCaller,
    db: Db,
    context: Context,
    request: Request,
) -> WalletMovementRead:
    movement = await wallets.credit_goodwill(
        db=db,
        operator_id=caller.operator_id,
        driver_id=driver_id,
        amount=Money.of(body.amount, body.currency),
        reason=body.reason,
        actor=f"api key {caller.api_key_id}",
        now=context.clock.now(),
        limits=wallet_limits(request),
    )
    return WalletMovementRead.of(movement)
