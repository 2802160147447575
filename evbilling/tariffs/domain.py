"""The OCPI 2.2.1 Tariff object: immutable values, strict parsing and lossless export.

`parse_tariff(data)` validates a tariff as the Tariffs module of OCPI 2.2.1 defines it and
reports every problem at once, each with the path of the offending field
(``elements[0].price_components[1].step_size: must be a positive integer``).
`tariff_to_ocpi(tariff)` turns it back into a JSON-ready dict; numbers stay `Decimal`, exactly
as they were parsed (``2.00`` stays ``2.00``), so `dumps_ocpi` writes them back digit for
digit. Parse JSON text with `loads_ocpi` (or ``json.loads(text, parse_float=Decimal)``):
floats are refused, because 0.1 + 0.2 is not 0.3.

Choices where OCPI leaves room, documented once here:

- Unknown fields are errors: a misspelt ``restriction`` silently ignored would price a
  tariff wrongly, which is worse than refusing it.
- A JSON ``null`` is the same as an absent field, and so is an empty ``tariff_alt_text`` or
  ``day_of_week`` list (OCPI: "fields that are not specified may be considered as null").
- ``last_updated`` is optional: the spec's own PUT example omits it (the receiver stamps it).
- Prices must not be negative; VAT is a percentage in [0, 100]; ``step_size`` is a positive
  integer, except for ``FLAT`` where it has no unit and 0 is accepted (spec example 5).
- A tariff element may hold at most one price component per dimension, and an element with a
  ``reservation`` restriction only ``FLAT`` and ``TIME`` components (OCPI 2.2.1).
- Ranges in restrictions must be non-empty: ``min_x < max_x``, ``start_date < end_date``.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from decimal import Decimal
from enum import StrEnum
from types import MappingProxyType
from typing import Any, TypeVar

from evbilling.kit import EVBillingError
from evbilling.kit.clock import InvalidTimestamp, parse_utc_timestamp
from evbilling.money import InvalidCurrency, validate_currency

__all__ = [
    "DayOfWeek",
    "DisplayText",
    "FieldError",
    "InvalidTariff",
    "Price",
    "PriceComponent",
    "ReservationRestrictionType",
    "Tariff",
    "TariffDimensionType",
    "TariffElement",
    "TariffRestrictions",
    "TariffType",
    "dumps_ocpi",
    "format_ocpi_datetime",
    "loads_ocpi",
    "parse_ocpi_datetime",
    "parse_tariff",
    "tariff_to_ocpi",
]


class TariffType(StrEnum):
    AD_HOC_PAYMENT = "AD_HOC_PAYMENT"
    PROFILE_CHEAP = "PROFILE_CHEAP"
    PROFILE_FAST = "PROFILE_FAST"
    PROFILE_GREEN = "PROFILE_GREEN"
    REGULAR = "REGULAR"


class TariffDimensionType(StrEnum):
    ENERGY = "ENERGY"
    FLAT = "FLAT"
    PARKING_TIME = "PARKING_TIME"
    TIME = "TIME"


class DayOfWeek(StrEnum):
    MONDAY = "MONDAY"
    TUESDAY = "TUESDAY"
    WEDNESDAY = "WEDNESDAY"
    THURSDAY = "THURSDAY"
    FRIDAY = "FRIDAY"
    SATURDAY = "SATURDAY"
    SUNDAY = "SUNDAY"

    @property
    def weekday(self) -> int:
        """Monday 0 ... Sunday 6, as `date.weekday()` counts."""
        return _WEEKDAYS.index(self)


_WEEKDAYS: tuple[DayOfWeek, ...] = tuple(DayOfWeek)


class ReservationRestrictionType(StrEnum):
    RESERVATION = "RESERVATION"
    RESERVATION_EXPIRES = "RESERVATION_EXPIRES"


@dataclass(frozen=True, slots=True)
class FieldError:
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


class InvalidTariff(EVBillingError):
    """A tariff does not satisfy OCPI 2.2.1; `errors` lists every offending field."""

    def __init__(self, errors: Sequence[FieldError]) -> None:
        self.errors: tuple[FieldError, ...] = tuple(errors)
        super().__init__("; ".join(str(error) for error in self.errors))

    @property
    def messages(self) -> list[str]:
        return [str(error) for error in self.errors]


@dataclass(frozen=True, slots=True)
class Price:
    """OCPI Price: an amount excluding VAT and, when known, including VAT."""

    excl_vat: Decimal
    incl_vat: Decimal | None = None


@dataclass(frozen=True, slots=True)
class DisplayText:
    language: str
    text: str


@dataclass(frozen=True, slots=True)
class PriceComponent:
    type: TariffDimensionType
    price: Decimal  # per unit, excl. VAT: per kWh, per hour, or per session (FLAT)
    step_size: int  # 1 Wh (ENERGY) or 1 second (TIME, PARKING_TIME) multiples
    vat: Decimal | None = None  # percent; None means "no VAT given", not 0 %


@dataclass(frozen=True, slots=True)
class TariffRestrictions:
    start_time: time | None = None
    end_time: time | None = None
    start_date: date | None = None
    end_date: date | None = None
    min_kwh: Decimal | None = None
    max_kwh: Decimal | None = None
    min_current: Decimal | None = None
    max_current: Decimal | None = None
    min_power: Decimal | None = None
    max_power: Decimal | None = None
    min_duration: int | None = None
    max_duration: int | None = None
    day_of_week: tuple[DayOfWeek, ...] = ()
    reservation: ReservationRestrictionType | None = None

    @property
    def uses_local_time(self) -> bool:
        """True when matching depends on the station's local clock or calendar."""
        return (
            self.start_time is not None
            or self.end_time is not None
            or self.start_date is not None
            or self.end_date is not None
            or bool(self.day_of_week)
        )


