"""Each provider's own minor units: what an API `amount` of 500 means in each currency.

ISO 4217 (`evbilling.money`) says how many decimals a currency has; a provider's API may say
otherwise, and may refuse amounts ISO allows. Every adapter converts `Money` to its
provider's units here, at the call, and nowhere else.

Stripe's table (source: https://docs.stripe.com/currencies, sections "Zero-decimal
currencies", "Three-decimal currencies", "Special cases" and "Minimum and maximum charge
amounts"):

- zero-decimal: BIF CLP DJF GNF JPY KMF KRW MGA PYG RWF VND VUV XAF XOF XPF (500 = 500 JPY);
- three-decimal: BHD JOD KWD OMR TND, amounts in thousandths whose last digit must be 0
  (5.124 KWD cannot be charged; 5.120 KWD is `5120`);
- ISK and UGX are charged in whole units but written as two-decimal values whose decimals
  are always 00 (5 ISK is `500`). UGX is also listed among the zero-decimal currencies;
  the special-case rule is the precise one and is followed here;
- HUF and TWD are two-decimal for charges (Stripe treats them as zero-decimal for payouts
  only, which evbilling does not create);
- every other currency is two-decimal.

Minimum charge: Stripe's table is per settlement currency (EUR 0.50, USD 0.50, GBP 0.30,
...). A charge in a currency absent from the table must meet the settlement currency's
minimum after conversion, which only Stripe knows: `minimum_charge` then answers the
smallest representable amount, and Stripe answers a capture below its real minimum with
`amount_too_small` (a ProviderError).

The sandbox provider uses the same table, so the special cases are exercised by every
sandbox test.

Conversion refuses an amount the provider cannot represent (`MinorUnitRounding.EXACT`),
or, when the caller names it, rounds toward zero (`MinorUnitRounding.DOWN`: for holds and
captures, which must never ask for more than was computed). Nothing here rounds up.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal
from enum import StrEnum

from evbilling.money import Money, currency_exponent, validate_currency
from evbilling.payments.psp.port import ProviderError


class UnrepresentableAmount(ProviderError):
    """The amount has finer precision than the provider accepts in that currency (or is
    negative); nothing was sent."""

    def __init__(self, message: str) -> None:
        super().__init__(message, code="amount_not_representable")


class MinorUnitRounding(StrEnum):
    EXACT = "exact"  # refuse what the provider cannot represent
    DOWN = "down"  # toward zero, to the nearest representable amount (holds, captures)


@dataclass(frozen=True, slots=True)
class CurrencyRule:
    """`exponent`: the provider's decimals (API amount = major units x 10**exponent);
    `step`: API amounts must be whole multiples of it (KWD at Stripe: 10)."""

    exponent: int
    step: int = 1


_TWO_DECIMALS = CurrencyRule(exponent=2)

STRIPE_ZERO_DECIMAL = frozenset(
    {"BIF", "CLP", "DJF", "GNF", "JPY", "KMF", "KRW", "MGA", "PYG", "RWF", "VND", "VUV", "XAF",
     "XOF", "XPF"}
)  # fmt: skip
STRIPE_THREE_DECIMAL = frozenset({"BHD", "JOD", "KWD", "OMR", "TND"})
STRIPE_WHOLE_UNITS_AS_TWO_DECIMALS = frozenset({"ISK", "UGX"})

STRIPE_RULES: Mapping[str, CurrencyRule] = {
    **{code: CurrencyRule(exponent=0) for code in STRIPE_ZERO_DECIMAL},
    **{code: CurrencyRule(exponent=3, step=10) for code in STRIPE_THREE_DECIMAL},
    **{code: CurrencyRule(exponent=2, step=100) for code in STRIPE_WHOLE_UNITS_AS_TWO_DECIMALS},
}

# docs.stripe.com/currencies, "Minimum and maximum charge amounts" (major units).
STRIPE_MINIMUM_CHARGES: Mapping[str, Decimal] = {
    code: Decimal(amount)
    for code, amount in {
        "USD": "0.50", "AED": "2.00", "AUD": "0.50", "BGN": "1.00", "BRL": "0.50",
        "CAD": "0.50", "CHF": "0.50", "CZK": "15.00", "DKK": "2.50", "EUR": "0.50",
        "GBP": "0.30", "HKD": "4.00", "HUF": "175.00", "INR": "0.50", "JPY": "50",
        "MXN": "10", "MYR": "2", "NOK": "3.00", "NZD": "0.50", "PLN": "2.00",
        "RON": "2.00", "SEK": "3.00", "SGD": "0.50", "THB": "10",
    }.items()
}  # fmt: skip

# Stripe limits `amount` to 8 digits for most currencies (12 for IDR, 9 for INR).
_MAX_DIGITS: Mapping[str, int] = {"IDR": 12, "INR": 9}
_DEFAULT_MAX_DIGITS = 8


class ProviderCurrencies:
    """One provider's exponent table, amount steps and minimum charges."""

    __slots__ = ("_minimums", "_rules", "name")

    def __init__(
        self,
        *,
        name: str,
        rules: Mapping[str, CurrencyRule],
        minimums: Mapping[str, Decimal],
    ) -> None:
        self.name = name
        self._rules = dict(rules)
        self._minimums = dict(minimums)

    def rule(self, currency: str) -> CurrencyRule:
        return self._rules.get(validate_currency(currency), _TWO_DECIMALS)

    def max_minor(self, currency: str) -> int:
        digits: int = _MAX_DIGITS.get(currency, _DEFAULT_MAX_DIGITS)
        return int(10**digits) - 1

    def to_minor(
        self, amount: Money, *, rounding: MinorUnitRounding = MinorUnitRounding.EXACT
    ) -> int:
        """The provider's integer amount for `amount`; refuses (EXACT) or rounds toward zero
        (DOWN) what the provider cannot represent. Never rounds up."""
        if amount.amount < 0:
            raise UnrepresentableAmount(f"{amount} is negative; providers take positive amounts")
        rule = self.rule(amount.currency)
        scaled = amount.amount.scaleb(rule.exponent)
        whole = scaled.to_integral_value(rounding=ROUND_DOWN)
        units = int(whole) - int(whole) % rule.step
        if rounding is MinorUnitRounding.EXACT and Decimal(units) != scaled:
            raise UnrepresentableAmount(
                f"{amount} cannot be charged through {self.name}: amounts in "
                f"{amount.currency} are multiples of {self.unit(amount.currency)}"
            )
        if units > self.max_minor(amount.currency):
            raise UnrepresentableAmount(f"{amount} is above {self.name}'s maximum amount")
        return units

    def from_minor(self, units: int, currency: str) -> Money:
        """Money (ISO 4217 exponent) for a provider amount."""
        rule = self.rule(currency)
        value = Decimal(units).scaleb(-rule.exponent)
        iso_quantum = Decimal(1).scaleb(-currency_exponent(currency))
        if value != value.quantize(iso_quantum, rounding=ROUND_DOWN):
            raise UnrepresentableAmount(
                f"{units} from {self.name} is finer than a {currency} minor unit"
            )
        return Money(amount=value.quantize(iso_quantum), currency=currency)

    def round_down(self, amount: Money) -> Money:
        """The largest amount not above `amount` the provider can charge."""
        return self.from_minor(
            self.to_minor(amount, rounding=MinorUnitRounding.DOWN), amount.currency
        )

    def unit(self, currency: str) -> Money:
        """The smallest chargeable step (0.01 EUR, 1 JPY, 0.010 KWD, 1 ISK)."""
        rule = self.rule(currency)
        return self.from_minor(rule.step, currency)

    def minimum_charge(self, currency: str) -> Money:
        minimum = self._minimums.get(validate_currency(currency))
        if minimum is None:
            return self.unit(currency)
        return self.from_minor(self.to_minor(Money(amount=minimum, currency=currency)), currency)


STRIPE_CURRENCIES = ProviderCurrencies(
    name="stripe", rules=STRIPE_RULES, minimums=STRIPE_MINIMUM_CHARGES
)
SANDBOX_CURRENCIES = ProviderCurrencies(
    name="sandbox", rules=STRIPE_RULES, minimums=STRIPE_MINIMUM_CHARGES
)
