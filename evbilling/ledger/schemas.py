"""The ledger's API response shapes (read-only: entries are booked by the slices that move
money, never from a request)."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from evbilling.infra.http.schemas import Output
from evbilling.ledger.domain import AccountKind, EntryKind

_MINOR = "signed integer minor units of the currency (positive debit, negative credit)"


class AccountRefRead(Output):
    kind: AccountKind
    currency: str = Field(examples=["EUR"])
    scope: str = Field(
        description="whose account: `driver:{id}`, `operator:{id}`, `operator:{id}/...`, "
        "`psp:{provider}`",
        examples=["operator:1/location:3"],
    )


class AccountRead(Output):
    account_id: int
    account: AccountRefRead
    debits_posted: int = Field(description="sum of posted debits, minor units")
    credits_posted: int = Field(description="sum of posted credits (as a positive number)")
    debits_pending: int = Field(description="debits of holds not yet posted or voided")
    credits_pending: int = Field(description="credits of holds not yet posted or voided")
    balance_minor: int = Field(description="debits_posted - credits_posted; " + _MINOR)


class AccountPage(Output):
    items: list[AccountRead]
    limit: int
    next_after: int | None = Field(
        description="pass as `after` for the next page; null on the last page"
    )


class AccountLineRead(Output):
    id: int
    entry_id: int
    reference: str
    entry_kind: EntryKind = Field(
        description="`pending` lines are a hold's: they count in pending balances while the "
        "hold is pending, never in posted ones"
    )
    description: str
    amount_minor: int = Field(description=_MINOR)
    currency: str
    created_at: datetime


class AccountLinePage(Output):
    items: list[AccountLineRead]
    limit: int
    next_after: int | None = Field(
        description="pass as `after` for the next page; null on the last page"
    )


class TrialBalanceRead(Output):
    currency: str
    debits: int
    credits: int
    difference: int = Field(description="debits - credits: always 0")
    debits_pending: int
    credits_pending: int
