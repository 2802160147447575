"""Location request and response schemas."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import Field

from evbilling.infra.http.schemas import Input, NotNull, Output, PageRead, ParsedAs
from evbilling.infra.validation import MAX_NAME_LENGTH
from evbilling.locations.domain import (
    MAX_ADDRESS_LENGTH,
    MAX_CITY_LENGTH,
    MAX_POSTAL_CODE_LENGTH,
    CountryCode,
    TimeZone,
)
from evbilling.tariffs.schemas import TariffRef

Country = Annotated[str, ParsedAs(CountryCode)]
Zone = Annotated[str, ParsedAs(TimeZone)]


class LocationCreate(Input):
    name: str = Field(min_length=1, max_length=MAX_NAME_LENGTH, examples=["Depot"])
    address: str | None = Field(default=None, max_length=MAX_ADDRESS_LENGTH)
    city: str | None = Field(default=None, max_length=MAX_CITY_LENGTH)
    postal_code: str | None = Field(default=None, max_length=MAX_POSTAL_CODE_LENGTH)
    country: Country | None = Field(
        default=None,
        description="ISO 3166-1 alpha-3, upper-case (as in OCPI).",
        examples=["DEU"],
    )
    time_zone: Zone = Field(description="IANA time zone.", examples=["Europe/Berlin"])
    tariff_id: TariffRef = None


class LocationUpdate(Input):
    name: Annotated[str | None, NotNull] = Field(default=None, max_length=MAX_NAME_LENGTH)
    address: str | None = Field(default=None, max_length=MAX_ADDRESS_LENGTH)
    city: str | None = Field(default=None, max_length=MAX_CITY_LENGTH)
    postal_code: str | None = Field(default=None, max_length=MAX_POSTAL_CODE_LENGTH)
    country: Country | None = None
    time_zone: Annotated[Zone | None, NotNull] = None
    tariff_id: TariffRef = None


class LocationRead(Output):
    id: int
    name: str
    address: str | None
    city: str | None
    postal_code: str | None
    country: str | None
    time_zone: str
    tariff_id: int | None
    created_at: datetime
    updated_at: datetime


class LocationList(PageRead[LocationRead]):
    pass
