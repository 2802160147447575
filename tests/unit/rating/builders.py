"""Plain factories for rating tests: tariffs, elements, periods, and short views of results."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from evbilling.rating.engine import (
    ChargingPeriodInput,
    PeriodKind,
    RatedCdr,
    rate_session,
)
from evbilling.tariffs.domain import (
    Tariff,
    dumps_ocpi,
    loads_ocpi,
    parse_tariff,
)
from tests.fixtures import OCPI_EXAMPLES

BERLIN = "Europe/Berlin"


EXAMPLES = OCPI_EXAMPLES


def spec_tariff(name: str) -> Tariff:
    return parse_tariff(loads_ocpi((EXAMPLES / name).read_text()))


def tariff(*elements: dict[str, Any], **fields: Any) -> Tariff:
    """A tariff from OCPI JSON text fragments; numbers written as in JSON."""
    data = {
        "country_code": "DE",
        "party_id": "EVB",
        "id": "T",
        "currency": fields.pop("currency", "EUR"),
        "elements": list(elements),
        **fields,
    }
    return parse_tariff(loads_ocpi(dumps_ocpi(data)))


def component(kind: str, price: str, *, vat: str | None = "20", step: int = 1) -> dict[str, Any]:
    data: dict[str, Any] = {"type": kind, "price": Decimal(price), "step_size": step}
    if vat is not None:
        data["vat"] = Decimal(vat)
    return data


def element(*components: dict[str, Any], **restrictions: Any) -> dict[str, Any]:
    data: dict[str, Any] = {"price_components": list(components)}
    if restrictions:
        data["restrictions"] = restrictions
    return data


def berlin(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=ZoneInfo(BERLIN)).astimezone(UTC)


def utc(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def charging(
    start: datetime,
    kwh: str = "0",
    *,
    min_current: str | None = None,
    max_current: str | None = None,
    min_power: str | None = None,
    max_power: str | None = None,
) -> ChargingPeriodInput:
    def number(value: str | None) -> Decimal | None:
        return None if value is None else Decimal(value)

    return ChargingPeriodInput(
        start=start,
        energy_kwh=Decimal(kwh),
        min_current=number(min_current),
        max_current=number(max_current),
        min_power=number(min_power),
        max_power=number(max_power),
    )


def parking(start: datetime) -> ChargingPeriodInput:
    return ChargingPeriodInput(start=start, kind=PeriodKind.PARKING)


def reservation(start: datetime) -> ChargingPeriodInput:
    return ChargingPeriodInput(start=start, kind=PeriodKind.RESERVATION)


def rate(
    rated_tariff: Tariff,
    periods: list[ChargingPeriodInput],
    end: datetime,
    time_zone: str = BERLIN,
) -> RatedCdr:
    return rate_session(tariff=rated_tariff, periods=periods, end=end, time_zone=time_zone)


def totals(rated: RatedCdr) -> tuple[str, str | None]:
    cost = rated.total_cost
    return str(cost.excl_vat), None if cost.incl_vat is None else str(cost.incl_vat)


def line_amounts(rated: RatedCdr) -> list[tuple[str, int | None, str]]:
    return [
        (line.kind.value, line.element_index, str(line.amount_excl_vat)) for line in rated.lines
    ]


MONDAY = berlin(2019, 1, 7, 9, 0)  # before tariff_6's end date
