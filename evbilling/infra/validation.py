"""Field checks every slice's services share: text, integers, enum members, flags, aware
datetimes, currencies, prices, record ids, pages. Each names the field it rejects
(InvalidRequest.field), so the API and the CLI can point at it.

Rules about one kind of value (a station identity, an e-mail address) are value objects in
their slice's domain instead (`evbilling.kit.values.ValidatedText`); `value_or_none` reads an
optional one.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Final, TypeVar

from evbilling.infra.db.repository import PageRequest
from evbilling.kit.errors import InvalidRequest
from evbilling.kit.values import ValidatedText
from evbilling.money import InvalidCurrency, validate_currency

V = TypeVar("V", bound=ValidatedText)

# Limits shared with the edges, so the API schema documents exactly what is enforced here.
MAX_PAGE_LIMIT: Final = 500
MAX_NAME_LENGTH: Final = 200
MAX_PRICE: Final = Decimal(10) ** 12
# What both databases store: BIGINT (and SQLite's INTEGER) integers; INTEGER columns (versions,
# connector ids) hold 32 bits on PostgreSQL; PostgreSQL text cannot hold U+0000.
MIN_INT64: Final = -(2**63)
MAX_INT64: Final = 2**63 - 1
MAX_INT32: Final = 2**31 - 1
MAX_RECORD_ID: Final = MAX_INT64
NUL: Final = "\x00"
INT64_MESSAGE: Final = f"must be an integer from {MIN_INT64} to {MAX_INT64}"
NUL_MESSAGE: Final = "must not contain the character U+0000"
# Enough to point at the culprits, bounded whatever the request holds.
MAX_REPORTED: Final = 20


def check_page(page: PageRequest) -> PageRequest:
    if not 1 <= page.limit <= MAX_PAGE_LIMIT:
        raise InvalidRequest(f"limit must be between 1 and {MAX_PAGE_LIMIT}", field="limit")
    if page.offset < 0:
        raise InvalidRequest("offset must not be negative", field="offset")
    return page


def required_text(value: object, *, field: str, max_length: int) -> str:
    if not isinstance(value, str):
        raise InvalidRequest("is required and must be text", field=field)
    text = value.strip()
    if not text:
        raise InvalidRequest("must not be empty", field=field)
    if NUL in text:
        raise InvalidRequest(NUL_MESSAGE, field=field)
    if len(text) > max_length:
        raise InvalidRequest(f"must be at most {max_length} characters", field=field)
    return text


def optional_text(value: object, *, field: str, max_length: int) -> str | None:
    """Blank text clears an optional field just like null does."""
    if is_blank(value):
        return None
    return required_text(value, field=field, max_length=max_length)


def is_blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def value_or_none(kind: type[V], value: object, *, field: str) -> V | None:
    """An optional value object: blank text or null clears the field."""
    return None if is_blank(value) else kind.parse(value, field=field)


def int_in_range(value: object, *, field: str, low: int, high: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise InvalidRequest("must be an integer", field=field)
    if not low <= value <= high:
        raise InvalidRequest(f"must be between {low} and {high}", field=field)
    return value


def record_id(value: object, *, field: str) -> int:
    """The id of a row a request refers to (whether it exists is the caller's check)."""
    return int_in_range(value, field=field, low=1, high=MAX_RECORD_ID)


def member(value: object, enum: type[StrEnum], *, field: str) -> str:
    try:
        return enum(str(value)).value
    except ValueError as exc:
        allowed = ", ".join(item.value for item in enum)
        raise InvalidRequest(f"must be one of {allowed}", field=field) from exc


def optional_member(value: object, enum: type[StrEnum], *, field: str) -> str | None:
    return None if value is None else member(value, enum, field=field)


def flag(value: object, *, field: str) -> bool:
    if not isinstance(value, bool):
        raise InvalidRequest("must be true or false", field=field)
    return value


def aware_datetime(value: object, *, field: str) -> datetime | None:
    """An aware datetime in UTC; None stays None, a naive datetime is refused."""
    if value is None:
        return None
    if not isinstance(value, datetime) or value.tzinfo is None:
        raise InvalidRequest("must be a date-time with a time zone", field=field)
    return value.astimezone(UTC)


def currency(value: object, *, field: str = "currency") -> str:
    if not isinstance(value, str):
        raise InvalidRequest("must be an ISO 4217 currency code such as EUR", field=field)
    try:
        return validate_currency(value)
    except InvalidCurrency as exc:
        raise InvalidRequest(str(exc), field=field) from exc


def price(value: object, *, field: str, maximum: Decimal = MAX_PRICE) -> Decimal:
    """A non-negative, finite decimal kept exactly as given (0.30 stays 0.30)."""
    # Floats never reach money: a float here is a programming error at the edge.
    if isinstance(value, bool) or not isinstance(value, Decimal | int | str):
        raise InvalidRequest("must be a decimal number (given as a string)", field=field)
    try:
        amount = Decimal(value)
    except (InvalidOperation, ValueError) as exc:
        raise InvalidRequest("must be a decimal number", field=field) from exc
    if not amount.is_finite():
        raise InvalidRequest("must be a finite number", field=field)
    if amount < 0:
        raise InvalidRequest("must not be negative", field=field)
    if amount > maximum or amount >= MAX_PRICE:
        bound = f"at most {maximum}" if maximum < MAX_PRICE else f"less than {MAX_PRICE}"
        raise InvalidRequest(f"must be {bound}", field=field)
    return amount


def unstorable_values(data: object) -> list[tuple[str, str]]:
    """Every integer beyond 64 bits and every text holding U+0000 in JSON data (a request
    body), as (dotted path, message) in document order; at most MAX_REPORTED of them.
    Neither database could store them, so they are refused before anything else happens."""
    found: list[tuple[str, str]] = []
    pending: list[tuple[str, object]] = [("", data)]
    while pending and len(found) < MAX_REPORTED:  # iterative: nesting depth is the client's
        path, value = pending.pop()
        if isinstance(value, bool):
            continue
        if isinstance(value, int):
            if not MIN_INT64 <= value <= MAX_INT64:
                found.append((path or "body", INT64_MESSAGE))
        elif isinstance(value, str):
            if NUL in value:
                found.append((path or "body", NUL_MESSAGE))
        elif isinstance(value, dict):
            children: list[tuple[str, object]] = []
            for key, item in value.items():
                name = str(key)
                if NUL in name:
                    found.append((path or "body", f"member names {NUL_MESSAGE}"))
                    continue
                children.append((f"{path}.{name}" if path else name, item))
            pending.extend(reversed(children))
        elif isinstance(value, list | tuple):
            pending.extend(
                (f"{path}.{index}" if path else str(index), item)
                for index, item in reversed(list(enumerate(value)))
            )
    return found[:MAX_REPORTED]
