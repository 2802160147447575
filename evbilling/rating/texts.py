"""A priced session in the words a driver reads: a quote's display text, the final cost on a
charger's display. Every amount includes VAT and the text says so (the rule of
`evbilling.tariffs.price_text`)."""

from __future__ import annotations

from evbilling.rating.engine import CostLine, LineKind, RatedCdr
from evbilling.tariffs.price_text import amount_text, with_vat

_LABELS = {
    LineKind.FLAT: "Start fee",
    LineKind.ENERGY: "Energy",
    LineKind.TIME: "Charging time",
    LineKind.PARKING_TIME: "Parking time",
    LineKind.RESERVATION_FLAT: "Reservation fee",
    LineKind.RESERVATION_TIME: "Reservation time",
    LineKind.MIN_PRICE: "Minimum price",
    LineKind.MAX_PRICE: "Maximum price",
}
_ONCE = frozenset(
    {LineKind.FLAT, LineKind.RESERVATION_FLAT, LineKind.MIN_PRICE, LineKind.MAX_PRICE}
)


def line_text(line: CostLine, currency: str) -> str:
    """One line incl. VAT: ``Energy: 20 kWh x 0.48 EUR = 9.60 EUR``."""
    label = _LABELS[line.kind]
    amount = f"{amount_text(line.amount_incl_vat, currency)} {currency}"
    if line.kind in _ONCE:
        return f"{label}: {amount}"
    unit_price = amount_text(with_vat(line.unit_price, line.vat), currency)
    return f"{label}: {line.quantity} {line.unit.value} x {unit_price} {currency} = {amount}"


def total_text(rated: RatedCdr) -> str:
    """``Total 9.60 EUR incl. VAT (8.00 EUR excl. VAT)``."""
    currency = rated.currency
    return (
        f"Total {rated.total_incl_vat} {currency} incl. VAT "
        f"({rated.total_cost.excl_vat} {currency} excl. VAT)"
    )


def bill_lines(rated: RatedCdr) -> list[str]:
    """Each line of the bill, then the total, all including VAT."""
    return [*(line_text(line, rated.currency) for line in rated.lines), total_text(rated)]
