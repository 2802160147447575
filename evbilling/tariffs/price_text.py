"""A tariff in a few words, for a driver or a charger's display (pure)."""

from __future__ import annotations

from evbilling.tariffs.domain import Tariff, TariffDimensionType, TariffElement

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


def price_text(*, tariff: Tariff, language: str = "en") -> str:
    """The tariff's own alternative text in `language` if it has one, else its prices."""
    for text in tariff.tariff_alt_text:
        if text.language == language:
            return text.text
    if tariff.tariff_alt_text:
        return tariff.tariff_alt_text[0].text
    phrases: list[str] = []
    for element in tariff.elements:
        when = _when(element)
        for component in element.price_components:
            phrase = f"{component.price} {tariff.currency}{_UNITS[component.type]}{when}"
            if phrase not in phrases:
                phrases.append(phrase)
    vat = {c.vat for e in tariff.elements for c in e.price_components}
    suffix = f", excl. {vat.pop()}% VAT" if len(vat) == 1 and None not in vat else ", excl. VAT"
    return ("; ".join(phrases) or f"free of charge ({tariff.currency})") + suffix
