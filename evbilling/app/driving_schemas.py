"""Request and read models of what a signed-in driver does: EVSEs and quotes, charging,
sessions, payments, receipts, payment methods and RFID cards. Amounts are decimal strings
with their currency; nothing about other drivers, the station's credentials or the provider's
tokens is ever part of them."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated

from pydantic import AliasChoices, BaseModel, ConfigDict, Field

from evbilling.drivers.domain import IdTag
from evbilling.infra.http.schemas import Input, Output, ParsedAs
from evbilling.stations.domain import EvseUid


class AppKeysetRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    limit: int
    next_after: int | None = Field(
        description="pass as `after` for the next page; null on the last page"
    )


class MoneyRead(Output):
    amount: Decimal
    currency: str


class EvseRead(Output):
    evse_uid: str
    station_identity: str
    connector_id: int
    max_power_w: int
    connector_standard: str | None
    power_type: str | None
    status: str | None = Field(description="The connector's last status (OCPP).")
    connected: bool = Field(description="Whether the station is online to start remotely.")
    location_name: str
    address: str | None
    city: str | None


class PriceWordRead(Output):
    kind: str = Field(description="energy, time, flat or parking_time")
    text: str


class QuoteRead(Output):
    evse: EvseRead
    tariff_name: str
    currency: str
    prices: list[PriceWordRead] = Field(
        description="Per kWh, per minute, per session, idle fee, in that order, incl. VAT."
    )
    summary: str = Field(description="The whole tariff in a few words, with its conditions.")
    hold: MoneyRead | None = Field(
        description="What a card payment holds at the start (released unused at the end)."
    )


class StartCreate(Input):
    evse_uid: Annotated[str, ParsedAs(EvseUid)]
    connector_id: int | None = Field(default=None, ge=1, le=100)


class StartRead(Output):
    evse_uid: str
    connector_id: int
    status: str = Field(description="The station's answer: Accepted.")


class StopRead(Output):
    session_id: int
    status: str = Field(description="The station's answer: Accepted.")


class AppSessionRead(Output):
    id: int
    status: str
    station_identity: str
    connector_id: int
    started_at: datetime
    stopped_at: datetime | None
    energy_wh: int | None
    currency: str | None
    cost_incl_vat: Decimal | None
    payment_kind: str | None


class AppSessionPage(AppKeysetRead):
    items: list[AppSessionRead] = Field(validation_alias=AliasChoices("items", "rows"))


class LiveRead(Output):
    """A session with its running cost (the final cost once it has ended)."""

    session_id: int
    status: str
    running: bool
    evse_uid: str | None
    station_identity: str
    started_at: datetime
    stopped_at: datetime | None
    energy_wh: int
    currency: str | None
    cost_incl_vat: Decimal | None
    cost_excl_vat: Decimal | None
    cost_at: datetime | None = Field(description="The moment the running cost stands at.")
    receipt_url: str | None = Field(description="The public receipt, once the amount is final.")


class AppPaymentRead(Output):
    id: int
    session_id: int | None
    status: str = Field(description="planned, authorized, captured, released, failed, refunded")
    currency: str
    authorized_minor: int
    captured_minor: int
    refunded_minor: int
    created_at: datetime


class AppPaymentPage(AppKeysetRead):
    items: list[AppPaymentRead] = Field(validation_alias=AliasChoices("items", "rows"))


class ReceiptLineRead(Output):
    label: str
    quantity: Decimal
    unit: str
    vat_percent: Decimal | None
    amount_incl_vat: MoneyRead


class VatRead(Output):
    rate: Decimal
    net: MoneyRead
    vat: MoneyRead


class ReceiptRead(Output):
    session_id: int
    location_name: str | None
    station_identity: str
    evse_uid: str | None
    connector_id: int
    started_at: datetime
    stopped_at: datetime | None
    energy_wh: int
    currency: str
    lines: list[ReceiptLineRead]
    vat: list[VatRead]
    total_excl_vat: MoneyRead
    total_vat: MoneyRead
    total: MoneyRead
    paid_by: str
    captured: MoneyRead | None
    outstanding: MoneyRead | None
    url: str = Field(description="The public receipt page (no sign-in needed).")


class ReceiptPage(AppKeysetRead):
    items: list[ReceiptRead]


class MethodRead(Output):
    id: int
    brand: str
    last4: str
    exp_month: int
    exp_year: int
    wallet: str | None
    is_default: bool
    created_at: datetime


class MethodSetupRead(Output):
    id: int
    status: str
    url: str | None = Field(description="The provider's hosted page: open it to add a card.")


class CardLinkCreate(Input):
    uid: Annotated[str, ParsedAs(IdTag)]
    code: str = Field(min_length=1, max_length=32, description="The code the station showed.")


class CardRead(Output):
    id: int
    uid: str
    status: str
    created_at: datetime
