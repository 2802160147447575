"""A tariff in a few words, for a driver or a charger's display (pure).

One rule for everything a driver reads, here and on a charger's display (rating.texts,
ocpp.v16.display): amounts include VAT, and the text says so. A component without VAT has
none (OCPI: "If omitted, no VAT is applicable"), so its price is the same either way.
"""

from __future__ import annotations

from decimal import Decimal

from evbilling.money import currency_exponent
from evbilling.tariffs.domain import (
    PriceComponent,
    Tariff,
    TariffDimensionType,
    TariffElement,
    decimal_places,
)

_UNITS = {
    TariffDimensionType.ENERGY: "/kWh",
    TariffDimensionType.TIME: "/h charging",
    TariffDimensionType.PARKING_TIME: "/h parking",
    TariffDimensionType.FLAT: " per session",
}


def _when(element: TariffElement) -> str:
    restrictions = element.restrictions
    if restrictions is None:
        return ""
    parts: list[str] = []
    if restrictions.reservation is not None:
        parts.append("reservation")
    if restrictions.start_time is not None or restrictions.end_time is not None:
        start = restrictions.start_time.strftime("%H:%M") if restrictions.start_time else "00:00"
        end = restrictions.end_time.strftime("%H:%M") if restrictions.end_time else "24:00"
        parts.append(f"{start}-{end}")
    if restrictions.day_of_week:
        parts.append(",".join(day.value[:3].title() for day in restrictions.day_of_week))
    if restrictions.min_duration is not None:
        parts.append(f"after {restrictions.min_duration // 60} min")
    if restrictions.min_power is not None:
        parts.append(f"from {restrictions.min_power} kW")
    if restrictions.max_power is not None:
        parts.append(f"below {restrictions.max_power} kW")
    if restrictions.min_kwh is not None:
        parts.append(f"from {restrictions.min_kwh} kWh")
    if restrictions.max_kwh is not None:
        parts.append(f"up to {restrictions.max_kwh} kWh")
    return f" ({' '.join(parts)})" if parts else ""


def with_vat(amount: Decimal, vat: Decimal | None) -> Decimal:
    """An amount excl. VAT with its VAT added, exactly (no VAT given: none applies)."""
    return amount if vat is None else (amount * (100 + vat)).scaleb(-2)


def amount_text(amount: Decimal, currency: str) -> str:
    """Money as a driver reads it: exact, without trailing zeros beyond the currency's minor
    unit (0.3600 -> 0.36, 0.4165 stays 0.4165, 38.50 JPY -> 38.5)."""
    exponent = currency_exponent(currency)
    return f"{amount:.{max(exponent, decimal_places(amount))}f}"


def component_price_text(component: PriceComponent, currency: str) -> str:
    return amount_text(with_vat(component.price, component.vat), currency)


def price_text(*, tariff: Tariff, language: str = "en") -> str:
    """The tariff's own alternative text in `language` if it has one, else its prices
    including VAT."""
    for text in tariff.tariff_alt_text:
        if text.language == language:
            return text.text
    if tariff.tariff_alt_text:
        return tariff.tariff_alt_text[0].text
    phrases: list[str] = []
    for element in tariff.elements:
        when = _when(element)
        for component in element.price_components:
            price = component_price_text(component, tariff.currency)
            phrase = f"{price} {tariff.currency}{_UNITS[component.type]}{when}"
            if phrase not in phrases:
                phrases.append(phrase)
    vat = {c.vat for e in tariff.elements for c in e.price_components}
    suffix = f", incl. {vat.pop()}% VAT" if len(vat) == 1 and None not in vat else ", incl. VAT"
    return ("; ".join(phrases) or f"free of charge ({tariff.currency})") + suffix
