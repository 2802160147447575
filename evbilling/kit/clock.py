"""An injectable clock: domain code never reads time itself, services receive a Clock."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Protocol

from evbilling.kit.errors import EVBillingError


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


@dataclass(slots=True)
class FixedClock:
    """A clock for tests and simulations: time moves only when told to."""

    current: datetime = field(default_factory=lambda: datetime(2026, 1, 1, tzinfo=UTC))

    def now(self) -> datetime:
        return self.current

    def advance(self, *, seconds: float) -> None:
        self.current = self.current + timedelta(seconds=seconds)


class InvalidTimestamp(EVBillingError):
    """A timestamp is not an RFC 3339 date-time with a time zone."""


# RFC 3339 date-time; OCPP stations send it with 'Z' or an offset, sometimes with many decimals.
_RFC3339 = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})[Tt]([0-9]{2}):([0-9]{2}):([0-9]{2})(\.[0-9]{1,9})?"
    r"([Zz]|[+-][0-9]{2}:[0-9]{2})?"
)


def parse_utc_timestamp(text: str, *, assume_utc_when_naive: bool = True) -> datetime:
    """Parse an RFC 3339 timestamp into an aware UTC datetime.

    Stations in the field often omit the zone; OCPP says timestamps are UTC, so a missing
    zone is read as UTC unless the caller forbids it.
    """
    match = _RFC3339.fullmatch(text)
    if match is None:
        raise InvalidTimestamp(f"not an RFC 3339 date-time: {text[:64]!r}")
    fraction = match.group(7) or ""
    zone = match.group(8)
    if zone is None and not assume_utc_when_naive:
        raise InvalidTimestamp(f"timestamp has no time zone: {text[:64]!r}")
    normalized = text[: match.start(7) if fraction else match.end(6)]
    if fraction:
        normalized += fraction[:7].ljust(7, "0")  # microseconds
    normalized += "+00:00" if zone is None or zone in "Zz" else zone
    try:
        return datetime.fromisoformat(normalized.replace("t", "T")).astimezone(UTC)
    except (ValueError, OverflowError) as exc:
        raise InvalidTimestamp(f"not a valid date-time: {text[:64]!r}") from exc