@dataclass(frozen=True, slots=True)
class TariffElement:
    price_components: tuple[PriceComponent, ...]
    restrictions: TariffRestrictions | None = None

    def component(self, kind: TariffDimensionType) -> PriceComponent | None:
        for component in self.price_components:
            if component.type is kind:
                return component
        return None


@dataclass(frozen=True, slots=True)
class Tariff:
    country_code: str
    party_id: str
    id: str
    currency: str
    elements: tuple[TariffElement, ...]
    last_updated: datetime | None = None
    type: TariffType | None = None
    tariff_alt_text: tuple[DisplayText, ...] = ()
    tariff_alt_url: str | None = None
    min_price: Price | None = None
    max_price: Price | None = None
    start_date_time: datetime | None = None
    end_date_time: datetime | None = None
    # Opaque to rating; read-only view of a private copy. Excluded from hashing (a mapping).
    energy_mix: Mapping[str, Any] | None = field(default=None, hash=False)

    @property
    def uses_local_time(self) -> bool:
        return any(
            element.restrictions is not None and element.restrictions.uses_local_time
            for element in self.elements
        )


# --------------------------------------------------------------------------------------------
# JSON helpers


def loads_ocpi(text: str | bytes) -> Any:
    """Parse OCPI JSON with every non-integer number as an exact `Decimal`."""
    return json.loads(text, parse_float=Decimal)


def dumps_ocpi(obj: Any, *, indent: int | None = None) -> str:
    """Serialise JSON-ready data, writing `Decimal` numbers exactly (no float round trip).

    Accepts dicts, lists/tuples, str, int, bool, None and finite Decimals; datetimes must
    already be strings (use `format_ocpi_datetime`).
    """
    parts: list[str] = []
    _dump(obj, parts, indent, 0)
    return "".join(parts)


