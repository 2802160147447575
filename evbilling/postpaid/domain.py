"""Postpaid accounts' pure rules: statuses, the credit decision, statement periods and sums.

Amounts are integer minor units of the account's currency. The credit check is
`outstanding + exposure + wanted <= limit`: outstanding is the receivable's ledger balance
(negative when the account paid ahead: an overpayment is credit), exposure what the credit is
committed to (open starts at what they reserved, sessions not yet accrued at what they cost so
far: postpaid/committed.py).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum

from evbilling.kit.errors import Conflict, InvalidRequest, NotFound
from evbilling.money import Money

# A credit limit is bounded: 10 million units of any currency (minor units below int64).
MAX_CREDIT_LIMIT = Decimal(10_000_000)
MAX_REFERENCE_LENGTH = 120
_PERIOD = re.compile(r"(\d{4})-(\d{2})")


class AccountStatus(StrEnum):
    ACTIVE = "active"
    SUSPENDED = "suspended"  # no new sessions; statements and payments go on
    CLOSED = "closed"


class ExposureStatus(StrEnum):
    OPEN = "open"  # credit checked, no session yet
    ATTACHED = "attached"  # its session runs
    ACCRUED = "accrued"  # the session's sale was booked to the receivable
    RELEASED = "released"  # no session took it, or the session cost nothing


LIVE_EXPOSURE = (ExposureStatus.OPEN.value, ExposureStatus.ATTACHED.value)


class PaymentMethod(StrEnum):
    BANK_TRANSFER = "bank_transfer"
    CARD = "card"


class PaymentStatus(StrEnum):
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class AccountNotFound(NotFound):
    def __init__(self, key: object) -> None:
        super().__init__(kind="postpaid account", key=key)


class StatementNotFound(NotFound):
    def __init__(self, key: object) -> None:
        super().__init__(kind="postpaid statement", key=key)


class AccountClosed(Conflict):
    """The account is closed: nothing is linked to it or charged to it any more."""


class PeriodNotOver(InvalidRequest):
    """A statement is issued only for a period that has ended."""


class PaymentAlreadyRecorded(Conflict):
    """This bank reference was marked for the account already."""


class NotPostpaidSession(Conflict):
    """The session is not charged to a postpaid account."""


class NoPayerCard(Conflict):
    """The account has no payer, or its payer has no saved card."""


@dataclass(frozen=True, slots=True)
class CreditDecision:
    accepted: bool
    reason: str
    available_minor: int  # the credit left before `wanted` (never below zero)
    currency: str

    @property
    def available(self) -> Money:
        return Money.from_minor_units(self.available_minor, self.currency)


def decide_credit(
    *,
    status: str,
    limit_minor: int,
    outstanding_minor: int,
    exposure_minor: int,
    wanted_minor: int,
    currency: str,
) -> CreditDecision:
    available = max(limit_minor - outstanding_minor - exposure_minor, 0)
    if status != AccountStatus.ACTIVE.value:
        return CreditDecision(False, f"account is {status}", available, currency)
    if wanted_minor < 0:
        raise InvalidRequest("the amount wanted cannot be negative", field="wanted")
    if outstanding_minor + exposure_minor + wanted_minor > limit_minor:
        return CreditDecision(False, "credit limit reached", available, currency)
    return CreditDecision(True, "within the credit limit", available, currency)


def month_period(text: str) -> tuple[datetime, datetime]:
    """ "2026-11" -> [2026-11-01, 2026-12-01) in UTC."""
    found = _PERIOD.fullmatch(text) if isinstance(text, str) else None
    if found is None:
        raise InvalidRequest("a period is a month written YYYY-MM, e.g. 2026-11", field="period")
    year, month = int(found.group(1)), int(found.group(2))
    if not 1 <= month <= 12 or not 2000 <= year <= 9998:
        raise InvalidRequest("a period is a month written YYYY-MM, e.g. 2026-11", field="period")
    return month_of(datetime(year, month, 1, tzinfo=UTC))


def month_of(moment: datetime) -> tuple[datetime, datetime]:
    """The calendar month (UTC) holding `moment`, half-open."""
    start = moment.astimezone(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    end = (
        start.replace(year=start.year + 1, month=1)
        if start.month == 12
        else start.replace(month=start.month + 1)
    )
    return start, end


def previous_month(now: datetime) -> tuple[datetime, datetime]:
    start, _ = month_of(now)
    if start.month == 1:
        return start.replace(year=start.year - 1, month=12), start
    return start.replace(month=start.month - 1), start


def check_period(*, period_start: datetime, period_end: datetime, now: datetime) -> None:
    for name, value in (("period_start", period_start), ("period_end", period_end)):
        if value.tzinfo is None:
            raise InvalidRequest("must be a date-time with a time zone", field=name)
    if period_end <= period_start:
        raise InvalidRequest("the period must end after it starts", field="period_end")
    if period_end > now:
        raise PeriodNotOver(
            f"the period ends {period_end.isoformat()}: a statement is issued after it",
            field="period_end",
        )


@dataclass(frozen=True, slots=True)
class RateSum:
    rate: Decimal
    net_minor: int
    vat_minor: int

    @property
    def total_minor(self) -> int:
        return self.net_minor + self.vat_minor


def sums_per_rate(portions: Iterable[Mapping[str, object]]) -> list[RateSum]:
    """The statement's VAT summary: lines' portions added per rate, highest rate first."""
    net: dict[Decimal, int] = {}
    vat: dict[Decimal, int] = {}
    for portion in portions:
        rate = Decimal(str(portion["rate"]))
        net[rate] = net.get(rate, 0) + int(str(portion["net_minor"]))
        vat[rate] = vat.get(rate, 0) + int(str(portion["vat_minor"]))
    return [RateSum(rate, net[rate], vat[rate]) for rate in sorted(net, reverse=True)]


def rate_key(rate: Decimal) -> str:
    return format(rate.normalize(), "f")
