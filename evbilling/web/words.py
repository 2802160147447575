"""A tariff in plain words for the guest's page (pure): per kWh, per minute, per session,
idle fee, in that order, every amount including VAT (the rule of tariffs.price_text)."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from evbilling.money import Money, currency_exponent
from evbilling.payments.domain import UnitPrices
from evbilling.tariffs.price_text import amount_text

_MINUTES_PER_HOUR = Decimal(60)


def _price(amount: Decimal, currency: str) -> str:
    # At most 4 decimals (a per-minute price of 0.30/h is 0.005); never rounded to zero.
    places = max(currency_exponent(currency), 0)
    shown = amount.quantize(Decimal(1).scaleb(-(places + 2)), rounding=ROUND_HALF_UP)
    return f"{amount_text(shown.normalize() if shown else shown, currency)} {currency}"


def tariff_lines(prices: UnitPrices) -> list[tuple[str, str]]:
    """(what, price) rows in the fixed order; a dimension the tariff does not charge says
    so, so the guest sees every kind of charge."""
    currency = prices.currency
    rows: list[tuple[str, str]] = []
    for label, amount, unit in (
        ("Energy", prices.energy_per_kwh, "per kWh"),
        ("Charging time", prices.time_per_hour / _MINUTES_PER_HOUR, "per minute"),
        ("Start fee", prices.flat, "per session"),
        ("Idle fee", prices.parking_per_hour / _MINUTES_PER_HOUR, "per minute parked"),
    ):
        rows.append((label, f"{_price(amount, currency)} {unit}" if amount else "none"))
    return rows


def money_text(amount: Money) -> str:
    return f"{amount.rounded().amount} {amount.currency}"


def energy_text(wh: int) -> str:
    return f"{Decimal(wh) / 1000:.2f} kWh"


def card_note(
    *, hold: Money | None, captured: Money | None, released: bool, final: bool
) -> str | None:
    """What the guest's card carries now, in words: the hold while the amount may still
    grow, what will be taken once it is final, what was taken once captured."""
    if captured is not None:
        if hold is not None and captured.amount < hold.amount:
            return (
                f"Charged to your card: {money_text(captured)}. The rest of the hold is released."
            )
        return f"Charged to your card: {money_text(captured)}."
    if released:
        return "Nothing was taken from your card: the hold is released."
    if hold is None:
        return None
    if final:
        return (
            f"Only the total is taken from your card; the rest of the {money_text(hold)} hold "
            "is then released."
        )
    return f"Held on your card: {money_text(hold)}"
