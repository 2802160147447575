"""Pure charging rules: who may charge, how a replayed start is recognised, which meter
readings are plausible and what a session is billed up to (docs/metering.md). No I/O; `now`
is always passed in."""

from __future__ import annotations

import hashlib
import unicodedata
from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import ROUND_CEILING, Decimal, InvalidOperation
from enum import StrEnum

from evbilling.drivers.domain import IdTag, TokenStatus
from evbilling.kit.errors import InvalidRequest
from evbilling.kit.values import InvalidValue


class AuthorizationStatus(StrEnum):
    """OCPP 1.6 idTagInfo.status values."""

    ACCEPTED = "Accepted"
    BLOCKED = "Blocked"
    EXPIRED = "Expired"
    INVALID = "Invalid"
    CONCURRENT_TX = "ConcurrentTx"


class SessionStatus(StrEnum):
    """Where a session is in its life (docs/sessions.md). Only `active` sessions change; every
    other status is final."""

    ACTIVE = "active"
    # The station stopped it (StopTransaction).
    COMPLETED = "completed"
    # A new StartTransaction on its connector ended it: priced to its last register reading.
    SUPERSEDED = "superseded"
    # Nothing was heard about it for the abandon time: closed by the server, priced likewise.
    ABANDONED = "abandoned"
    # An operator closed it, with a reason (the station no longer knows it).
    CLOSED = "closed"
    # StartTransaction with a token that was not accepted: recorded, never billed.
    REJECTED = "rejected"


# The ways an active session ends; each is priced once.
ENDED_STATUSES = frozenset(
    {
        SessionStatus.COMPLETED,
        SessionStatus.SUPERSEDED,
        SessionStatus.ABANDONED,
        SessionStatus.CLOSED,
    }
)


class PricingStatus(StrEnum):
    """Whether a session's price can be billed (docs/sessions.md)."""

    # Still active: priced when it ends.
    PENDING = "pending"
    PRICED = "priced"
    # Pricing raised an error (kept in pricing_error); retried by `retry_failed_pricing`.
    FAILED = "failed"
    # Priced, but from evidence with an anomaly that changed what was billed: check first.
    REVIEW = "review"
    # Rejected at the start (the token was not accepted): never billed.
    NOT_BILLABLE = "not_billable"


MAX_PRICING_ERROR_LENGTH = 500
MAX_END_REASON_LENGTH = 500
# OCPP 1.6 transactionId is a JSON integer the stations keep in 32 bits: 1..2^31-1 per station.
MAX_TRANSACTION_ID = 2**31 - 1


@dataclass(frozen=True, slots=True)
class TokenFacts:
    status: TokenStatus
    expires_at: datetime | None
    has_active_session: bool


def normalize_id_tag(id_tag: str) -> str:
    """RFID UIDs arrive in mixed case from different readers; compare them upper-case (the
    rule `IdTag` applies before it validates)."""
    return IdTag.normalize(id_tag)


def authorize_token(
    *, token: TokenFacts | None, now: datetime, starting: bool
) -> AuthorizationStatus:
    """The idTagInfo status for a token. ConcurrentTx only answers a StartTransaction (OCPP
    1.6 reserves it for that): an Authorize while the card charges elsewhere is Accepted, so
    a station never turns a driver away on a status the protocol does not give it."""
    if token is None:
        return AuthorizationStatus.INVALID
    if token.status is TokenStatus.BLOCKED:
        return AuthorizationStatus.BLOCKED
    if token.expires_at is not None and token.expires_at <= now:
        return AuthorizationStatus.EXPIRED
    if starting and token.has_active_session:
        return AuthorizationStatus.CONCURRENT_TX
    return AuthorizationStatus.ACCEPTED


def start_key(
    *, station_id: int, connector_id: int, id_tag: str, meter_start_wh: int, timestamp: datetime
) -> str:
    """Identifies one StartTransaction: a charger resending it after a reconnect gets the same
    transaction back instead of a second session."""
    text = f"{station_id}|{connector_id}|{normalize_id_tag(id_tag)}|{meter_start_wh}|" + (
        timestamp.isoformat()
    )
    return hashlib.sha256(text.encode()).hexdigest()


def reading_key(
    *,
    station_id: int,
    connector_id: int,
    session_id: int | None,
    timestamp: datetime,
    content: str,
) -> str:
    """Identifies one meter reading (or anomaly) so a replayed message stores nothing twice;
    `content` is a canonical rendering of what was measured."""
    text = f"{station_id}|{connector_id}|{session_id}|{timestamp.isoformat()}|{content}"
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


ENERGY_REGISTER = "Energy.Active.Import.Register"

# Energy units a register may be reported in, as multipliers to Wh.
_ENERGY_UNITS: dict[str, Decimal] = {"Wh": Decimal(1), "kWh": Decimal(1000)}
KNOWN_UNITS = frozenset(
    {
        "Wh",
        "kWh",
        "varh",
        "kvarh",
        "W",
        "kW",
        "VA",
        "kVA",
        "var",
        "kvar",
        "A",
        "V",
        "K",
        "Celcius",
        "Celsius",
        "Fahrenheit",
        "Percent",
    }
)