def _dump(obj: Any, out: list[str], indent: int | None, level: int) -> None:
    if obj is None or isinstance(obj, bool | int | str):
        out.append(json.dumps(obj))
    elif isinstance(obj, Decimal):
        if not obj.is_finite():
            raise ValueError(f"not a finite number: {obj}")
        # Fixed-point notation: '1E+1' is valid JSON but surprises readers; '-0' is not wanted.
        text = format(obj, "f")
        out.append("0" if text in ("-0", "0") else text)
    elif isinstance(obj, Mapping):
        _dump_items(
            [(json.dumps(str(key)) + ": ", value) for key, value in obj.items()],
            "{",
            "}",
            out,
            indent,
            level,
        )
    elif isinstance(obj, list | tuple):
        _dump_items([("", value) for value in obj], "[", "]", out, indent, level)
    else:
        raise TypeError(f"not JSON-ready: {type(obj).__name__}")


def _dump_items(
    items: list[tuple[str, Any]],
    opening: str,
    closing: str,
    out: list[str],
    indent: int | None,
    level: int,
) -> None:
    out.append(opening)
    if not items:
        out.append(closing)
        return
    for position, (prefix, value) in enumerate(items):
        if position:
            out.append(",")
        if indent is None:
            out.append(" " if position else "")
        else:
            out.append("\n" + " " * (indent * (level + 1)))
        out.append(prefix)
        _dump(value, out, indent, level + 1)
    if indent is not None:
        out.append("\n" + " " * (indent * level))
    out.append(closing)


def parse_ocpi_datetime(text: str) -> datetime:
    """An OCPI DateTime (UTC; 'Z' optional) as an aware UTC datetime."""
    return parse_utc_timestamp(text, assume_utc_when_naive=True)


def format_ocpi_datetime(moment: datetime) -> str:
    """UTC with a 'Z' designator; microseconds only when present."""
    utc = moment.astimezone(UTC)
    if utc.microsecond:
        return utc.strftime("%Y-%m-%dT%H:%M:%S.%f").rstrip("0") + "Z"
    return utc.strftime("%Y-%m-%dT%H:%M:%SZ")


# --------------------------------------------------------------------------------------------
# Parsing and validation

_TIME = re.compile(r"^([0-1][0-9]|2[0-3]):[0-5][0-9]$")
_DATE = re.compile(r"^([12][0-9]{3})-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$")
_E = TypeVar("_E", bound=StrEnum)
_T = TypeVar("_T")

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
_RANGES = (
    ("min_kwh", "max_kwh"),
    ("min_current", "max_current"),
    ("min_power", "max_power"),
    ("min_duration", "max_duration"),
)


class _Errors:
    """Collects field errors while parsing continues, so one call reports them all."""

    __slots__ = ("items",)

    def __init__(self) -> None:
        self.items: list[FieldError] = []

    def add(self, path: str, message: str) -> None:
        self.items.append(FieldError(path=path, message=message))


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def parse_tariff(data: Mapping[str, Any], /) -> Tariff:
    """Validate an OCPI 2.2.1 Tariff (a JSON object parsed with Decimal numbers).

    Raises `InvalidTariff` listing every field error found.
    """
    errors = _Errors()
    tariff = _parse_tariff(data, errors)
    if errors.items or tariff is None:
        raise InvalidTariff(errors.items or [FieldError("$", "must be an object")])
    return tariff


def _object(value: object, path: str, allowed: frozenset[str], errors: _Errors) -> bool:
    if not isinstance(value, Mapping):
        errors.add(path or "$", "must be an object")
        return False
    for key in value:
        if key not in allowed:
            errors.add(_join(path, str(key)), "unknown field")
    return True


def _present(data: Mapping[str, Any], name: str) -> bool:
    return data.get(name) is not None


