"""Ledger routes (read-only): an operator's accounts, their balances and lines.

An operator key sees the accounts scoped to its operator (`operator:{id}`,
`operator:{id}/...`) and to its drivers (`driver:{id}`); shared accounts (PSP clearing and
fees) and other operators' accounts answer 404, like a missing id. The ledger sits below
`access`, so the composition root hands the router the dependency that authenticates the
caller (`create_router(caller=...)`).
"""

# No `from __future__ import annotations` here: the routes' parameter types are aliases local
# to create_router, which FastAPI resolves when each route is defined.

from collections.abc import Awaitable, Callable
from typing import Annotated, Any, Protocol

from fastapi import APIRouter, Depends, Path, Query

from evbilling.infra.db.repository import KeysetPage
from evbilling.infra.http.deps import Db
from evbilling.infra.http.schemas import problems
from evbilling.infra.validation import MAX_PAGE_LIMIT
from evbilling.ledger import service as ledger
from evbilling.ledger.domain import AccountKind
from evbilling.ledger.schemas import AccountLinePage, AccountPage, AccountRead

_MAX_ID = 2**63 - 1


class OperatorCaller(Protocol):
    @property
    def operator_id(self) -> int: ...


def _page(page: KeysetPage[Any]) -> dict[str, Any]:
    return {"items": page.rows, "limit": page.limit, "next_after": page.next_after}


def create_router(*, caller: Callable[..., Awaitable[OperatorCaller]]) -> APIRouter:
    """The ledger's router; `caller` is the dependency that authenticates an operator key."""
    router = APIRouter()
    Caller = Annotated[OperatorCaller, Depends(caller)]
    AccountId = Annotated[int, Path(ge=1, le=_MAX_ID)]
    Limit = Annotated[int, Query(ge=1, le=MAX_PAGE_LIMIT, description="Page size (1..500).")]
    After = Annotated[
        int | None, Query(ge=1, le=_MAX_ID, description="the `next_after` of the previous page")
    ]

    @router.get(
        "/ledger/accounts",
        response_model=AccountPage,
        tags=["ledger"],
        summary="The operator's ledger accounts with their balances, in id order",
        responses=problems(),
    )
    async def list_ledger_accounts(
        who: Caller,
        db: Db,
        kind: AccountKind | None = None,
        currency: Annotated[
            str | None, Query(pattern="^[A-Z]{3}$", description="ISO 4217 code")
        ] = None,
        limit: Limit = 50,
        after: After = None,
    ) -> AccountPage:
        page = await ledger.list_accounts(
            db=db,
            operator_id=who.operator_id,
            kind=kind,
            currency=currency,
            limit=limit,
            after=after,
        )
        return AccountPage.model_validate(_page(page))

    @router.get(
        "/ledger/accounts/{account_id}",
        response_model=AccountRead,
        tags=["ledger"],
        summary="A ledger account and its posted and pending balances",
        responses=problems(404),
    )
    async def get_ledger_account(account_id: AccountId, who: Caller, db: Db) -> AccountRead:
        found = await ledger.get_account(db=db, operator_id=who.operator_id, account_id=account_id)
        return AccountRead.model_validate(found)

    @router.get(
        "/ledger/accounts/{account_id}/entries",
        response_model=AccountLinePage,
        tags=["ledger"],
        summary="A ledger account's lines with their entries, newest first",
        responses=problems(404),
    )
    async def list_ledger_account_entries(
        account_id: AccountId, who: Caller, db: Db, limit: Limit = 50, after: After = None
    ) -> AccountLinePage:
        page = await ledger.list_account_lines(
            db=db, operator_id=who.operator_id, account_id=account_id, limit=limit, after=after
        )
        return AccountLinePage.model_validate(_page(page))

    return router
