"""Postpaid account request and response schemas. Amounts in requests are decimal strings in
the account's currency units ("5000.00", exact to the minor unit); responses give integer
minor units with the currency."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import Field

from evbilling.drivers.domain import Email
from evbilling.infra.http.schemas import Input, NotNull, Output, PageRead, ParsedAs
from evbilling.infra.validation import MAX_NAME_LENGTH
from evbilling.postpaid.domain import MAX_CREDIT_LIMIT, MAX_REFERENCE_LENGTH, AccountStatus

Amount = Annotated[Decimal, Field(ge=0, le=MAX_CREDIT_LIMIT, max_digits=20, examples=["5000.00"])]
EmailText = Annotated[str, ParsedAs(Email, blank_is_none=True)]
PayerRef = Annotated[
    int | None,
    Field(ge=1, le=2**63 - 1, description="A driver whose saved card may pay statements."),
]


class AccountCreate(Input):
    name: str = Field(min_length=1, max_length=MAX_NAME_LENGTH, examples=["Taxi fleet GmbH"])
    currency: str = Field(min_length=3, max_length=3, examples=["EUR"])
    credit_limit: Amount
    payer_driver_id: PayerRef = None
    billing_email: EmailText | None = Field(default=None, examples=["billing@example.com"])


class AccountUpdate(Input):
    name: Annotated[str | None, NotNull] = Field(default=None, max_length=MAX_NAME_LENGTH)
    credit_limit: Annotated[Amount | None, NotNull] = None
    status: Annotated[AccountStatus | None, NotNull] = None
    payer_driver_id: PayerRef = None
    billing_email: EmailText | None = None


class AccountRead(Output):
    id: int
    name: str
    currency: str
    credit_limit_minor: int
    status: str = Field(description="active, suspended (no new sessions) or closed")
    payer_driver_id: int | None
    billing_email: str | None
    outstanding_minor: int = Field(description="Owed now (negative: paid ahead, a credit).")
    exposure_minor: int = Field(
        description="What the credit is committed to: open starts at what they reserved, sessions "
        "not yet accrued at what they cost so far."
    )
    available_minor: int = Field(description="Credit left for new sessions.")
    created_at: datetime
    updated_at: datetime


class AccountList(PageRead[AccountRead]):
    pass


class StatementCreate(Input):
    period: str = Field(pattern=r"^\d{4}-\d{2}$", examples=["2026-11"], max_length=7)


class StatementLineRead(Output):
    session_id: int
    driver_id: int | None
    station: str
    started_at: datetime
    stopped_at: datetime | None
    duration_s: int
    energy_wh: int
    net_minor: int
    vat_minor: int
    total_minor: int
    portions: list[dict[str, Any]]


class StatementFigures(Output):
    """What an issued statement and the running month's preview both show."""

    account_id: int
    period_start: datetime
    currency: str
    session_count: int
    energy_wh: int
    net_minor: int
    vat_minor: int
    total_minor: int
    vat_summary: list[dict[str, Any]] = Field(
        description="Per VAT rate: rate, net_minor, vat_minor, total_minor"
    )
    opening_balance_minor: int
    charges_minor: int
    payments_minor: int
    closing_balance_minor: int


class StatementSummaryRead(StatementFigures):
    id: int
    period_end: datetime
    issued_at: datetime


class StatementRead(StatementSummaryRead):
    paid_minor: int = Field(description="Payments received against this statement.")
    due_minor: int
    lines: list[StatementLineRead]


class StatementPreviewRead(StatementFigures):
    """The running month so far, composed as its statement will be; not issued."""

    as_of: datetime = Field(description="The preview covers [period_start, as_of).")
    lines: list[StatementLineRead]


class StatementList(PageRead[StatementSummaryRead]):
    pass


class BankTransferCreate(Input):
    amount: Decimal = Field(gt=0, le=MAX_CREDIT_LIMIT, max_digits=20, examples=["119.00"])
    reference: str = Field(min_length=1, max_length=MAX_REFERENCE_LENGTH)


class PaymentRead(Output):
    id: int
    account_id: int
    statement_id: int | None
    method: str = Field(description="bank_transfer or card")
    reference: str
    currency: str
    amount_minor: int
    status: str = Field(description="pending, succeeded or failed")
    error: str | None
    created_at: datetime


class PaymentList(PageRead[PaymentRead]):
    pass


def statement_read(found: Any) -> StatementRead:
    """A service `Statement` (row, lines, paid) as the API shows it."""
    summary = StatementSummaryRead.model_validate(found.statement).model_dump()
    return StatementRead(
        **summary,
        paid_minor=found.paid_minor,
        due_minor=found.due_minor,
        lines=[StatementLineRead.model_validate(line) for line in found.lines],
    )


def statement_preview_read(found: Any) -> StatementPreviewRead:
    """A previewed service `Statement` (not stored) as the API shows it."""
    figures = StatementFigures.model_validate(found.statement).model_dump()
    return StatementPreviewRead(
        **figures,
        as_of=found.statement.period_end,
        lines=[StatementLineRead.model_validate(line) for line in found.lines],
    )
