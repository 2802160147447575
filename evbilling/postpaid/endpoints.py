"""Postpaid account routes under /api/v1/postpaid-accounts: accounts (create, list, read,
change limit / status / payer), their drivers and tokens, statements, and payments received
by bank transfer (a key with the `payments` scope). Another operator's ids answer 404."""

from __future__ import annotations

from enum import Enum
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response, status

from evbilling.access.caller import CurrentCaller, PaymentsCaller
from evbilling.infra.db.repository import PageRequest
from evbilling.infra.http.deps import Context, Db
from evbilling.infra.http.schemas import Limit, Offset, problems, set_location
from evbilling.infra.validation import MAX_RECORD_ID
from evbilling.postpaid import received, service, statements
from evbilling.postpaid.domain import AccountStatus, month_period
from evbilling.postpaid.schemas import (
    AccountCreate,
    AccountList,
    AccountRead,
    AccountUpdate,
    BankTransferCreate,
    PaymentList,
    PaymentRead,
    StatementCreate,
    StatementList,
    StatementPreviewRead,
    StatementRead,
    statement_preview_read,
    statement_read,
)

router = APIRouter()
_TAG: list[str | Enum] = ["postpaid accounts"]
_BASE = "/postpaid-accounts"
Id = Annotated[int, Path(ge=1, le=MAX_RECORD_ID)]