def _parse_tariff(data: object, errors: _Errors) -> Tariff | None:
    if not _object(data, "", _TARIFF_FIELDS, errors):
        return None
    assert isinstance(data, Mapping)
    country_code = _string(data, "country_code", "", errors, pattern=r"^[A-Za-z]{2}$")
    party_id = _string(data, "party_id", "", errors, pattern=r"^[A-Za-z0-9]{3}$")
    tariff_id = _string(data, "id", "", errors, max_length=36)
    currency = _currency(data, errors)
    tariff_type = _optional(data, "type", "", errors, lambda v, p: _enum(TariffType, v, p, errors))
    alt_text = _list(data, "tariff_alt_text", "", errors, _display_text, required=False)
    alt_url = None
    if _present(data, "tariff_alt_url"):
        alt_url = _string(data, "tariff_alt_url", "", errors, max_length=255)
    min_price = _optional(data, "min_price", "", errors, lambda v, p: _price(v, p, errors))
    max_price = _optional(data, "max_price", "", errors, lambda v, p: _price(v, p, errors))
    if min_price is not None and max_price is not None:
        if min_price.excl_vat > max_price.excl_vat:
            errors.add("min_price.excl_vat", "must not exceed max_price.excl_vat")
        if (
            min_price.incl_vat is not None
            and max_price.incl_vat is not None
            and min_price.incl_vat > max_price.incl_vat
        ):
            errors.add("min_price.incl_vat", "must not exceed max_price.incl_vat")
    elements = _list(data, "elements", "", errors, _element, required=True)
    start = _optional(data, "start_date_time", "", errors, lambda v, p: _datetime(v, p, errors))
    end = _optional(data, "end_date_time", "", errors, lambda v, p: _datetime(v, p, errors))
    if start is not None and end is not None and start >= end:
        errors.add("end_date_time", "must be after start_date_time")
    energy_mix: Mapping[str, Any] | None = None
    if _present(data, "energy_mix"):
        if isinstance(data["energy_mix"], Mapping):
            energy_mix = MappingProxyType(copy.deepcopy(dict(data["energy_mix"])))
        else:
            errors.add("energy_mix", "must be an object")
    last_updated = _optional(data, "last_updated", "", errors, lambda v, p: _datetime(v, p, errors))
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


def _optional(
    data: Mapping[str, Any],
    name: str,
    path: str,
    errors: _Errors,
    parse: Callable[[Any, str], _T | None],
) -> _T | None:
    if not _present(data, name):
        return None
    return parse(data[name], _join(path, name))


def _string(
    data: Mapping[str, Any],
    name: str,
    path: str,
    errors: _Errors,
    *,
    max_length: int | None = None,
    pattern: str | None = None,
) -> str | None:
    where = _join(path, name)
    value = data.get(name)
    if value is None:
        errors.add(where, "is required")
        return None
    if not isinstance(value, str):
        errors.add(where, "must be a string")
        return None
    if not value:
        errors.add(where, "must not be empty")
        return None
    if not value.isascii() or not value.isprintable():
        errors.add(where, "must be printable ASCII")
        return None
    if max_length is not None and len(value) > max_length:
        errors.add(where, f"must be at most {max_length} characters")
        return None
    if pattern is not None and re.match(pattern, value) is None:
        errors.add(where, f"must match {pattern}")
        return None
    return value


def _currency(data: Mapping[str, Any], errors: _Errors) -> str | None:
    value = data.get("currency")
    if value is None:
        errors.add("currency", "is required")
        return None
    if not isinstance(value, str):
        errors.add("currency", "must be a string")
        return None
    try:
        return validate_currency(value)
    except InvalidCurrency:
        errors.add("currency", "must be an ISO 4217 code of three upper-case letters")
        return None


def _enum(kind: type[_E], value: object, path: str, errors: _Errors) -> _E | None:
    if isinstance(value, str):
        try:
            return kind(value)
        except ValueError:
            pass
    allowed = ", ".join(member.value for member in kind)
    errors.add(path, f"must be one of {allowed}")
    return None


