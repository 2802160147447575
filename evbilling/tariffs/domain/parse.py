"""`parse_tariff`: an OCPI 2.2.1 Tariff (JSON parsed with Decimal numbers) validated into the
values of `model`, every field error reported at once."""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from datetime import date, time
from decimal import Decimal
from types import MappingProxyType
from typing import Any

from evbilling.tariffs.domain.codec import loads_ocpi
from evbilling.tariffs.domain.fields import (
    Errors,
    currency_field,
    date_time,
    decimal_number,
    is_object,
    join,
    list_field,
    member_of,
    optional,
    present,
    text_field,
    whole_number,
)
from evbilling.tariffs.domain.limits import (
    MAX_CURRENT,
    MAX_DECIMAL_PLACES,
    MAX_DURATION,
    MAX_KWH,
    MAX_POWER,
    MAX_PRICE,
    MAX_STEP_SIZE,
    MAX_VAT_PERCENT,
)
from evbilling.tariffs.domain.model import (
    DayOfWeek,
    DisplayText,
    FieldError,
    InvalidTariff,
    Price,
    PriceComponent,
    ReservationRestrictionType,
    Tariff,
    TariffDimensionType,
    TariffElement,
    TariffRestrictions,
    TariffType,
)

_TIME = re.compile(r"^([0-1][0-9]|2[0-3]):[0-5][0-9]$")
_DATE = re.compile(r"^([12][0-9]{3})-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$")

_TARIFF_FIELDS = frozenset(
    {
        "country_code",
        "party_id",
        "id",
        "currency",
        "type",
        "tariff_alt_text",
        "tariff_alt_url",
        "min_price",
        "max_price",
        "elements",
        "start_date_time",
        "end_date_time",
        "energy_mix",
        "last_updated",
    }
)
_ELEMENT_FIELDS = frozenset({"price_components", "restrictions"})
_COMPONENT_FIELDS = frozenset({"type", "price", "vat", "step_size"})
_PRICE_FIELDS = frozenset({"excl_vat", "incl_vat"})
_DISPLAY_TEXT_FIELDS = frozenset({"language", "text"})
_RESTRICTION_FIELDS = frozenset(f.name for f in TariffRestrictions.__dataclass_fields__.values())
_RESTRICTION_MAXIMUMS = {
    "min_kwh": MAX_KWH,
    "max_kwh": MAX_KWH,
    "min_current": MAX_CURRENT,
    "max_current": MAX_CURRENT,
    "min_power": MAX_POWER,
    "max_power": MAX_POWER,
}
_RANGES = (
    ("min_kwh", "max_kwh"),
    ("min_current", "max_current"),
    ("min_power", "max_power"),
    ("min_duration", "max_duration"),
)


def parse_tariff(data: Mapping[str, Any], /) -> Tariff:
    """Validate an OCPI 2.2.1 Tariff (a JSON object parsed with Decimal numbers).

    Raises `InvalidTariff` listing every field error found.
    """
    errors = Errors()
    tariff = _parse_tariff(data, errors)
    if errors.items or tariff is None:
        raise InvalidTariff(errors.items or [FieldError("$", "must be an object")])
    return tariff


def parse_tariff_json(document: str, /) -> Tariff:
    """A stored tariff document (exact-decimal JSON text), validated."""
    return parse_tariff(loads_ocpi(document))


