"""The field readers `parse` is built from: each checks one JSON value, records a FieldError
with its path when the value is wrong, and returns None then, so parsing goes on and one call
reports every problem."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any, TypeVar

from evbilling.kit.clock import InvalidTimestamp
from evbilling.money import InvalidCurrency, validate_currency
from evbilling.tariffs.domain.codec import parse_ocpi_datetime
from evbilling.tariffs.domain.model import FieldError

_E = TypeVar("_E", bound=StrEnum)
_T = TypeVar("_T")


class Errors:
    """Collects field errors while parsing continues, so one call reports them all."""

    __slots__ = ("items",)

    def __init__(self) -> None:
        self.items: list[FieldError] = []

    def add(self, path: str, message: str) -> None:
        self.items.append(FieldError(path=path, message=message))


def join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def is_object(value: object, path: str, allowed: frozenset[str], errors: Errors) -> bool:
    if not isinstance(value, Mapping):
        errors.add(path or "$", "must be an object")
        return False
    for key in value:
        if key not in allowed:
            errors.add(join(path, str(key)), "unknown field")
    return True


def present(data: Mapping[str, Any], name: str) -> bool:
    return data.get(name) is not None


def optional(
    data: Mapping[str, Any],
    name: str,
    path: str,
    errors: Errors,
    parse: Callable[[Any, str], _T | None],
) -> _T | None:
    if not present(data, name):
        return None
    return parse(data[name], join(path, name))


def text_field(
    data: Mapping[str, Any],
    name: str,
    path: str,
    errors: Errors,
    *,
    max_length: int | None = None,
    pattern: str | None = None,
) -> str | None:
    where = join(path, name)
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


def currency_field(data: Mapping[str, Any], errors: Errors) -> str | None:
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


def member_of(kind: type[_E], value: object, path: str, errors: Errors) -> _E | None:
    if isinstance(value, str):
        try:
            return kind(value)
        except ValueError:
            pass
    allowed = ", ".join(member.value for member in kind)
    errors.add(path, f"must be one of {allowed}")
    return None


def decimal_number(
    value: object,
    path: str,
    errors: Errors,
    *,
    minimum: Decimal | None = None,
    maximum: Decimal | None = None,
    places: int | None = None,
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
    if places is not None and decimal_places(number) > places:
        errors.add(path, f"must have at most {places} decimal places")
        return None
    # Keep the parsed object itself: exported JSON repeats the exact digits (2.00 stays 2.00).
    return value if isinstance(value, Decimal) else number


def decimal_places(number: Decimal) -> int:
    """Digits after the point, trailing zeros not counted (exact: no context rounding)."""
    _, digits, exponent = number.as_tuple()
    assert isinstance(exponent, int)  # finite
    text = "".join(map(str, digits)).rstrip("0")
    if not text:
        return 0
    return max(0, -(exponent + len(digits) - len(text)))


def whole_number(
    value: object, path: str, errors: Errors, *, positive: bool, maximum: int | None = None
) -> int | None:
    number: int | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, Decimal) and value.is_finite() and value == value.to_integral_value():
        if maximum is None or value <= maximum:  # never turn 1e400 into an int
            number = int(value)
        else:
            errors.add(path, f"must be at most {maximum}")
            return None
    if number is None or number < (1 if positive else 0):
        errors.add(path, "must be a positive integer" if positive else "must be an integer >= 0")
        return None
    if maximum is not None and number > maximum:
        errors.add(path, f"must be at most {maximum}")
        return None
    return number


def date_time(value: object, path: str, errors: Errors) -> datetime | None:
    if not isinstance(value, str):
        errors.add(path, "must be a DateTime string")
        return None
    try:
        return parse_ocpi_datetime(value)
    except InvalidTimestamp:
        errors.add(path, "must be an ISO 8601 DateTime in UTC, e.g. 2015-06-29T20:39:09Z")
        return None


def list_field(
    data: Mapping[str, Any],
    name: str,
    path: str,
    errors: Errors,
    parse: Callable[[Any, str, Errors], _T | None],
    *,
    required: bool,
) -> list[_T] | None:
    where = join(path, name)
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
