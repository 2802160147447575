"""Value objects parsed once at an edge: a rule written once, shared by the API, the CLI and
the OCPP edge. Each `parse()` uses `fullmatch`, so "CP-9\\n" is refused everywhere (a `$`
anchor with `match` would let the trailing newline through)."""

from __future__ import annotations

import re
from typing import ClassVar, Self

from evbilling.kit.errors import InvalidRequest


class InvalidValue(InvalidRequest, ValueError):
    """A value broke its rule. Also a ValueError, so pydantic validators report it as a 422
    field error with this message."""


class ValidatedText(str):
    """Text that passed its rule; subclasses set PATTERN, MAX_LENGTH and RULE (the words an
    error and the API schema show)."""

    __slots__ = ()
    PATTERN: ClassVar[re.Pattern[str]]
    MAX_LENGTH: ClassVar[int]
    RULE: ClassVar[str]
    FIELD: ClassVar[str] = "value"

    @classmethod
    def normalize(cls, value: str) -> str:
        """How a value is put in canonical form before the rule is checked (as is, here)."""
        return value

    @classmethod
    def parse(cls, value: object, *, field: str | None = None) -> Self:
        name = field or cls.FIELD
        if not isinstance(value, str):
            raise InvalidValue(f"must be text: {cls.RULE}", field=name)
        text = cls.normalize(value)
        if "\x00" in text or len(text) > cls.MAX_LENGTH or not cls.PATTERN.fullmatch(text):
            raise InvalidValue(f"must be {cls.RULE}", field=name)
        return cls(text)


def storable_text(text: str, *, limit: int) -> str:
    """Free text from outside (an error message, a value quoted in an anomaly) as a text
    column can hold it: PostgreSQL refuses U+0000 in text, so it becomes U+FFFD; at most
    `limit` characters."""
    return text.replace("\x00", "\ufffd")[:limit]
