"""Payment routes. Under /api/v1 (`router`, an operator key with the `payments` scope):
card set-ups, saved methods, payments (holds), refunds, receivables, reconciliation. Mounted
at /payments (`pages_router`): the card set-up return page; at /webhooks
(`webhook_router`): `POST /webhooks/{provider}[/{endpoint}]`.

Routes that call the provider open their own short units of work (no transaction is open
while the provider answers), so they take the context, not the request's `Db`.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request, Response, status
from fastapi.responses import HTMLResponse

from evbilling.access.caller import PaymentsCaller
from evbilling.infra.http.deps import Context, Db
from evbilling.infra.http.schemas import Limit, problems
from evbilling.infra.validation import MAX_RECORD_ID
from evbilling.kit import NotFound
from evbilling.payments import card_setup, postpaid_charges, reconcile, refunds, service, webhooks
from evbilling.payments.psp import PaymentProvider
from evbilling.payments.schemas import (
    CardSetupRead,
    ChargePage,
    ChargeRead,
    PaymentMethodRead,
    PaymentPage,
    PaymentRead,
    ReconciliationCreate,
    ReconciliationRead,
    RefundCreate,
    RefundRead,
    WriteOffCreate,
)
from evbilling.postpaid.schemas import PaymentRead as PostpaidPaymentRead

# Money-moving routes (full paths) the Idempotency-Key middleware guards.
IDEMPOTENT_ROUTES: tuple[str, ...] = (
    "/api/v1/drivers/{driver_id}/card-setups",
    "/api/v1/payments/{payment_id}/refunds",
    "/api/v1/sessions/{session_id}/charge/write-off",
    "/api/v1/postpaid-accounts/{account_id}/statements/{statement_id}/card-payments",
)
PAGES_PREFIX = card_setup.PAGES_PREFIX
WEBHOOKS_PREFIX = "/webhooks"
_RETURN = card_setup.RETURN_PATH.removeprefix(PAGES_PREFIX)

router = APIRouter()
pages_router = APIRouter()
webhook_router = APIRouter()
_TAG: list[str | Enum] = ["payments"]


@dataclass(frozen=True, slots=True)
class PaymentsEdge:
    """What the payment routes need besides the context: the configured provider and where
    the provider sends the driver back to (the server's public base URL)."""

    provider: PaymentProvider
    public_base_url: str

    @property
    def return_url(self) -> str:
        return self.public_base_url.rstrip("/") + card_setup.RETURN_PATH


def get_edge(request: Request) -> PaymentsEdge:
    edge: PaymentsEdge | None = getattr(request.app.state, "payments", None)
    if edge is None:
        raise NotFound(kind="payment provider", key="configured")
    return edge


Edge = Annotated[PaymentsEdge, Depends(get_edge)]
After = Annotated[int | None, Query(ge=1, description="The next_after of the previous page.")]


@router.post(
    "/drivers/{driver_id}/card-setups",
    response_model=CardSetupRead,
    status_code=status.HTTP_201_CREATED,
    tags=_TAG,
    summary="Start saving a card for a driver: returns the provider's hosted page URL",
    responses=problems(403, 404, 503),
)
async def create_card_setup(
    driver_id: int, caller: PaymentsCaller, context: Context, edge: Edge
) -> CardSetupRead:
    setup = await card_setup.start_card_setup(
        context=context,
        provider=edge.provider,
        operator_id=caller.operator_id,
        driver_id=driver_id,
        return_url=edge.return_url,
    )
    return CardSetupRead.model_validate(setup)


@router.get(
    "/drivers/{driver_id}/payment-methods",
    response_model=list[PaymentMethodRead],
    tags=_TAG,
    summary="A driver's saved cards (token brand, last 4 and expiry only)",
    responses=problems(403, 404),
)
async def list_methods(driver_id: int, caller: PaymentsCaller, db: Db) -> list[PaymentMethodRead]:
    rows = await card_setup.list_methods(db=db, operator_id=caller.operator_id, driver_id=driver_id)
    return [PaymentMethodRead.model_validate(row) for row in rows]


@router.get(
    "/payments",
    response_model=PaymentPage,
    tags=_TAG,
    summary="Holds and payments, newest first",
    responses=problems(403),
)
async def list_payments(
    caller: PaymentsCaller,
    db: Db,
    limit: Limit = 50,
    after: After = None,
    driver_id: Annotated[int | None, Query(ge=1)] = None,
) -> PaymentPage:
    page = await service.list_payments(
        db=db, operator_id=caller.operator_id, limit=limit, after=after, driver_id=driver_id
    )
    return PaymentPage.model_validate(page)


@router.get(
    "/payments/receivables",
    response_model=ChargePage,
    tags=_TAG,
    summary="Settled sessions drivers still owe money for",
    responses=problems(403),
)
async def list_receivables(
    caller: PaymentsCaller, db: Db, limit: Limit = 50, after: After = None
) -> ChargePage:
    page = await service.list_receivables(
        db=db, operator_id=caller.operator_id, limit=limit, after=after
    )
    return ChargePage.model_validate(page)


@router.get(
    "/payments/{payment_id}",
    response_model=PaymentRead,
    tags=_TAG,
    summary="One hold or payment",
    responses=problems(403, 404),
)
async def get_payment(payment_id: int, caller: PaymentsCaller, db: Db) -> PaymentRead:
    row = await service.get_payment(db=db, operator_id=caller.operator_id, payment_id=payment_id)
    return PaymentRead.model_validate(row)


@router.post(
    "/payments/{payment_id}/refunds",
    response_model=RefundRead,
    status_code=status.HTTP_201_CREATED,
    tags=_TAG,
    summary="Refund all or part of a captured payment (never more than captured)",
    responses=problems(403, 404, 409),
)
async def create_refund(
    payment_id: int, body: RefundCreate, caller: PaymentsCaller, context: Context, edge: Edge
) -> RefundRead:
    refund = await refunds.request_refund(
        context=context,
        provider=edge.provider,
        operator_id=caller.operator_id,
        payment_id=payment_id,
        amount=body.amount,
        reason=body.reason,
    )
    return RefundRead.model_validate(refund)


@router.get(
    "/payments/{payment_id}/refunds",
    response_model=list[RefundRead],
    tags=_TAG,
    summary="A payment's refunds",
    responses=problems(403, 404),
)
async def list_refunds(payment_id: int, caller: PaymentsCaller, db: Db) -> list[RefundRead]:
    rows = await service.list_refunds(db=db, operator_id=caller.operator_id, payment_id=payment_id)
    return [RefundRead.model_validate(row) for row in rows]


@router.get(
    "/sessions/{session_id}/charge",
    response_model=ChargeRead,
    tags=_TAG,
    summary="What a settled session came to: captured, receivable, written off",
    responses=problems(403, 404),
)
async def get_charge(session_id: int, caller: PaymentsCaller, db: Db) -> ChargeRead:
    row = await service.get_charge(db=db, operator_id=caller.operator_id, session_id=session_id)
    return ChargeRead.model_validate(row)


@router.post(
    "/sessions/{session_id}/charge/write-off",
    response_model=ChargeRead,
    tags=_TAG,
    summary="Write off (part of) what the driver owes for a session",
    responses=problems(403, 404),
)
async def write_off(
    session_id: int, body: WriteOffCreate, caller: PaymentsCaller, db: Db, context: Context
) -> ChargeRead:
    row = await service.write_off(
        db=db,
        operator_id=caller.operator_id,
        session_id=session_id,
        amount=body.amount,
        now=context.clock.now(),
    )
    return ChargeRead.model_validate(row)


@router.post(
    "/payments/reconciliations",
    response_model=ReconciliationRead,
    status_code=status.HTTP_201_CREATED,
    tags=_TAG,
    summary="Compare our records and the ledger with the provider's balance transactions",
    responses=problems(403),
)
async def create_reconciliation(
    body: ReconciliationCreate, caller: PaymentsCaller, context: Context, edge: Edge
) -> ReconciliationRead:
    run = await reconcile.reconcile(
        context=context, provider=edge.provider, start=body.period_from, end=body.period_to
    )
    return ReconciliationRead.model_validate(run)


# -- pages and webhooks -------------------------------------------------------------------


@pages_router.get(_RETURN, include_in_schema=False)
async def card_setup_return(
    context: Context, edge: Edge, setup_id: Annotated[str, Query(min_length=1, max_length=100)]
) -> HTMLResponse:
    """Where the provider's hosted page sends the driver back: the token is stored now (or
    was already, by the webhook)."""
    setup = await card_setup.complete_card_setup(
        context=context, provider=edge.provider, setup_id=setup_id
    )
    text = {
        "succeeded": "Your card is saved. You can close this page.",
        "pending": "Your card is not saved yet.",
    }.get(setup.status, "Your card could not be saved.")
    return HTMLResponse(f"<!doctype html><title>Card</title><p>{text}</p>")


@webhook_router.post("/{provider}", include_in_schema=False)
@webhook_router.post("/{provider}/{endpoint}", include_in_schema=False)
async def webhook(
    provider: str, request: Request, context: Context, edge: Edge, endpoint: str | None = None
) -> Response:
    """A provider's event, verified on the raw body with the secret of this endpoint."""
    if provider != edge.provider.name:
        raise NotFound(kind="webhook endpoint", key=provider)
    outcome = await webhooks.handle_webhook(
        context=context,
        provider=edge.provider,
        payload=await request.body(),
        headers=dict(request.headers),
        endpoint=endpoint,
    )
    return Response(status_code=status.HTTP_200_OK, content=outcome, media_type="text/plain")


@router.post(
    "/postpaid-accounts/{account_id}/statements/{statement_id}/card-payments",
    response_model=PostpaidPaymentRead,
    status_code=status.HTTP_201_CREATED,
    tags=["postpaid accounts"],
    summary="Pay what a statement has due with the payer's saved card",
    responses=problems(403, 404, 409, 503),
)
async def pay_statement_by_card(
    account_id: Annotated[int, Path(ge=1, le=MAX_RECORD_ID)],
    statement_id: Annotated[int, Path(ge=1, le=MAX_RECORD_ID)],
    caller: PaymentsCaller,
    context: Context,
    edge: Edge,
) -> PostpaidPaymentRead:
    row = await postpaid_charges.charge_statement(
        context=context,
        provider=edge.provider,
        operator_id=caller.operator_id,
        account_id=account_id,
        statement_id=statement_id,
    )
    return PostpaidPaymentRead.model_validate(row)
