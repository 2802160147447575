"""The wallet's pure rules: statuses, the installation's limits, amounts as asked for, what a
reservation takes, and the references of the ledger entries that move wallet money.

Signs: the ledger's `wallet` account is credit-normal (a balance of 5.00 is lines summing to
-500); everything here speaks of the driver's balance as a positive amount.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from enum import StrEnum

from evbilling.kit import InvalidRequest
from evbilling.money import InvalidAmount, InvalidCurrency, Money

# The largest amount one request may move (int64 minor units stay far away).
MAX_AMOUNT_UNITS = Decimal(1_000_000)
MAX_REASON_LENGTH = 200
MAX_REFERENCE_LENGTH = 80


class WalletStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class ReservationStatus(StrEnum):
    LIVE = "live"
    SETTLED = "settled"
    RELEASED = "released"


class TopupStatus(StrEnum):
    PLANNED = "planned"
    AUTHORIZED = "authorized"
    CAPTURED = "captured"
    FAILED = "failed"
    UNKNOWN = "unknown"


class MovementKind(StrEnum):
    GOODWILL = "goodwill"
    TOPUP = "topup"
    DEBIT = "debit"
    SESSION = "session"
    CLOSURE = "closure"
    OTHER = "other"


DEFAULT_MIN_TOPUP = Money.of("5", "EUR")
DEFAULT_MAX_BALANCE = Money.of("500", "EUR")


@dataclass(frozen=True, slots=True)
class WalletLimits:
    """The smallest card top-up and the largest balance, per the installation's settings
    (one currency each; a wallet in another currency is not limited by them)."""

    min_topup: Money = DEFAULT_MIN_TOPUP
    max_balance: Money = DEFAULT_MAX_BALANCE


def parse_amount_setting(text: str, *, name: str) -> Money:
    """`"EUR:5"` -> Money(5, EUR): a positive amount with its currency."""
    code, sep, amount = text.strip().partition(":")
    try:
        value = Money.of(amount.strip(), code.strip().upper()) if sep else None
    except (InvalidAmount, InvalidCurrency, InvalidOperation, ValueError) as exc:
        raise InvalidRequest(f"not an amount with a currency: {text!r}", field=name) from exc
    if value is None or value.amount <= 0:
        raise InvalidRequest(f"a positive amount such as EUR:5, not {text!r}", field=name)
    return value


def checked_amount(amount: Money, *, field: str = "amount") -> int:
    """The positive minor units of an amount asked for, or the rule it breaks."""
    if not amount.amount.is_finite() or amount.amount <= 0:
        raise InvalidRequest("the amount must be positive", field=field)
    if amount.amount > MAX_AMOUNT_UNITS:
        raise InvalidRequest(f"the amount must be at most {MAX_AMOUNT_UNITS}", field=field)
    try:
        return amount.minor_units()
    except InvalidAmount as exc:
        raise InvalidRequest(str(exc), field=field) from exc


def check_reason(reason: str) -> str:
    text = reason.strip()
    if not text or len(text) > MAX_REASON_LENGTH or "\x00" in text:
        raise InvalidRequest(
            f"a reason is 1..{MAX_REASON_LENGTH} characters without NUL bytes", field="reason"
        )
    return text


def check_reference(reference: str) -> str:
    if (
        not reference
        or reference != reference.strip()
        or len(reference) > MAX_REFERENCE_LENGTH
        or "\x00" in reference
    ):
        raise InvalidRequest(
            f"a reference is 1..{MAX_REFERENCE_LENGTH} characters without outer blanks",
            field="reference",
        )
    return reference


def limit_applies(limit: Money, currency: str) -> bool:
    return limit.currency == currency


def reservation_amount(*, wanted_minor: int, available_minor: int, margin_minor: int) -> int | None:
    """min(wanted, available), or None when that does not exceed the safety margin (nothing
    would be left to spend)."""
    amount = min(wanted_minor, available_minor)
    if amount <= 0 or amount <= margin_minor:
        return None
    return amount


def settled_minor(*, total_minor: int | None, reserved_minor: int) -> int:
    """What a reservation pays of a session's total: min(total, reserved); the rest released."""
    if total_minor is None or total_minor <= 0:
        return 0
    return min(total_minor, reserved_minor)


def movement_kind(reference: str) -> MovementKind:
    prefix = reference.split(":", 1)[0]
    return {
        "wallet-goodwill": MovementKind.GOODWILL,
        "wallet-topup": MovementKind.TOPUP,
        "wallet-debit": MovementKind.DEBIT,
        "wallet-settle": MovementKind.SESSION,
        "wallet-close": MovementKind.CLOSURE,
    }.get(prefix, MovementKind.OTHER)


def limit_reason(limit: Money) -> str:
    return f"wallet; spending limit {limit.currency} {limit.amount}"


@dataclass(frozen=True, slots=True)
class WalletView:
    wallet_id: int
    driver_id: int
    currency: str
    available: Money
    reserved: Money
    status: WalletStatus

    @property
    def balance(self) -> Money:
        """available + reserved: what the ledger's posted balance says."""
        return self.available + self.reserved


@dataclass(frozen=True, slots=True)
class WalletMovement:
    """One posted change of a wallet's balance (a ledger line of its account): positive
    amounts came in, negative went out."""

    id: int  # the ledger line's id (keyset pages)
    kind: MovementKind
    amount: Money
    reference: str
    description: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Reservation:
    reservation_id: int
    wallet_id: int
    driver_id: int
    station_id: int
    session_id: int | None
    amount: Money
    margin: Money
    status: ReservationStatus

    @property
    def spending_limit(self) -> Money:
        return self.amount - self.margin


@dataclass(frozen=True, slots=True)
class ClosedWallet:
    """What a closure took out of a wallet, and how much of it its card top-ups can return
    (the rest is paid out by the operator)."""

    wallet_id: int
    balance: Money
    refundable: Money

    @property
    def payout(self) -> Money:
        return self.balance - self.refundable
