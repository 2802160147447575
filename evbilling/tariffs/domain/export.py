"""`tariff_to_ocpi`: a parsed tariff back as an OCPI JSON object, numbers as the exact
Decimals they were parsed with, absent fields left out."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from datetime import date, time
from decimal import Decimal
from enum import StrEnum
from typing import Any

from evbilling.tariffs.domain.codec import format_ocpi_datetime
from evbilling.tariffs.domain.model import Price, Tariff, TariffElement, TariffRestrictions


def tariff_to_ocpi(tariff: Tariff, /) -> dict[str, Any]:
    """The tariff as an OCPI 2.2.1 JSON object.

    Numbers are `Decimal` objects with the digits they were parsed with; serialise with
    `dumps_ocpi` (or any encoder that writes Decimals exactly). Absent fields are omitted.
    """
    out: dict[str, Any] = {
        "country_code": tariff.country_code,
        "party_id": tariff.party_id,
        "id": tariff.id,
        "currency": tariff.currency,
    }
    if tariff.type is not None:
        out["type"] = tariff.type.value
    if tariff.tariff_alt_text:
        out["tariff_alt_text"] = [
            {"language": text.language, "text": text.text} for text in tariff.tariff_alt_text
        ]
    if tariff.tariff_alt_url is not None:
        out["tariff_alt_url"] = tariff.tariff_alt_url
    if tariff.min_price is not None:
        out["min_price"] = price_to_ocpi(tariff.min_price)
    if tariff.max_price is not None:
        out["max_price"] = price_to_ocpi(tariff.max_price)
    out["elements"] = [_element_to_ocpi(element) for element in tariff.elements]
    if tariff.start_date_time is not None:
        out["start_date_time"] = format_ocpi_datetime(tariff.start_date_time)
    if tariff.end_date_time is not None:
        out["end_date_time"] = format_ocpi_datetime(tariff.end_date_time)
    if tariff.energy_mix is not None:
        out["energy_mix"] = copy.deepcopy(dict(tariff.energy_mix))
    if tariff.last_updated is not None:
        out["last_updated"] = format_ocpi_datetime(tariff.last_updated)
    return out


def price_to_ocpi(price: Price, /) -> dict[str, Decimal]:
    out = {"excl_vat": price.excl_vat}
    if price.incl_vat is not None:
        out["incl_vat"] = price.incl_vat
    return out


def _element_to_ocpi(element: TariffElement) -> dict[str, Any]:
    out: dict[str, Any] = {"price_components": list(_components_to_ocpi(element))}
    if element.restrictions is not None:
        out["restrictions"] = _restrictions_to_ocpi(element.restrictions)
    return out


def _components_to_ocpi(element: TariffElement) -> Iterator[dict[str, Any]]:
    for component in element.price_components:
        out: dict[str, Any] = {"type": component.type.value, "price": component.price}
        if component.vat is not None:
            out["vat"] = component.vat
        out["step_size"] = component.step_size
        yield out


def _restrictions_to_ocpi(restrictions: TariffRestrictions) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in _RESTRICTION_FIELDS_IN_ORDER:
        value = getattr(restrictions, name)
        if value is None or value == ():
            continue
        if isinstance(value, time):
            out[name] = value.strftime("%H:%M")
        elif isinstance(value, date):
            out[name] = value.isoformat()
        elif isinstance(value, tuple):
            out[name] = [day.value for day in value]
        elif isinstance(value, StrEnum):
            out[name] = value.value
        else:
            out[name] = value
    return out


_RESTRICTION_FIELDS_IN_ORDER: tuple[str, ...] = tuple(TariffRestrictions.__dataclass_fields__)