def _number(
    value: object,
    path: str,
    errors: _Errors,
    *,
    minimum: Decimal | None = None,
    maximum: Decimal | None = None,
) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, int | Decimal):
        if isinstance(value, float):
            errors.add(path, "must be a decimal number (parse JSON with parse_float=Decimal)")
        else:
            errors.add(path, "must be a number")
        return None
    number = Decimal(value)
    if not number.is_finite():
        errors.add(path, "must be a finite number")
        return None
    if minimum is not None and number < minimum:
        errors.add(path, "must not be negative" if minimum == 0 else f"must be at least {minimum}")
        return None
    if maximum is not None and number > maximum:
        errors.add(path, f"must be at most {maximum}")
        return None
    # Keep the parsed object itself: exported JSON repeats the exact digits (2.00 stays 2.00).
    return value if isinstance(value, Decimal) else number


def _integer(value: object, path: str, errors: _Errors, *, positive: bool) -> int | None:
    number: int | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, Decimal) and value.is_finite() and value == value.to_integral_value():
        number = int(value)
    if number is None or number < (1 if positive else 0):
        errors.add(path, "must be a positive integer" if positive else "must be an integer >= 0")
        return None
    return number


def _datetime(value: object, path: str, errors: _Errors) -> datetime | None:
    if not isinstance(value, str):
        errors.add(path, "must be a DateTime string")
        return None
    try:
        return parse_ocpi_datetime(value)
    except InvalidTimestamp:
        errors.add(path, "must be an ISO 8601 DateTime in UTC, e.g. 2015-06-29T20:39:09Z")
        return None


def _list(
    data: Mapping[str, Any],
    name: str,
    path: str,
    errors: _Errors,
    parse: Callable[[Any, str, _Errors], _T | None],
    *,
    required: bool,
) -> list[_T] | None:
    where = _join(path, name)
    value = data.get(name)
    if value is None:
        if required:
            errors.add(where, "is required")
        return None
    if not isinstance(value, list | tuple):
        errors.add(where, "must be a list")
        return None
    if required and not value:
        errors.add(where, "must contain at least one item")
        return None
    parsed: list[_T] = []
    for index, item in enumerate(value):
        result = parse(item, f"{where}[{index}]", errors)
        if result is not None:
            parsed.append(result)
    return parsed


def _price(value: object, path: str, errors: _Errors) -> Price | None:
    if not _object(value, path, _PRICE_FIELDS, errors):
        return None
    assert isinstance(value, Mapping)
    excl: Decimal | None = None
    if value.get("excl_vat") is None:
        errors.add(_join(path, "excl_vat"), "is required")
    else:
        excl = _number(value["excl_vat"], _join(path, "excl_vat"), errors, minimum=Decimal(0))
    incl = _optional(
        value, "incl_vat", path, errors, lambda v, p: _number(v, p, errors, minimum=Decimal(0))
    )
    if excl is None:
        return None
    return Price(excl_vat=excl, incl_vat=incl)


def _display_text(value: object, path: str, errors: _Errors) -> DisplayText | None:
    if not _object(value, path, _DISPLAY_TEXT_FIELDS, errors):
        return None
    assert isinstance(value, Mapping)
    language = _string(value, "language", path, errors, pattern=r"^[A-Za-z]{2}$")
    text = value.get("text")
    if not isinstance(text, str):
        errors.add(_join(path, "text"), "is required" if text is None else "must be a string")
        return None
    if len(text) > 512:
        errors.add(_join(path, "text"), "must be at most 512 characters")
        return None
    if language is None:
        return None
    return DisplayText(language=language, text=text)


