"""The app's payment routes: the driver's payments and receipts, and their saved payment
methods (added on the provider's hosted page, removed at the provider, the default chosen)."""

from __future__ import annotations

from enum import Enum

from fastapi import APIRouter, Request, Response, status

from evbilling.access.driver_caller import CurrentDriver
from evbilling.app.driving_deps import After, receipt_url
from evbilling.app.driving_schemas import (
    AppPaymentPage,
    MethodRead,
    MethodSetupRead,
    ReceiptPage,
    ReceiptRead,
)
from evbilling.infra.context import ServiceContext
from evbilling.infra.http.deps import Context, Db
from evbilling.infra.http.schemas import Limit, problems
from evbilling.payments import card_setup, methods, receipts
from evbilling.payments.endpoints import Edge
from evbilling.payments.repository import PaymentRepository

router = APIRouter()
_PAYMENTS: list[str | Enum] = ["payments"]
_METHODS: list[str | Enum] = ["payment methods"]


@router.get(
    "/payments",
    response_model=AppPaymentPage,
    tags=_PAYMENTS,
    summary="The driver's card holds and payments, newest first",
    responses=problems(401),
)
async def list_payments(
    caller: CurrentDriver, db: Db, limit: Limit = 50, after: After = None
) -> AppPaymentPage:
    page = await PaymentRepository(db).list_page(
        operator_id=caller.operator_id, limit=limit, after=after, driver_id=caller.driver_id
    )
    return AppPaymentPage.model_validate(page)


def _receipt(request: Request, context: ServiceContext, found: receipts.Receipt) -> ReceiptRead:
    return ReceiptRead.model_validate(
        {
            **{name: getattr(found, name) for name in found.__slots__},
            "url": receipt_url(request, context, found.session_id),
        }
    )


@router.get(
    "/receipts",
    response_model=ReceiptPage,
    tags=_PAYMENTS,
    summary="Receipts of the driver's finished sessions, newest first",
    responses=problems(401),
)
async def list_receipts(
    request: Request,
    caller: CurrentDriver,
    context: Context,
    db: Db,
    limit: Limit = 20,
    after: After = None,
) -> ReceiptPage:
    found, next_after = await receipts.list_driver_receipts(
        db=db, operator_id=caller.operator_id, driver_id=caller.driver_id, limit=limit, after=after
    )
    return ReceiptPage(
        items=[_receipt(request, context, item) for item in found],
        limit=limit,
        next_after=next_after,
    )


@router.get(
    "/receipts/{session_id}",
    response_model=ReceiptRead,
    tags=_PAYMENTS,
    summary="The receipt of one of the driver's finished sessions",
    responses=problems(401, 404),
)
async def get_receipt(
    session_id: int, request: Request, caller: CurrentDriver, context: Context, db: Db
) -> ReceiptRead:
    found = await receipts.get_driver_receipt(
        db=db, operator_id=caller.operator_id, driver_id=caller.driver_id, session_id=session_id
    )
    return _receipt(request, context, found)


@router.get(
    "/payment-methods",
    response_model=list[MethodRead],
    tags=_METHODS,
    summary="The driver's saved cards (brand, last 4 and expiry only)",
    responses=problems(401),
)
async def list_methods(caller: CurrentDriver, db: Db) -> list[MethodRead]:
    rows = await card_setup.list_methods(
        db=db, operator_id=caller.operator_id, driver_id=caller.driver_id
    )
    return [MethodRead.model_validate(row) for row in rows]


@router.post(
    "/payment-methods/setups",
    response_model=MethodSetupRead,
    status_code=status.HTTP_201_CREATED,
    tags=_METHODS,
    summary="Add a card: returns the provider's hosted page to open",
    responses=problems(401, 404, 503),
)
async def create_setup(caller: CurrentDriver, context: Context, edge: Edge) -> MethodSetupRead:
    setup = await card_setup.start_card_setup(
        context=context,
        provider=edge.provider,
        operator_id=caller.operator_id,
        driver_id=caller.driver_id,
        return_url=edge.return_url,
    )
    return MethodSetupRead.model_validate(setup)


@router.delete(
    "/payment-methods/{method_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    tags=_METHODS,
    summary="Remove a saved card (detached at the provider)",
    responses=problems(401, 404, 503),
)
async def remove_method(
    method_id: int, caller: CurrentDriver, context: Context, edge: Edge
) -> Response:
    await methods.remove_method(
        context=context,
        provider=edge.provider,
        operator_id=caller.operator_id,
        driver_id=caller.driver_id,
        method_id=method_id,
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/payment-methods/{method_id}/default",
    response_model=MethodRead,
    tags=_METHODS,
    summary="Make a saved card the one future holds are placed on",
    responses=problems(401, 404),
)
async def make_default(
    method_id: int, caller: CurrentDriver, context: Context, db: Db
) -> MethodRead:
    row = await methods.make_default(
        db=db,
        operator_id=caller.operator_id,
        driver_id=caller.driver_id,
        method_id=method_id,
        now=context.clock.now(),
    )
    return MethodRead.model_validate(row)
