"""What the payment edges accept and show. Amounts are integer minor units of `currency`
(ISO 4217 exponent: cents for EUR); a refund's amount is given in the currency's units as a
decimal string ("12.50") and must be exact to the minor unit."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from pydantic import AliasChoices, BaseModel, ConfigDict, Field

from evbilling.infra.http.schemas import Input, Output
from evbilling.infra.validation import MAX_NAME_LENGTH


class CardSetupCreate(Input):
    """Nothing to give: the driver is in the path, the return page is the server's own."""


class CardSetupRead(Output):
    id: int
    driver_id: int
    provider: str
    provider_setup_id: str | None
    status: str = Field(description="pending, succeeded, failed or canceled")
    url: str | None = Field(description="The provider's hosted page: send the driver there.")
    method_id: int | None


class PaymentMethodRead(Output):
    id: int
    driver_id: int
    provider: str
    brand: str
    last4: str
    exp_month: int
    exp_year: int
    wallet: str | None
    is_default: bool
    created_at: datetime


class PaymentRead(Output):
    id: int
    driver_id: int
    station_id: int
    evse_id: int | None
    session_id: int | None
    provider: str
    reference: str | None
    authorization_id: str | None
    status: str = Field(description="planned, authorized, captured, released, failed, refunded")
    currency: str
    requested_minor: int
    authorized_minor: int = Field(description="What the issuer actually approved.")
    captured_minor: int
    refunded_minor: int
    margin_minor: int = Field(description="The safety margin kept below the authorized amount.")
    limit_minor: int | None = Field(description="The session's spending limit.")
    capture_before: datetime | None
    captured_at: datetime | None
    decline_code: str | None
    created_at: datetime
    updated_at: datetime


class KeysetRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    limit: int
    next_after: int | None = Field(
        description="pass as `after` for the next page; null on the last page"
    )


class PaymentPage(KeysetRead):
    items: list[PaymentRead] = Field(validation_alias=AliasChoices("items", "rows"))


class RefundCreate(Input):
    amount: Decimal | None = Field(
        default=None,
        gt=0,
        max_digits=20,
        description="In the payment's currency units, e.g. 12.50; all that is left if omitted.",
    )
    reason: str = Field(min_length=1, max_length=MAX_NAME_LENGTH)


class RefundRead(Output):
    id: int
    payment_id: int
    provider: str
    reference: str | None
    provider_refund_id: str | None
    currency: str
    amount_minor: int
    reason: str
    status: str = Field(description="pending, succeeded or failed")
    created_at: datetime
    updated_at: datetime


class WriteOffCreate(Input):
    amount: Decimal | None = Field(
        default=None, gt=0, max_digits=20, description="In currency units; all owed if omitted."
    )


class ChargeRead(Output):
    """What a settled session came to: total = captured + receivable + written off."""

    id: int
    session_id: int
    driver_id: int | None
    payment_id: int | None
    currency: str
    total_minor: int
    captured_minor: int
    receivable_minor: int = Field(description="Still owed by the driver.")
    written_off_minor: int
    shortfall_reason: str = Field(
        description="none, above_hold, below_minimum (the provider's minimum charge), no_hold"
    )
    status: str
    capture_failures: int
    created_at: datetime
    updated_at: datetime


class ChargePage(KeysetRead):
    items: list[ChargeRead] = Field(validation_alias=AliasChoices("items", "rows"))


class ReconciliationCreate(Input):
    period_from: datetime = Field(alias="from")
    period_to: datetime = Field(alias="to")


class ReconciliationRead(Output):
    id: int
    provider: str
    period_from: datetime
    period_to: datetime
    mismatch_count: int
    mismatches: list[dict[str, Any]] = Field(
        description="kind (missing_at_provider, missing_here, amount_differs, ledger_differs), "
        "source, reference, currency, ours_minor, provider_minor (for ledger_differs: the "
        "ledger's balance)"
    )
    created_at: datetime