def _parse_tariff(data: object, errors: Errors) -> Tariff | None:
    if not is_object(data, "", _TARIFF_FIELDS, errors):
        return None
    assert isinstance(data, Mapping)
    country_code = text_field(data, "country_code", "", errors, pattern=r"^[A-Za-z]{2}$")
    party_id = text_field(data, "party_id", "", errors, pattern=r"^[A-Za-z0-9]{3}$")
    tariff_id = text_field(data, "id", "", errors, max_length=36)
    currency = currency_field(data, errors)
    tariff_type = optional(
        data, "type", "", errors, lambda v, p: member_of(TariffType, v, p, errors)
    )
    alt_text = list_field(data, "tariff_alt_text", "", errors, _display_text, required=False)
    alt_url = None
    if present(data, "tariff_alt_url"):
        alt_url = text_field(data, "tariff_alt_url", "", errors, max_length=255)
    min_price = optional(data, "min_price", "", errors, lambda v, p: _price(v, p, errors))
    max_price = optional(data, "max_price", "", errors, lambda v, p: _price(v, p, errors))
    if min_price is not None and max_price is not None:
        if min_price.excl_vat > max_price.excl_vat:
            errors.add("min_price.excl_vat", "must not exceed max_price.excl_vat")
        if (
            min_price.incl_vat is not None
            and max_price.incl_vat is not None
            and min_price.incl_vat > max_price.incl_vat
        ):
            errors.add("min_price.incl_vat", "must not exceed max_price.incl_vat")
    elements = list_field(data, "elements", "", errors, _element, required=True)
    start = optional(data, "start_date_time", "", errors, lambda v, p: date_time(v, p, errors))
    end = optional(data, "end_date_time", "", errors, lambda v, p: date_time(v, p, errors))
    if start is not None and end is not None and start >= end:
        errors.add("end_date_time", "must be after start_date_time")
    energy_mix: Mapping[str, Any] | None = None
    if present(data, "energy_mix"):
        if isinstance(data["energy_mix"], Mapping):
            energy_mix = MappingProxyType(copy.deepcopy(dict(data["energy_mix"])))
        else:
            errors.add("energy_mix", "must be an object")
    last_updated = optional(data, "last_updated", "", errors, lambda v, p: date_time(v, p, errors))
    if errors.items:
        return None
    assert country_code is not None
    assert party_id is not None
    assert tariff_id is not None
    assert currency is not None
    assert elements is not None
    return Tariff(
        country_code=country_code,
        party_id=party_id,
        id=tariff_id,
        currency=currency,
        type=tariff_type,
        tariff_alt_text=tuple(alt_text or ()),
        tariff_alt_url=alt_url,
        min_price=min_price,
        max_price=max_price,
        elements=tuple(elements),
        start_date_time=start,
        end_date_time=end,
        energy_mix=energy_mix,
        last_updated=last_updated,
    )


def _money(value: object, path: str, errors: Errors) -> Decimal | None:
    """A price per unit or an amount: 0 to MAX_PRICE, at most MAX_DECIMAL_PLACES places."""
    return decimal_number(
        value, path, errors, minimum=Decimal(0), maximum=MAX_PRICE, places=MAX_DECIMAL_PLACES
    )


def _price(value: object, path: str, errors: Errors) -> Price | None:
    if not is_object(value, path, _PRICE_FIELDS, errors):
        return None
    assert isinstance(value, Mapping)
    excl: Decimal | None = None
    if value.get("excl_vat") is None:
        errors.add(join(path, "excl_vat"), "is required")
    else:
        excl = _money(value["excl_vat"], join(path, "excl_vat"), errors)
    incl = optional(value, "incl_vat", path, errors, lambda v, p: _money(v, p, errors))
    if excl is None:
        return None
    return Price(excl_vat=excl, incl_vat=incl)


def _display_text(value: object, path: str, errors: Errors) -> DisplayText | None:
    if not is_object(value, path, _DISPLAY_TEXT_FIELDS, errors):
        return None
    assert isinstance(value, Mapping)
    language = text_field(value, "language", path, errors, pattern=r"^[A-Za-z]{2}$")
    text = value.get("text")
    if not isinstance(text, str):
        errors.add(join(path, "text"), "is required" if text is None else "must be a string")
        return None
    if len(text) > 512:
        errors.add(join(path, "text"), "must be at most 512 characters")
        return None
    if language is None:
        return None
    return DisplayText(language=language, text=text)


def _element(value: object, path: str, errors: Errors) -> TariffElement | None:
    if not is_object(value, path, _ELEMENT_FIELDS, errors):
        return None
    assert isinstance(value, Mapping)
    components = list_field(value, "price_components", path, errors, _component, required=True)
    restrictions = optional(
        value, "restrictions", path, errors, lambda v, p: _restrictions(v, p, errors)
    )
    if components is None:
        return None
    seen: set[TariffDimensionType] = set()
    for index, component in enumerate(components):
        if component.type in seen:
            errors.add(
                f"{path}.price_components[{index}].type",
                f"{component.type} appears twice in this element (one component per dimension)",
            )
        seen.add(component.type)
    if restrictions is not None and restrictions.reservation is not None:
        for index, component in enumerate(components):
            if component.type not in (TariffDimensionType.FLAT, TariffDimensionType.TIME):
                errors.add(
                    f"{path}.price_components[{index}].type",
                    "a reservation element may only have FLAT and TIME components",
                )
    return TariffElement(price_components=tuple(components), restrictions=restrictions)


