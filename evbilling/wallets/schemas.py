"""What the wallet edges accept and show. Amounts are shown twice: as decimal strings in the
currency's units ("12.30") and as integer minor units; a credit's amount is given in the
currency's units and must be exact to the minor unit."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field

from evbilling.infra.http.schemas import Input, Output
from evbilling.wallets.domain import (
    MAX_AMOUNT_UNITS,
    MAX_REASON_LENGTH,
    WalletMovement,
    WalletView,
)


class WalletRead(Output):
    id: int
    driver_id: int
    currency: str
    status: str = Field(description="open or closed")
    available: Decimal = Field(description="What sessions and debits may still take.")
    reserved: Decimal = Field(description="Set aside for sessions running now.")
    balance: Decimal = Field(description="available + reserved (the ledger's balance).")
    available_minor: int
    reserved_minor: int

    @classmethod
    def of(cls, view: WalletView) -> WalletRead:
        return cls(
            id=view.wallet_id,
            driver_id=view.driver_id,
            currency=view.currency,
            status=view.status.value,
            available=view.available.amount,
            reserved=view.reserved.amount,
            balance=view.balance.amount,
            available_minor=view.available.minor_units(),
            reserved_minor=view.reserved.minor_units(),
        )


class WalletMovementRead(Output):
    id: int = Field(description="The ledger line's id (pass as `after` to page on).")
    kind: str = Field(description="goodwill, topup, debit, session, closure or other")
    currency: str
    amount: Decimal = Field(description="Positive: into the wallet; negative: out of it.")
    amount_minor: int
    reference: str
    description: str
    created_at: datetime

    @classmethod
    def of(cls, movement: WalletMovement) -> WalletMovementRead:
        return cls(
            id=movement.id,
            kind=movement.kind.value,
            currency=movement.amount.currency,
            amount=movement.amount.amount,
            amount_minor=movement.amount.minor_units(),
            reference=movement.reference,
            description=movement.description,
            created_at=movement.created_at,
        )


class WalletMovementPage(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    items: list[WalletMovementRead] = Field(validation_alias=AliasChoices("items", "rows"))
    limit: int
    next_after: int | None = Field(
        description="pass as `after` for the next page; null on the last page"
    )


class GoodwillCreate(Input):
    amount: Decimal = Field(
        gt=0, le=MAX_AMOUNT_UNITS, max_digits=20, description="In currency units, e.g. 10.00."
    )
    currency: str = Field(pattern=r"^[A-Z]{3}$", description="ISO 4217, e.g. EUR.")
    reason: str = Field(min_length=1, max_length=MAX_REASON_LENGTH)


class TopUpCreate(Input):
    amount: Decimal = Field(
        gt=0, le=MAX_AMOUNT_UNITS, max_digits=20, description="In currency units, e.g. 20.00."
    )
    currency: str = Field(
        default="EUR", pattern=r"^[A-Z]{3}$", description="ISO 4217 (the wallet's currency)."
    )