@router.get(
    _BASE,
    response_model=AccountList,
    tags=_TAG,
    summary="List postpaid accounts",
    responses=problems(),
)
async def list_accounts(
    caller: CurrentCaller,
    db: Db,
    context: Context,
    status_filter: Annotated[AccountStatus | None, Query(alias="status")] = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> AccountList:
    page = await service.list_accounts(
        db=db,
        operator_id=caller.operator_id,
        status=status_filter.value if status_filter is not None else None,
        page=PageRequest(limit=limit, offset=offset),
        now=context.clock.now(),
    )
    return AccountList.model_validate(page)


@router.post(
    _BASE,
    response_model=AccountRead,
    status_code=status.HTTP_201_CREATED,
    tags=_TAG,
    summary="Create a postpaid account (a business or fleet billed monthly)",
    responses=problems(404),
)
async def create_account(
    body: AccountCreate,
    caller: CurrentCaller,
    db: Db,
    context: Context,
    request: Request,
    response: Response,
) -> AccountRead:
    row = await service.create_account(
        db=db,
        operator_id=caller.operator_id,
        name=body.name,
        currency=body.currency,
        credit_limit=body.credit_limit,
        payer_driver_id=body.payer_driver_id,
        billing_email=body.billing_email,
        now=context.clock.now(),
    )
    set_location(response, request, "get_postpaid_account", account_id=row.id)
    return AccountRead.model_validate(
        await service.view_of(db=db, row=row, now=context.clock.now())
    )


@router.get(
    _BASE + "/{account_id}",
    response_model=AccountRead,
    tags=_TAG,
    summary="A postpaid account with what it owes and the credit left",
    responses=problems(404),
    name="get_postpaid_account",
)
async def get_account(
    account_id: Id, caller: CurrentCaller, db: Db, context: Context
) -> AccountRead:
    view = await service.view_account(
        db=db, operator_id=caller.operator_id, account_id=account_id, now=context.clock.now()
    )
    return AccountRead.model_validate(view)


@router.patch(
    _BASE + "/{account_id}",
    response_model=AccountRead,
    tags=_TAG,
    summary="Change an account's name, credit limit, status, payer or billing e-mail",
    responses=problems(404, 409),
)
async def update_account(
    account_id: Id, body: AccountUpdate, caller: CurrentCaller, db: Db, context: Context
) -> AccountRead:
    given = body.model_dump(exclude_unset=True)
    if "credit_limit" in given:
        given["credit_limit"] = body.credit_limit
    if "status" in given and body.status is not None:
        given["status"] = body.status.value
    row = await service.update_account(
        db=db,
        operator_id=caller.operator_id,
        account_id=account_id,
        now=context.clock.now(),
        **given,
    )
    return AccountRead.model_validate(
        await service.view_of(db=db, row=row, now=context.clock.now())
    )


@router.put(
    _BASE + "/{account_id}/drivers/{driver_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    tags=_TAG,
    summary="Charge a driver's sessions to the account",
    responses=problems(404, 409),
)
async def link_driver(
    account_id: Id, driver_id: Id, caller: CurrentCaller, db: Db, context: Context
) -> None:
    await service.link_driver(
        db=db,
        operator_id=caller.operator_id,
        account_id=account_id,
        driver_id=driver_id,
        now=context.clock.now(),
    )


@router.delete(
    _BASE + "/{account_id}/drivers/{driver_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    tags=_TAG,
    summary="Stop charging a driver's sessions to the account",
    responses=problems(404),
)
async def unlink_driver(
    account_id: Id, driver_id: Id, caller: CurrentCaller, db: Db, context: Context
) -> None:
    await service.unlink_driver(
        db=db,
        operator_id=caller.operator_id,
        account_id=account_id,
        driver_id=driver_id,
        now=context.clock.now(),
    )


@router.put(
    _BASE + "/{account_id}/tokens/{token_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    tags=_TAG,
    summary="Charge a token's (fleet card's) sessions to the account",
    responses=problems(404, 409),
)
async def link_token(
    account_id: Id, token_id: Id, caller: CurrentCaller, db: Db, context: Context
) -> None:
    await service.link_token(
        db=db,
        operator_id=caller.operator_id,
        account_id=account_id,
        token_id=token_id,
        now=context.clock.now(),
    )


@router.delete(
    _BASE + "/{account_id}/tokens/{token_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    tags=_TAG,
    summary="Stop charging a token's sessions to the account",
    responses=problems(404),
)
async def unlink_token(
    account_id: Id, token_id: Id, caller: CurrentCaller, db: Db, context: Context
) -> None:
    await service.unlink_token(
        db=db,
        operator_id=caller.operator_id,
        account_id=account_id,
        token_id=token_id,
        now=context.clock.now(),
    )


@router.get(
    _BASE + "/{account_id}/statements",
    response_model=StatementList,
    tags=_TAG,
    summary="The account's issued statements",
    responses=problems(404),
)
async def list_statements(
    account_id: Id, caller: CurrentCaller, db: Db, limit: Limit = 50, offset: Offset = 0
) -> StatementList:
    page = await statements.list_statements(
        db=db,
        operator_id=caller.operator_id,
        account_id=account_id,
        page=PageRequest(limit=limit, offset=offset),
    )
    return StatementList.model_validate(page)


@router.post(
    _BASE + "/{account_id}/statements",
    response_model=StatementRead,
    tags=_TAG,
    summary="Issue the statement of a month that has ended (or read it, issued already)",
    responses=problems(404),
)
async def issue_statement(
    account_id: Id, body: StatementCreate, caller: CurrentCaller, db: Db, context: Context
) -> StatementRead:
    start, end = month_period(body.period)
    found = await statements.build_statement(
        db=db,
        operator_id=caller.operator_id,
        account_id=account_id,
        period_start=start,
        period_end=end,
        now=context.clock.now(),
    )
    return statement_read(found)


@router.get(
    _BASE + "/{account_id}/statement-preview",
    response_model=StatementPreviewRead,
    tags=_TAG,
    summary="The running month so far, as its statement will show it (not issued)",
    responses=problems(404),
)
async def preview_statement(
    account_id: Id, caller: CurrentCaller, db: Db, context: Context
) -> StatementPreviewRead:
    found = await statements.preview_statement(
        db=db, operator_id=caller.operator_id, account_id=account_id, now=context.clock.now()
    )
    return statement_preview_read(found)


@router.get(
    _BASE + "/{account_id}/statements/{statement_id}",
    response_model=StatementRead,
    tags=_TAG,
    summary="A statement with its sessions, VAT summary and balances",
    responses=problems(404),
)
async def get_statement(
    account_id: Id, statement_id: Id, caller: CurrentCaller, db: Db
) -> StatementRead:
    found = await statements.get_statement(
        db=db, operator_id=caller.operator_id, account_id=account_id, statement_id=statement_id
    )
    return statement_read(found)


@router.post(
    _BASE + "/{account_id}/statements/{statement_id}/payments",
    response_model=PaymentRead,
    status_code=status.HTTP_201_CREATED,
    tags=_TAG,
    summary="Mark a bank transfer received for a statement",
    responses=problems(403, 404, 409),
)
async def mark_statement_paid(
    account_id: Id,
    statement_id: Id,
    body: BankTransferCreate,
    caller: PaymentsCaller,
    db: Db,
    context: Context,
) -> PaymentRead:
    row = await received.mark_bank_transfer(
        db=db,
        operator_id=caller.operator_id,
        account_id=account_id,
        statement_id=statement_id,
        amount=body.amount,
        reference=body.reference,
        actor=f"api-key:{caller.api_key_id}",
        now=context.clock.now(),
    )
    return PaymentRead.model_validate(row)


@router.post(
    _BASE + "/{account_id}/payments",
    response_model=PaymentRead,
    status_code=status.HTTP_201_CREATED,
    tags=_TAG,
    summary="Mark a bank transfer received on the account (an overpayment is kept as credit)",
    responses=problems(403, 404, 409),
)
async def mark_account_paid(
    account_id: Id, body: BankTransferCreate, caller: PaymentsCaller, db: Db, context: Context
) -> PaymentRead:
    row = await received.mark_bank_transfer(
        db=db,
        operator_id=caller.operator_id,
        account_id=account_id,
        amount=body.amount,
        reference=body.reference,
        actor=f"api-key:{caller.api_key_id}",
        now=context.clock.now(),
    )
    return PaymentRead.model_validate(row)


@router.get(
    _BASE + "/{account_id}/payments",
    response_model=PaymentList,
    tags=_TAG,
    summary="Payments received for the account",
    responses=problems(404),
)
async def list_payments(
    account_id: Id, caller: CurrentCaller, db: Db, limit: Limit = 50, offset: Offset = 0
) -> PaymentList:
    page = await received.list_payments(
        db=db,
        operator_id=caller.operator_id,
        account_id=account_id,
        page=PageRequest(limit=limit, offset=offset),
    )
    return PaymentList.model_validate(page)
