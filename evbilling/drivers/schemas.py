"""Driver, driver group and token request and response schemas."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import Field

from evbilling.drivers.domain import Email, IdTag, PaymentPreference, TokenStatus, TokenType
from evbilling.infra.http.schemas import Input, NotNull, Output, PageRead, ParsedAs
from evbilling.infra.validation import MAX_NAME_LENGTH
from evbilling.tariffs.schemas import TariffRef

GroupRef = Annotated[
    int | None, Field(description="A driver group of this operator; null for none.", ge=1)
]
# Blank text clears an optional field like null.
EmailText = Annotated[str, ParsedAs(Email, blank_is_none=True)]
Tag = Annotated[str, ParsedAs(IdTag)]
ParentTag = Annotated[str, ParsedAs(IdTag, blank_is_none=True)]


class DriverCreate(Input):
    name: str = Field(min_length=1, max_length=MAX_NAME_LENGTH, examples=["Ada Lovelace"])
    email: EmailText | None = Field(default=None, examples=["ada@example.com"])
    tariff_id: TariffRef = Field(
        default=None, description="Overrides every other tariff for this driver's charges."
    )
    group_id: GroupRef = Field(
        default=None, description="The driver's group (fleet); its tariff comes next."
    )


class DriverUpdate(Input):
    name: Annotated[str | None, NotNull] = Field(default=None, max_length=MAX_NAME_LENGTH)
    email: EmailText | None = None
    tariff_id: TariffRef = None
    group_id: GroupRef = None
    payment_preference: PaymentPreference | None = Field(
        default=None,
        description=(
            "How the driver's sessions are paid; null: a postpaid account when linked, else "
            "the wallet with a balance, else the saved card (docs/payment-choice.md)."
        ),
    )


class DriverRead(Output):
    id: int
    name: str
    email: str | None
    tariff_id: int | None
    group_id: int | None
    payment_preference: str | None = None
    created_at: datetime
    updated_at: datetime


class DriverList(PageRead[DriverRead]):
    pass


class DriverGroupCreate(Input):
    name: str = Field(min_length=1, max_length=MAX_NAME_LENGTH, examples=["Taxi fleet"])
    tariff_id: TariffRef = Field(
        default=None,
        description="Prices the group's drivers' charges, unless a driver has their own tariff.",
    )


class DriverGroupUpdate(Input):
    name: Annotated[str | None, NotNull] = Field(default=None, max_length=MAX_NAME_LENGTH)
    tariff_id: TariffRef = None


class DriverGroupRead(Output):
    id: int
    name: str
    tariff_id: int | None
    created_at: datetime
    updated_at: datetime


class DriverGroupList(PageRead[DriverGroupRead]):
    pass


class TokenCreate(Input):
    uid: Tag = Field(
        description="OCPP idTag (RFID UID); stored upper-case, unique per operator.",
        examples=["04A2B3C4"],
    )
    type: TokenType = TokenType.RFID
    status: TokenStatus = TokenStatus.ACTIVE
    driver_id: int | None = Field(default=None, ge=1)
    expires_at: datetime | None = Field(default=None, description="RFC 3339 with a time zone.")
    parent_id_tag: ParentTag | None = None


class TokenUpdate(Input):
    uid: Annotated[Tag | None, NotNull] = None
    type: Annotated[TokenType | None, NotNull] = None
    status: Annotated[TokenStatus | None, NotNull] = None
    driver_id: int | None = Field(default=None, ge=1)
    expires_at: datetime | None = None
    parent_id_tag: ParentTag | None = None


class TokenRead(Output):
    id: int
    uid: str
    type: TokenType
    status: TokenStatus
    driver_id: int | None
    parent_id_tag: str | None
    expires_at: datetime | None
    created_at: datetime
    updated_at: datetime


class TokenList(PageRead[TokenRead]):
    pass
