"""Exact money: Decimal amounts in an ISO 4217 currency, never float.

Rounding rule (the only one in evbilling): amounts keep full precision while a session is
rated; each total and each invoice or ledger line is rounded once, to the currency's minor
unit, with ROUND_HALF_UP (commercial rounding: 0.005 EUR -> 0.01 EUR, -0.005 -> -0.01).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from evbilling.kit import EVBillingError

ROUNDING = ROUND_HALF_UP

# ISO 4217 minor-unit exponents that differ from the common 2.
_EXPONENTS: dict[str, int] = {
    "BHD": 3, "BIF": 0, "CLF": 4, "CLP": 0, "DJF": 0, "GNF": 0, "IQD": 3, "ISK": 0,
    "JOD": 3, "JPY": 0, "KMF": 0, "KRW": 0, "KWD": 3, "LYD": 3, "OMR": 3, "PYG": 0,
    "RWF": 0, "TND": 3, "UGX": 0, "UYI": 0, "UYW": 4, "VND": 0, "VUV": 0, "XAF": 0,
    "XOF": 0, "XPF": 0,
}  # fmt: skip


class InvalidCurrency(EVBillingError):
    """Not a three-letter ISO 4217 currency code."""


class CurrencyMismatch(EVBillingError):
    """Money in two currencies was combined."""


class InvalidAmount(EVBillingError):
    """An amount is not a finite decimal number."""


def validate_currency(code: str) -> str:
    if len(code) != 3 or not code.isascii() or not code.isalpha() or not code.isupper():
        raise InvalidCurrency(f"not an ISO 4217 currency code: {code!r}")
    return code


def currency_exponent(currency: str) -> int:
    return _EXPONENTS.get(validate_currency(currency), 2)


def to_decimal(value: Decimal | int | str) -> Decimal:
    """A finite Decimal from a Decimal, int or decimal string; floats are refused."""
    if isinstance(value, float):
        raise InvalidAmount("floats are not accepted for money; pass a Decimal or a string")
    try:
        result = Decimal(value)
    except (InvalidOperation, ValueError) as exc:
        raise InvalidAmount(f"not a decimal number: {value!r}") from exc
    if not result.is_finite():
        raise InvalidAmount(f"not a finite number: {value!r}")
    return result


@dataclass(frozen=True, slots=True)
class Money:
    amount: Decimal
    currency: str

    def __post_init__(self) -> None:
        validate_currency(self.currency)
        if not isinstance(self.amount, Decimal) or not self.amount.is_finite():
            raise InvalidAmount(f"money needs a finite Decimal amount, got {self.amount!r}")

    @classmethod
    def of(cls, amount: Decimal | int | str, currency: str) -> Money:
        return cls(amount=to_decimal(amount), currency=currency)

    @classmethod
    def zero(cls, currency: str) -> Money:
        return cls(amount=Decimal(0), currency=currency)

    @classmethod
    def from_minor_units(cls, units: int, currency: str) -> Money:
        return cls(amount=Decimal(units).scaleb(-currency_exponent(currency)), currency=currency)

    def _same(self, other: Money) -> None:
        if other.currency != self.currency:
            raise CurrencyMismatch(f"cannot combine {self.currency} and {other.currency}")

    def __add__(self, other: Money) -> Money:
        self._same(other)
        return Money(amount=self.amount + other.amount, currency=self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same(other)
        return Money(amount=self.amount - other.amount, currency=self.currency)

    def __neg__(self) -> Money:
        return Money(amount=-self.amount, currency=self.currency)

    def times(self, factor: Decimal | int) -> Money:
        return Money(amount=self.amount * Decimal(factor), currency=self.currency)

    def rounded(self) -> Money:
        """Rounded to the currency's minor unit with the documented rule."""
        quantum = Decimal(1).scaleb(-currency_exponent(self.currency))
        return Money(
            amount=self.amount.quantize(quantum, rounding=ROUNDING), currency=self.currency
        )

    def minor_units(self) -> int:
        """Integer minor units (cents); the amount must already be rounded."""
        rounded = self.rounded()
        if rounded.amount != self.amount:
            raise InvalidAmount(f"{self} has more precision than {self.currency} minor units")
        return int(rounded.amount.scaleb(currency_exponent(self.currency)))

    def is_zero(self) -> bool:
        return self.amount == 0

    def __str__(self) -> str:
        return f"{self.amount} {self.currency}"