def _element(value: object, path: str, errors: _Errors) -> TariffElement | None:
    if not _object(value, path, _ELEMENT_FIELDS, errors):
        return None
    assert isinstance(value, Mapping)
    components = _list(value, "price_components", path, errors, _component, required=True)
    restrictions = _optional(
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


def _component(value: object, path: str, errors: _Errors) -> PriceComponent | None:
    if not _object(value, path, _COMPONENT_FIELDS, errors):
        return None
    assert isinstance(value, Mapping)
    kind: TariffDimensionType | None = None
    if value.get("type") is None:
        errors.add(_join(path, "type"), "is required")
    else:
        kind = _enum(TariffDimensionType, value["type"], _join(path, "type"), errors)
    price: Decimal | None = None
    if value.get("price") is None:
        errors.add(_join(path, "price"), "is required")
    else:
        price = _number(value["price"], _join(path, "price"), errors, minimum=Decimal(0))
    vat = _optional(
        value,
        "vat",
        path,
        errors,
        lambda v, p: _number(v, p, errors, minimum=Decimal(0), maximum=Decimal(100)),
    )
    step: int | None = None
    if value.get("step_size") is None:
        errors.add(_join(path, "step_size"), "is required")
    else:
        # FLAT has no unit to step over; the spec's free-of-charge example uses 0.
        step = _integer(
            value["step_size"],
            _join(path, "step_size"),
            errors,
            positive=kind is not TariffDimensionType.FLAT,
        )
    if kind is None or price is None or step is None:
        return None
    return PriceComponent(type=kind, price=price, step_size=step, vat=vat)


def _time_of_day(value: object, path: str, errors: _Errors) -> time | None:
    if not isinstance(value, str) or _TIME.match(value) is None:
        errors.add(path, "must be a time of day HH:MM (00:00 to 23:59)")
        return None
    return time(int(value[:2]), int(value[3:]))


def _date(value: object, path: str, errors: _Errors) -> date | None:
    if not isinstance(value, str) or _DATE.match(value) is None:
        errors.add(path, "must be a date YYYY-MM-DD")
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        errors.add(path, "is not a calendar date")
        return None


def _restrictions(value: object, path: str, errors: _Errors) -> TariffRestrictions | None:
    if not _object(value, path, _RESTRICTION_FIELDS, errors):
        return None
    assert isinstance(value, Mapping)
    before = len(errors.items)

    def number(name: str) -> Decimal | None:
        return _optional(
            value, name, path, errors, lambda v, p: _number(v, p, errors, minimum=Decimal(0))
        )

    def integer(name: str) -> int | None:
        return _optional(
            value, name, path, errors, lambda v, p: _integer(v, p, errors, positive=False)
        )

    days: list[DayOfWeek] = []
    for index, day in enumerate(
        _list(
            value,
            "day_of_week",
            path,
            errors,
            lambda v, p, e: _enum(DayOfWeek, v, p, e),
            required=False,
        )
        or ()
    ):
        if day in days:
            errors.add(f"{_join(path, 'day_of_week')}[{index}]", f"{day} is listed twice")
        days.append(day)
    restrictions = TariffRestrictions(
        start_time=_optional(
            value, "start_time", path, errors, lambda v, p: _time_of_day(v, p, errors)
        ),
        end_time=_optional(
            value, "end_time", path, errors, lambda v, p: _time_of_day(v, p, errors)
        ),
        start_date=_optional(value, "start_date", path, errors, lambda v, p: _date(v, p, errors)),
        end_date=_optional(value, "end_date", path, errors, lambda v, p: _date(v, p, errors)),
        min_kwh=number("min_kwh"),
        max_kwh=number("max_kwh"),
        min_current=number("min_current"),
        max_current=number("max_current"),
        min_power=number("min_power"),
        max_power=number("max_power"),
        min_duration=integer("min_duration"),
        max_duration=integer("max_duration"),
        day_of_week=tuple(days),
        reservation=_optional(
            value,
            "reservation",
            path,
            errors,
            lambda v, p: _enum(ReservationRestrictionType, v, p, errors),
        ),
    )
    for low, high in _RANGES:
        low_value, high_value = getattr(restrictions, low), getattr(restrictions, high)
        if low_value is not None and high_value is not None and low_value >= high_value:
            errors.add(_join(path, low), f"must be less than {high}")
    if (
        restrictions.start_date is not None
        and restrictions.end_date is not None
        and restrictions.start_date >= restrictions.end_date
    ):
        errors.add(_join(path, "start_date"), "must be before end_date (end_date is exclusive)")
    return restrictions if len(errors.items) == before else None


# --------------------------------------------------------------------------------------------
# Export


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
