"""Pure charging rules: who may charge, how a replayed start is recognised, which meter
readings are plausible. No I/O; `now` is always passed in."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_CEILING, Decimal, InvalidOperation
from enum import StrEnum

from evbilling.drivers.domain import IdTag, TokenStatus


class AuthorizationStatus(StrEnum):
    """OCPP 1.6 idTagInfo.status values."""

    ACCEPTED = "Accepted"
    BLOCKED = "Blocked"
    EXPIRED = "Expired"
    INVALID = "Invalid"
    CONCURRENT_TX = "ConcurrentTx"


class SessionStatus(StrEnum):
    ACTIVE = "active"
    COMPLETED = "completed"
    # StartTransaction with a token that was not accepted: recorded, never billed.
    REJECTED = "rejected"


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


def register_wh(*, value: str, unit: str | None) -> int | Anomaly:
    """An energy register reading in whole Wh, or the anomaly that makes it unusable."""
    unit = unit or "Wh"
    multiplier = _ENERGY_UNITS.get(unit)
    if multiplier is None:
        return Anomaly(
            kind=AnomalyKind.UNKNOWN_UNIT,
            detail=f"energy register reported in unit {unit!r}",
            timestamp=None,
            value=value[:100],
        )
    try:
        wh = Decimal(value) * multiplier
    except InvalidOperation:
        return Anomaly(
            kind=AnomalyKind.UNREADABLE_VALUE,
            detail="energy register is not a number",
            timestamp=None,
            value=value[:100],
        )
    return int(wh.to_integral_value())


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
    step = Decimal(1).scaleb(exponent) * multiplier
    return min(max(1, int(step.to_integral_value(rounding=ROUND_CEILING))), MAX_RESOLUTION_WH)


# Meters round and clocks drift: allow this much above max power x elapsed time.
JUMP_TOLERANCE = Decimal("1.10")
JUMP_ALLOWANCE_WH = 50


def check_register_step(
    *, previous: RegisterReading | None, current: RegisterReading, max_power_w: int
) -> Anomaly | None:
    """A register must never go backwards, nor grow faster than the EVSE can deliver."""
    if previous is None:
        return None
    delta = current.wh - previous.wh
    # Compared in the meters' own precision: 12.34 kWh after meterStart 12345 Wh is no decrease.
    if delta < 0 and -delta < max(current.resolution_wh, previous.resolution_wh):
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