def _component(value: object, path: str, errors: Errors) -> PriceComponent | None:
    if not is_object(value, path, _COMPONENT_FIELDS, errors):
        return None
    assert isinstance(value, Mapping)
    kind: TariffDimensionType | None = None
    if value.get("type") is None:
        errors.add(join(path, "type"), "is required")
    else:
        kind = member_of(TariffDimensionType, value["type"], join(path, "type"), errors)
    price: Decimal | None = None
    if value.get("price") is None:
        errors.add(join(path, "price"), "is required")
    else:
        price = _money(value["price"], join(path, "price"), errors)
    vat = optional(
        value,
        "vat",
        path,
        errors,
        lambda v, p: decimal_number(
            v, p, errors, minimum=Decimal(0), maximum=MAX_VAT_PERCENT, places=MAX_DECIMAL_PLACES
        ),
    )
    step: int | None = None
    if value.get("step_size") is None:
        errors.add(join(path, "step_size"), "is required")
    else:
        # FLAT has no unit to step over; the spec's free-of-charge example uses 0.
        step = whole_number(
            value["step_size"],
            join(path, "step_size"),
            errors,
            positive=kind is not TariffDimensionType.FLAT,
            maximum=MAX_STEP_SIZE[kind or TariffDimensionType.FLAT],
        )
    if kind is None or price is None or step is None:
        return None
    return PriceComponent(type=kind, price=price, step_size=step, vat=vat)


def _time_of_day(value: object, path: str, errors: Errors) -> time | None:
    if not isinstance(value, str) or _TIME.match(value) is None:
        errors.add(path, "must be a time of day HH:MM (00:00 to 23:59)")
        return None
    return time(int(value[:2]), int(value[3:]))


def _date(value: object, path: str, errors: Errors) -> date | None:
    if not isinstance(value, str) or _DATE.match(value) is None:
        errors.add(path, "must be a date YYYY-MM-DD")
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        errors.add(path, "is not a calendar date")
        return None


def _restrictions(value: object, path: str, errors: Errors) -> TariffRestrictions | None:
    if not is_object(value, path, _RESTRICTION_FIELDS, errors):
        return None
    assert isinstance(value, Mapping)
    before = len(errors.items)

    def number(name: str) -> Decimal | None:
        def parse(v: object, p: str) -> Decimal | None:
            return decimal_number(
                v,
                p,
                errors,
                minimum=Decimal(0),
                maximum=_RESTRICTION_MAXIMUMS[name],
                places=MAX_DECIMAL_PLACES,
            )

        return optional(value, name, path, errors, parse)

    def integer(name: str) -> int | None:
        def parse(v: object, p: str) -> int | None:
            return whole_number(v, p, errors, positive=False, maximum=MAX_DURATION)

        return optional(value, name, path, errors, parse)

    days: list[DayOfWeek] = []
    for index, day in enumerate(
        list_field(
            value,
            "day_of_week",
            path,
            errors,
            lambda v, p, e: member_of(DayOfWeek, v, p, e),
            required=False,
        )
        or ()
    ):
        if day in days:
            errors.add(f"{join(path, 'day_of_week')}[{index}]", f"{day} is listed twice")
        days.append(day)
    restrictions = TariffRestrictions(
        start_time=optional(
            value, "start_time", path, errors, lambda v, p: _time_of_day(v, p, errors)
        ),
        end_time=optional(value, "end_time", path, errors, lambda v, p: _time_of_day(v, p, errors)),
        start_date=optional(value, "start_date", path, errors, lambda v, p: _date(v, p, errors)),
        end_date=optional(value, "end_date", path, errors, lambda v, p: _date(v, p, errors)),
        min_kwh=number("min_kwh"),
        max_kwh=number("max_kwh"),
        min_current=number("min_current"),
        max_current=number("max_current"),
        min_power=number("min_power"),
        max_power=number("max_power"),
        min_duration=integer("min_duration"),
        max_duration=integer("max_duration"),
        day_of_week=tuple(days),
        reservation=optional(
            value,
            "reservation",
            path,
            errors,
            lambda v, p: member_of(ReservationRestrictionType, v, p, errors),
        ),
    )
    for low, high in _RANGES:
        low_value, high_value = getattr(restrictions, low), getattr(restrictions, high)
        if low_value is not None and high_value is not None and low_value >= high_value:
            errors.add(join(path, low), f"must be less than {high}")
    if (
        restrictions.start_date is not None
        and restrictions.end_date is not None
        and restrictions.start_date >= restrictions.end_date
    ):
        errors.add(join(path, "start_date"), "must be before end_date (end_date is exclusive)")
    return restrictions if len(errors.items) == before else None
