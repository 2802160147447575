"""OCPI JSON text: numbers read and written as exact Decimals, DateTimes in UTC."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from evbilling.kit.clock import parse_utc_timestamp


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
