"""Charging sessions as the API and the CLI show them; each validates from a row or a small
service result (`SessionRead.model_validate(row)`)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, computed_field, field_validator

from evbilling.charging.domain import (
    ENERGY_REGISTER,
    MAX_END_REASON_LENGTH,
    PricingStatus,
    SessionStatus,
)
from evbilling.infra.http.schemas import Input
from evbilling.money import currency_exponent
from evbilling.rating.schemas import Amount

_READ = ConfigDict(from_attributes=True, json_schema_serialization_defaults_required=True)


class SessionRead(BaseModel):
    model_config = _READ

    id: int = Field(description="The session's id: what the API and the CLI address it by.")
    transaction_id: int = Field(
        description="The OCPP transactionId the station knows it by (unique per station)."
    )
    station_id: int
    station_identity: str
    connector_id: int
    evse_id: int | None
    driver_id: int | None
    token_id: int | None
    id_tag: str
    status: SessionStatus
    authorization_status: str
    billable: bool
    pricing_status: PricingStatus
    pricing_error: str | None = Field(description="Why pricing failed, when it did.")
    started_at: datetime
    stopped_at: datetime | None
    meter_start_wh: int
    meter_stop_wh: int | None
    energy_wh: int | None
    stop_reason: str | None = Field(description="The reason the station gave (OCPP).")
    end_reason: str | None = Field(
        description="Why the server or an operator ended the session (superseded, abandoned, "
        "closed)."
    )
    last_seen_at: datetime = Field(description="Server time of the last message about the session.")
    tariff_id: int | None
    tariff_version: int | None
    time_zone: str | None
    currency: str | None
    cost_excl_vat: Amount | None
    cost_vat: Amount | None
    cost_incl_vat: Amount | None
    occupied_until: datetime | None = Field(
        description="When the car left the connector (the connector's Available after the "
        "stop, EVDisconnected, or the idle cap); idle time until then is priced when the tariff "
        "bills parking."
    )
    completed_at: datetime | None = Field(
        description="When the session's amount became final (session.completed); null before."
    )
    spending_limit_minor: int | None = Field(
        description="The most the session may cost incl. VAT, in minor units of its currency "
        "(set by a card hold); the server stops it remotely when the running cost reaches it."
    )
    limit_reached_at: datetime | None = Field(
        description="When the running cost reached the spending limit."
    )
    limit_stop_reason: str | None = Field(
        description="Why the server stopped the session remotely (spending limit reached)."
    )
    payment_kind: str | None = Field(
        description="How the session is paid: card, wallet, postpaid or free; null: not decided."
    )
    payment_reason: str | None = Field(description="Why it is paid that way, in a few words.")

    @field_validator("cost_excl_vat", "cost_vat", "cost_incl_vat")
    @classmethod
    def _in_minor_units(cls, amount: Decimal | None, info: ValidationInfo) -> Decimal | None:
        """Stored totals are rounded already; show them with the currency's decimals (6.30)."""
        currency = info.data.get("currency")
        if amount is None or currency is None:
            return amount
        return amount.quantize(Decimal(1).scaleb(-currency_exponent(currency)))

    @computed_field  # type: ignore[prop-decorator]
    @property
    def spending_limit(self) -> Amount | None:
        """The spending limit in the session's currency (47.10), when it has one."""
        if self.spending_limit_minor is None or self.currency is None:
            return None
        return Decimal(self.spending_limit_minor).scaleb(-currency_exponent(self.currency))

    @computed_field  # type: ignore[prop-decorator]
    @property
    def duration_s(self) -> int | None:
        if self.stopped_at is None:
            return None
        return int((self.stopped_at - self.started_at).total_seconds())


class MeterSampleRead(BaseModel):
    """One sampled value of a MeterValues reading; the OCPP defaults fill what was left out."""

    model_config = _READ

    timestamp: datetime
    measurand: str = ENERGY_REGISTER
    phase: str | None = None
    location: str | None = None
    context: str | None = None
    unit: str | None = None
    format: str | None = None
    value: str


class AnomalyRead(BaseModel):
    model_config = _READ

    kind: str
    detail: str
    sample_timestamp: datetime | None
    value: str | None
    detected_at: datetime


class SessionDetailRead(SessionRead):
    cost_breakdown: dict[str, Any] | None
    meter_samples: tuple[MeterSampleRead, ...]
    anomalies: tuple[AnomalyRead, ...]


class MeterReadingRead(BaseModel):
    """One MeterValue element as the station sent it: its timestamp and sampled values."""

    model_config = _READ

    id: int
    connector_id: int
    timestamp: datetime
    received_at: datetime
    sampled_values: list[MeterSampleRead]


class MeterReadingPage(BaseModel):
    model_config = _READ

    items: list[MeterReadingRead]
    limit: int
    next_after: int | None = Field(
        description="pass as `after` for the next page; null on the last page"
    )


class SessionPage(BaseModel):
    model_config = _READ

    items: list[SessionRead]
    total: int | None = Field(description="how many sessions match; null on `after` pages")
    limit: int
    offset: int
    next_after: int | None = Field(
        description="pass as `after` for the next page; null on the last page"
    )


class SessionClose(Input):
    reason: str = Field(
        min_length=1,
        max_length=MAX_END_REASON_LENGTH,
        description="Why the session is closed (the station no longer knows it, say); one line.",
        examples=["station replaced after a fault; driver confirmed the end"],
    )


class CostRead(BaseModel):
    model_config = _READ

    session_id: int
    transaction_id: int
    final: bool = Field(description="false while the session runs: the cost so far")
    at: datetime
    energy_wh: int
    currency: str
    total_excl_vat: Amount
    total_incl_vat: Amount = Field(
        description="Including VAT; equal to total_excl_vat where the tariff gives no VAT"
    )
    breakdown: dict[str, Any]