class AnomalyKind(StrEnum):
    REGISTER_DECREASED = "register_decreased"
    IMPLAUSIBLE_JUMP = "implausible_jump"
    UNKNOWN_UNIT = "unknown_unit"
    UNREADABLE_VALUE = "unreadable_value"
    STOP_BEFORE_START = "meter_stop_below_start"
    # A StartTransaction / StopTransaction timestamp the server replaced (see station_time).
    CLOCK_SKEW = "clock_skew"
    # Ended by the server, not the station: billed up to the last register reading only.
    SESSION_SUPERSEDED = "session_superseded"
    SESSION_ABANDONED = "session_abandoned"
    # A register outside 0..MAX_REGISTER_WH: no meter holds it (1e300, meterStop 2^63-1).
    BEYOND_METER_CAPACITY = "beyond_meter_capacity"
    # Timestamped far ahead of both the server's clock and the session's start
    # (plausibility.MAX_CLOCK_AHEAD).
    READING_IN_FUTURE = "reading_in_future"
    # A reading of a session that has ended disagrees with the register it was billed up to.
    CONTRADICTS_STOP = "reading_contradicts_stop"
    # A second StopTransaction with another meterStop or timestamp (both are kept).
    CONFLICTING_STOP = "conflicting_stop"


# Anomalies that changed, or put in doubt, what a session is billed: its pricing status is
# `review`, not `priced`. An unreadable value, an unknown unit or a reading from the future is
# simply not used; the session's total still rests on readings that passed every check.
REVIEW_ANOMALY_KINDS: frozenset[AnomalyKind] = frozenset(
    {
        AnomalyKind.REGISTER_DECREASED,
        AnomalyKind.IMPLAUSIBLE_JUMP,
        AnomalyKind.STOP_BEFORE_START,
        AnomalyKind.CLOCK_SKEW,
        AnomalyKind.SESSION_SUPERSEDED,
        AnomalyKind.SESSION_ABANDONED,
        AnomalyKind.BEYOND_METER_CAPACITY,
        AnomalyKind.CONTRADICTS_STOP,
        AnomalyKind.CONFLICTING_STOP,
    }
)


@dataclass(frozen=True, slots=True)
class Anomaly:
    kind: AnomalyKind
    detail: str
    timestamp: datetime | None
    value: str | None


@dataclass(frozen=True, slots=True)
class RegisterReading:
    timestamp: datetime
    wh: int
    # The step of the value as the meter reported it: 10 Wh for kWh with two decimals.
    resolution_wh: int = 1


# What an energy register can hold: 10^12 Wh (a billion kWh). A charging station's meter
# counts a few million kWh in its life; anything above, or below zero, is not a reading.
MAX_REGISTER_WH = 10**12


def check_register_bounds(*, wh: int, what: str, timestamp: datetime | None) -> Anomaly | None:
    """A whole-Wh register (meterStart, meterStop) a meter can hold, or the anomaly."""
    if 0 <= wh <= MAX_REGISTER_WH:
        return None
    return _beyond_capacity(what=what, value=str(wh), timestamp=timestamp)


def _beyond_capacity(*, what: str, value: str, timestamp: datetime | None) -> Anomaly:
    return Anomaly(
        kind=AnomalyKind.BEYOND_METER_CAPACITY,
        detail=f"{what} {_clip(value)} Wh is outside what a meter holds (0 to 10^12 Wh)",
        timestamp=timestamp,
        value=_clip(value),
    )


def _clip(text: str) -> str:
    return text if len(text) <= 40 else f"{text[:37]}..."


def register_wh(*, value: str, unit: str | None) -> int | Anomaly:
    """An energy register reading in whole Wh, or the anomaly that makes it unusable: an
    unknown unit, not a finite number, or beyond what a meter holds. The bound is checked
    before any conversion, so "1e300" costs no more than "12"."""
    unit = unit or "Wh"
    multiplier = _ENERGY_UNITS.get(unit)
    if multiplier is None:
        return Anomaly(
            kind=AnomalyKind.UNKNOWN_UNIT,
            detail=f"energy register reported in unit {_clip(unit)!r}",
            timestamp=None,
            value=value[:100],
        )
    try:
        number = Decimal(value)
    except InvalidOperation:
        number = Decimal("NaN")
    if not number.is_finite():
        return Anomaly(
            kind=AnomalyKind.UNREADABLE_VALUE,
            detail="energy register is not a finite number",
            timestamp=None,
            value=value[:100],
        )
    if not 0 <= number <= MAX_REGISTER_WH / multiplier:
        return _beyond_capacity(what="energy register", value=value, timestamp=None)
    return int((number * multiplier).to_integral_value())


# A register's resolution counts only up to one kWh: a value written with a positive exponent
# ("1E+6") must not hide a real decrease.
MAX_RESOLUTION_WH = 1000


