"""The sandbox's test cards and the checks its hosted page applies (docs/payments-sandbox.md).

Only these numbers are accepted, so a real card number typed by mistake is refused (and,
like every number, never stored). A saved method keeps the behaviour of its card; the
number itself is forgotten as soon as the form is checked.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum


class CardBehaviour(StrEnum):
    SUCCESS = "success"
    DECLINE = "decline"
    INSUFFICIENT_FUNDS = "insufficient_funds"
    PARTIAL_AUTHORIZATION = "partial_authorization"
    EARLY_EXPIRY = "early_expiry"
    CAPTURE_FAILURE = "capture_failure"
    SLOW_CAPTURE = "slow_capture"
    DUPLICATE_WEBHOOKS = "duplicate_webhooks"


TEST_CARDS: dict[str, CardBehaviour] = {
    "4242424242424242": CardBehaviour.SUCCESS,
    "4000000000000002": CardBehaviour.DECLINE,
    "4000000000009995": CardBehaviour.INSUFFICIENT_FUNDS,
    "4000000000000119": CardBehaviour.PARTIAL_AUTHORIZATION,
    "4000000000000127": CardBehaviour.EARLY_EXPIRY,
    "4000000000000135": CardBehaviour.CAPTURE_FAILURE,
    "4000000000000143": CardBehaviour.SLOW_CAPTURE,
    "4000000000000150": CardBehaviour.DUPLICATE_WEBHOOKS,
}

# The partial-authorization card approves at most this many major units of the currency
# (20.00 EUR, 20 JPY, 20.000 KWD), in the provider's units.
PARTIAL_AUTHORIZATION_CAP = Decimal(20)


class CardRejected(ValueError):
    """The card-entry form was not acceptable; `field` names the input."""

    def __init__(self, message: str, *, field: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True, slots=True)
class CheckedCard:
    """What survives of a card once checked: never the number or the CVC."""

    brand: str
    last4: str
    exp_month: int
    exp_year: int
    behaviour: CardBehaviour


def luhn_valid(digits: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2 == 1:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def brand_of(digits: str) -> str:
    if digits.startswith("4"):
        return "visa"
    if digits[:2] in {"51", "52", "53", "54", "55"} or "2221" <= digits[:4] <= "2720":
        return "mastercard"
    if digits[:2] in {"34", "37"}:
        return "amex"
    return "unknown"


def parse_expiry(text: str) -> tuple[int, int]:
    """'MM/YY' or 'MM/YYYY' (spaces allowed) -> (month, four-digit year)."""
    month_text, _, year_text = text.replace(" ", "").partition("/")
    if not (month_text.isdigit() and year_text.isdigit()) or len(year_text) not in (2, 4):
        raise CardRejected("Enter the expiry as MM/YY.", field="expiry")
    month, year = int(month_text), int(year_text)
    if len(year_text) == 2:
        year += 2000
    if not 1 <= month <= 12:
        raise CardRejected("The expiry month must be 01 to 12.", field="expiry")
    return month, year


def check_card(*, number: str, expiry: str, cvc: str, now: datetime) -> CheckedCard:
    """Validate the form's fields (Luhn, expiry in the future, CVC 3-4 digits, a sandbox test
    card) and keep only what may be stored. Error messages never repeat the number."""
    digits = number.replace(" ", "").replace("-", "")
    if not digits.isdigit() or not 12 <= len(digits) <= 19:
        raise CardRejected("The card number must be 12 to 19 digits.", field="number")
    if not luhn_valid(digits):
        raise CardRejected("The card number is not valid (check digit).", field="number")
    month, year = parse_expiry(expiry)
    if (year, month) < (now.year, now.month):
        raise CardRejected("The card has expired.", field="expiry")
    if not (cvc.isdigit() and 3 <= len(cvc) <= 4):
        raise CardRejected("The security code is 3 or 4 digits.", field="cvc")
    behaviour = TEST_CARDS.get(digits)
    if behaviour is None:
        raise CardRejected(
            "Only sandbox test cards are accepted here (see docs/payments-sandbox.md).",
            field="number",
        )
    return CheckedCard(
        brand=brand_of(digits), last4=digits[-4:], exp_month=month, exp_year=year,
        behaviour=behaviour,
    )  # fmt: skip
