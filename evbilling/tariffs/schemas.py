"""Tariff request and response schemas, with the OCPI 2.2.1 Tariff object documented for
OpenAPI.

The OCPI document itself is validated by the service (parse_tariff), which reports every
field error at once; these models validate the envelope and document the API. Read schemas
take the document from a row's `ocpi_json`, numbers as exact Decimals.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import AliasChoices, BeforeValidator, Field, WithJsonSchema

from evbilling.infra.http.schemas import Input, NotNull, Output, PageRead
from evbilling.infra.validation import MAX_NAME_LENGTH
from evbilling.tariffs.domain import (
    MAX_CURRENT,
    MAX_DECIMAL_PLACES,
    MAX_DURATION,
    MAX_KWH,
    MAX_POWER,
    MAX_PRICE,
    MAX_STEP_SIZE,
    MAX_VAT_PERCENT,
    loads_ocpi,
)

_DECIMAL = {
    "type": "number",
    "description": "Exact decimal; written back digit for digit; at most "
    f"{MAX_DECIMAL_PLACES} decimal places.",
}


def _bounded(maximum: object, **extra: Any) -> dict[str, Any]:
    return {**_DECIMAL, "minimum": 0, "maximum": maximum, **extra}


_MONEY = _bounded(int(MAX_PRICE))
_DURATION = {"type": "integer", "minimum": 0, "maximum": MAX_DURATION, "description": "Seconds"}
_DATETIME = {"type": "string", "format": "date-time", "examples": ["2026-03-02T09:00:00Z"]}
_OCPI_PRICE = {
    "type": "object",
    "properties": {"excl_vat": _MONEY, "incl_vat": _MONEY},
    "required": ["excl_vat"],
    "additionalProperties": False,
}
_STEPS = ", ".join(f"{kind.value} {limit}" for kind, limit in MAX_STEP_SIZE.items())
_DAYS = ["MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY"]
_OCPI_COMPONENT = {
    "type": "object",
    "properties": {
        "type": {"type": "string", "enum": ["ENERGY", "FLAT", "PARKING_TIME", "TIME"]},
        "price": {
            **_MONEY,
            "description": "Excl. VAT: per kWh (ENERGY), per hour (TIME, PARKING_TIME) or per "
            f"session (FLAT); 0 to {MAX_PRICE}, at most {MAX_DECIMAL_PLACES} decimal places.",
        },
        "vat": _bounded(
            int(MAX_VAT_PERCENT),
            description="Percent; absent means no VAT applies (amounts incl. VAT = excl.).",
        ),
        "step_size": {
            "type": "integer",
            "minimum": 0,
            "maximum": max(MAX_STEP_SIZE.values()),
            "description": "Billing step: Wh (ENERGY) or seconds (TIME, PARKING_TIME); at "
            f"least 1 (0 allowed for FLAT), at most: {_STEPS}.",
        },
    },
    "required": ["type", "price", "step_size"],
}
_OCPI_RESTRICTIONS = {
    "type": "object",
    "description": "All must hold for the element to apply (station local time).",
    "properties": {
        "start_time": {"type": "string", "examples": ["13:30"]},
        "end_time": {"type": "string", "examples": ["19:00"]},
        "start_date": {"type": "string", "format": "date"},
        "end_date": {"type": "string", "format": "date"},
        **dict.fromkeys(("min_kwh", "max_kwh"), _bounded(int(MAX_KWH))),
        **dict.fromkeys(("min_current", "max_current"), _bounded(int(MAX_CURRENT))),
        **dict.fromkeys(("min_power", "max_power"), _bounded(int(MAX_POWER))),
        **dict.fromkeys(("min_duration", "max_duration"), _DURATION),
        "day_of_week": {"type": "array", "items": {"type": "string", "enum": _DAYS}},
        "reservation": {"type": "string", "enum": ["RESERVATION", "RESERVATION_EXPIRES"]},
    },
}
_OCPI_ELEMENT = {
    "type": "object",
    "description": "For every moment and dimension the first matching element prices.",
    "properties": {
        "price_components": {"type": "array", "minItems": 1, "items": _OCPI_COMPONENT},
        "restrictions": _OCPI_RESTRICTIONS,
    },
    "required": ["price_components"],
}
_TARIFF_TYPES = ["AD_HOC_PAYMENT", "PROFILE_CHEAP", "PROFILE_FAST", "PROFILE_GREEN", "REGULAR"]
OCPI_TARIFF_SCHEMA: dict[str, Any] = {
    "title": "OcpiTariff",
    "type": "object",
    "description": "An OCPI 2.2.1 Tariff object (module Tariffs, section 11.3.1). On input, "
    "`id` (default: the tariff's id), `country_code`/`party_id` (default: XX/EVB, or the "
    "current version's) and `last_updated` (default: now) may be left out. Unknown fields are "
    "refused. JSON numbers are kept exactly as written.",
    "properties": {
        "country_code": {"type": "string", "pattern": "^[A-Za-z]{2}$", "examples": ["DE"]},
        "party_id": {"type": "string", "pattern": "^[A-Za-z0-9]{3}$", "examples": ["EVB"]},
        "id": {"type": "string", "maxLength": 36},
        "currency": {"type": "string", "description": "ISO 4217 code.", "examples": ["EUR"]},
        "type": {"type": "string", "enum": _TARIFF_TYPES},
        "tariff_alt_text": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "language": {"type": "string", "pattern": "^[A-Za-z]{2}$"},
                    "text": {"type": "string", "maxLength": 512},
                },
                "required": ["language", "text"],
            },
        },
        "tariff_alt_url": {"type": "string", "maxLength": 255},
        "min_price": _OCPI_PRICE,
        "max_price": _OCPI_PRICE,
        "elements": {"type": "array", "minItems": 1, "items": _OCPI_ELEMENT},
        "start_date_time": _DATETIME,
        "end_date_time": _DATETIME,
        "energy_mix": {"type": "object"},
        "last_updated": _DATETIME,
    },
    "required": ["currency", "elements"],
    "examples": [
        {
            "currency": "EUR",
            "elements": [
                {
                    "price_components": [
                        {"type": "ENERGY", "price": 0.39, "vat": 19, "step_size": 1},
                        {"type": "FLAT", "price": 0.50, "vat": 19, "step_size": 1},
                    ]
                }
            ],
        }
    ],
}
OcpiTariffJson = Annotated[dict[str, Any], WithJsonSchema(OCPI_TARIFF_SCHEMA)]
OCPI_MEDIA = {"application/json": {"schema": OCPI_TARIFF_SCHEMA}}


def _document(value: object) -> object:
    """A stored document (text) as JSON data with Decimal numbers; data passes as is."""
    return loads_ocpi(value) if isinstance(value, str | bytes) else value


# Read from a row's `ocpi_json` (or given as `ocpi`).
StoredOcpi = Annotated[
    OcpiTariffJson,
    BeforeValidator(_document),
    Field(validation_alias=AliasChoices("ocpi", "ocpi_json")),
]

TariffRef = Annotated[
    int | None, Field(description="A tariff of this operator; null for none.", ge=1)
]


class TariffCreate(Input):
    name: str = Field(min_length=1, max_length=MAX_NAME_LENGTH, examples=["Standard"])
    is_default: bool = Field(
        default=False,
        description="Price charges that have no driver, group, EVSE, station or location "
        "tariff with this one; replaces the operator's previous default.",
    )
    ocpi: OcpiTariffJson


class TariffUpdate(Input):
    name: Annotated[str | None, NotNull] = Field(default=None, max_length=MAX_NAME_LENGTH)
    is_default: Annotated[bool | None, NotNull] = None
    ocpi: Annotated[OcpiTariffJson | None, NotNull] = Field(
        default=None,
        description="A new document: becomes version n+1 (same OCPI id and currency).",
    )


class TariffRead(Output):
    id: int
    name: str
    ocpi_id: str = Field(description="The OCPI tariff id (unique per operator).")
    currency: str
    is_default: bool
    version: int = Field(
        description="The current OCPI document's version; sessions keep the version they "
        "started with."
    )
    ocpi: StoredOcpi
    created_at: datetime
    updated_at: datetime


class TariffList(PageRead[TariffRead]):
    pass


class TariffVersionRead(Output):
    tariff_id: int
    version: int
    ocpi: StoredOcpi
    created_at: datetime


class TariffVersionList(Output):
    items: list[TariffVersionRead] = Field(description="Every version, oldest first.")