def register_resolution_wh(*, value: str, unit: str | None) -> int:
    """The smallest step a register reading can show, in Wh, from the digits it was sent with
    ("12.34" kWh: 10 Wh); 1 Wh when that cannot be told."""
    multiplier = _ENERGY_UNITS.get(unit or "Wh")
    try:
        exponent = Decimal(value).as_tuple().exponent
    except InvalidOperation:
        return 1
    if multiplier is None or not isinstance(exponent, int):
        return 1
    if exponent > 3:
        return MAX_RESOLUTION_WH
    step = Decimal(1).scaleb(max(exponent, -6)) * multiplier
    return min(max(1, int(step.to_integral_value(rounding=ROUND_CEILING))), MAX_RESOLUTION_WH)


# Meters round and clocks drift: allow this much above max power x elapsed time.
JUMP_TOLERANCE = Decimal("1.10")
JUMP_ALLOWANCE_WH = 50


def precision_wh(*readings: RegisterReading) -> int:
    """The step two readings can be compared to: the coarser of their resolutions."""
    return max(reading.resolution_wh for reading in readings)


def check_register_step(
    *, previous: RegisterReading | None, current: RegisterReading, max_power_w: int
) -> Anomaly | None:
    """A register must never go backwards, nor grow faster than the EVSE can deliver."""
    if previous is None:
        return None
    delta = current.wh - previous.wh
    # Compared in the meters' own precision: 12.34 kWh after meterStart 12345 Wh is no decrease.
    if delta < 0 and -delta < precision_wh(current, previous):
        return None
    if delta < 0:
        return Anomaly(
            kind=AnomalyKind.REGISTER_DECREASED,
            detail=f"energy register went from {previous.wh} Wh to {current.wh} Wh",
            timestamp=current.timestamp,
            value=str(current.wh),
        )
    seconds = Decimal(max((current.timestamp - previous.timestamp).total_seconds(), 0))
    ceiling = Decimal(max_power_w) * seconds / 3600 * JUMP_TOLERANCE + JUMP_ALLOWANCE_WH
    if delta > ceiling:
        return Anomaly(
            kind=AnomalyKind.IMPLAUSIBLE_JUMP,
            detail=(
                f"energy register grew {delta} Wh in {seconds} s; "
                f"{max_power_w} W allows at most {int(ceiling)} Wh"
            ),
            timestamp=current.timestamp,
            value=str(current.wh),
        )
    return None


def priced_status(*, anomaly_kinds: Collection[str]) -> PricingStatus:
    """The status of a session that was priced: `review` when an anomaly changed its bill."""
    review = {kind.value for kind in REVIEW_ANOMALY_KINDS}
    return PricingStatus.REVIEW if review.intersection(anomaly_kinds) else PricingStatus.PRICED


# Clock skew: a station's clock before this is unset (1970 after a power loss, 2000 defaults).
EARLIEST_STATION_TIME = datetime(2010, 1, 1, tzinfo=UTC)
# Clocks drift and messages travel: this much ahead of the server is still believed.
MAX_STATION_CLOCK_AHEAD = timedelta(minutes=5)


def station_time(
    *, reported: datetime, received_at: datetime, what: str, not_before: datetime | None = None
) -> tuple[datetime, Anomaly | None]:
    """The one clock-skew rule (docs/sessions.md): a station's timestamp before 2010, more
    than five minutes ahead of the server's receive time, or before `not_before` (a stop before
    its start) is replaced by the receive time (never earlier than `not_before`), with a
    `clock_skew` anomaly saying so. Timestamps in the past are believed otherwise: stations
    that were offline send their transactions late."""
    if reported < EARLIEST_STATION_TIME:
        why = f"is before {EARLIEST_STATION_TIME.date().isoformat()} (the clock is not set)"
    elif reported > received_at + MAX_STATION_CLOCK_AHEAD:
        why = f"is more than {MAX_STATION_CLOCK_AHEAD} ahead of the server"
    elif not_before is not None and reported < not_before:
        why = f"is before the session's start {not_before.isoformat()}"
    else:
        return reported, None
    used = received_at if not_before is None else max(received_at, not_before)
    return used, Anomaly(
        kind=AnomalyKind.CLOCK_SKEW,
        detail=f"{what} timestamp {reported.isoformat()} {why}; {used.isoformat()} is used",
        timestamp=reported,
        value=reported.isoformat()[:100],
    )


def end_reason(value: object) -> str:
    """An operator's reason for closing a session: one line of text, 1..500 characters."""
    if not isinstance(value, str) or not value.strip():
        raise InvalidRequest("a reason is required", field="reason")
    text = value.strip()
    if len(text) > MAX_END_REASON_LENGTH:
        raise InvalidRequest(f"must be at most {MAX_END_REASON_LENGTH} characters", field="reason")
    # Control characters (U+0000 among them) and lone surrogates: no database stores both.
    if any(unicodedata.category(character) in ("Cc", "Cs") for character in text):
        raise InvalidRequest("must be one line without control characters", field="reason")
    return text


def printable_id_tag(id_tag: str | None) -> str | None:
    """The idTag in its normal form, or None when it breaks the idTag rule (control
    characters, U+0000, too long): such a value is never looked up nor stored."""
    if id_tag is None:
        return None
    try:
        return IdTag.parse(id_tag)
    except InvalidValue:
        return None
