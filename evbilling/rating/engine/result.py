"""What rating returns: an OCPI-CDR-shaped result with an explained line-item breakdown.

Rounding rule (see docs/pricing.md):

1. Every line is priced exactly: quantity x unit price (time lines from the exact duration in
   microseconds), VAT as ``amount x (100 + vat) / 100``. Nothing is rounded yet.
2. ``total_cost.excl_vat`` is the exact sum of the lines (including min/max price
   adjustments) rounded once to the currency's minor unit with ROUND_HALF_UP;
   ``total_cost.incl_vat`` is the exact sum of the lines' VAT-inclusive amounts rounded the
   same way, independently. This is what OCPI's worked examples do (tariff_4: 10.00 incl.
   VAT, not 2.88 + 3.00 + 4.13 = 10.01).
3. The rounded total is then apportioned to the lines by the largest-remainder method: each
   line gets its exact amount rounded down to the minor unit, and the minor units still
   missing go one each to the lines with the largest discarded remainders (earlier line
   first on a tie). So the lines add up to the total exactly and each line is within one
   minor unit of its exact amount. Separately for excl. and incl. VAT.
4. Category totals (total_energy_cost, total_time_cost, ...) are sums of their rounded lines.
5. A component without `vat` has no VAT (OCPI: "If omitted, no VAT is applicable"): its
   amount including VAT is its amount excluding VAT, so every incl. VAT amount is known.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal
from enum import StrEnum
from typing import NamedTuple

from evbilling.money import currency_exponent
from evbilling.rating.engine.instants import micros
from evbilling.rating.engine.period import PeriodKind
from evbilling.rating.engine.plan import US_PER_HOUR
from evbilling.tariffs.domain import Price, PriceComponent

__all__ = [
    "LINE_PRICERS",
    "CdrDimension",
    "CdrDimensionType",
    "CostLine",
    "LineKind",
    "RatedCdr",
    "RatedPeriod",
    "Unit",
    "apportion",
    "hours",
]

HOURS_QUANTUM = Decimal("0.000001")  # reported durations in hours: 3.6 ms resolution


class CdrDimensionType(StrEnum):
    """Every CdrDimensionType of OCPI 2.2.1 (a partner's CDR may report any of them)."""

    CURRENT = "CURRENT"  # average A; negative: from the EV to the grid
    ENERGY = "ENERGY"  # kWh charged
    ENERGY_EXPORT = "ENERGY_EXPORT"  # kWh from the EV to the grid
    ENERGY_IMPORT = "ENERGY_IMPORT"  # kWh from the grid to the EV
    MAX_CURRENT = "MAX_CURRENT"
    MIN_CURRENT = "MIN_CURRENT"
    MAX_POWER = "MAX_POWER"
    MIN_POWER = "MIN_POWER"
    PARKING_TIME = "PARKING_TIME"
    POWER = "POWER"  # average kW; negative: from the EV to the grid
    RESERVATION_TIME = "RESERVATION_TIME"
    STATE_OF_CHARGE = "STATE_OF_CHARGE"  # %
    TIME = "TIME"


class LineKind(StrEnum):
    """What a breakdown line charges for; the `total_*` field it counts towards."""

    FLAT = "FLAT"  # total_fixed_cost
    ENERGY = "ENERGY"  # total_energy_cost
    TIME = "TIME"  # total_time_cost
    PARKING_TIME = "PARKING_TIME"  # total_parking_cost
    RESERVATION_FLAT = "RESERVATION_FLAT"  # total_reservation_cost
    RESERVATION_TIME = "RESERVATION_TIME"  # total_reservation_cost
    MIN_PRICE = "MIN_PRICE"  # total_price_adjustment (tariff min_price)
    MAX_PRICE = "MAX_PRICE"  # total_price_adjustment (tariff max_price)


class Unit(StrEnum):
    KWH = "kWh"
    HOUR = "h"
    SESSION = "session"


@dataclass(frozen=True, slots=True)
class CdrDimension:
    type: CdrDimensionType
    volume: Decimal


@dataclass(frozen=True, slots=True)
class CostLine:
    """One line of the bill: quantity x unit price, with VAT, before and after rounding."""

    kind: LineKind
    description: str
    quantity: Decimal  # in `unit`; hours are rounded to 6 decimals for display
    unit: Unit
    unit_price: Decimal  # excl. VAT, per unit
    vat: Decimal | None  # percent; None: not given by the tariff (or mixed, for adjustments)
    amount_excl_vat: Decimal  # rounded, see the module docstring
    amount_incl_vat: Decimal  # = amount_excl_vat when the tariff gives no VAT
    exact_amount_excl_vat: Decimal
    exact_amount_incl_vat: Decimal
    element_index: int | None  # tariff element whose component priced the line
    step_size: int | None = None
    step_rounding: Decimal = Decimal(0)  # quantity added by step_size rounding, in `unit`
    duration: timedelta | None = None  # exact billed duration of a time line


class RatedPeriod(NamedTuple):
    """A CDR charging period: one set of applicable elements from start to end.

    A NamedTuple rather than a frozen dataclass: rating creates one per part of a session on
    its hot path, and a tuple is four times cheaper to build. Still immutable.
    """

    start_date_time: datetime
    end_date_time: datetime
    kind: PeriodKind
    energy_kwh: Decimal
    min_current: Decimal | None
    max_current: Decimal | None
    min_power: Decimal | None
    max_power: Decimal | None
    energy_element: int | None  # element that priced the energy (None: free / no energy)
    time_element: int | None  # element that priced the duration (None: free)

    @property
    def duration(self) -> timedelta:
        return self.end_date_time - self.start_date_time

    @property
    def dimensions(self) -> tuple[CdrDimension, ...]:
        """The OCPI CdrDimensions of this period (time volumes in hours, 6 decimals)."""
        time_dimension = _TIME_DIMENSIONS.get(self.kind)
        out = []
        if time_dimension is not None:  # UNTIMED periods have no time volume
            out.append(CdrDimension(time_dimension, hours(micros(self.duration))))
        if self.kind is not PeriodKind.RESERVATION:
            out.insert(0, CdrDimension(CdrDimensionType.ENERGY, self.energy_kwh))
        for kind, value in (
            (CdrDimensionType.MIN_CURRENT, self.min_current),
            (CdrDimensionType.MAX_CURRENT, self.max_current),
            (CdrDimensionType.MIN_POWER, self.min_power),
            (CdrDimensionType.MAX_POWER, self.max_power),
        ):
            if value is not None:
                out.append(CdrDimension(kind, value))
        return tuple(out)


_TIME_DIMENSIONS = {
    PeriodKind.CHARGING: CdrDimensionType.TIME,
    PeriodKind.PARKING: CdrDimensionType.PARKING_TIME,
    PeriodKind.RESERVATION: CdrDimensionType.RESERVATION_TIME,
}


@dataclass(frozen=True, slots=True)
class RatedCdr:
    """A priced session in the shape of an OCPI 2.2.1 CDR, plus the line-item breakdown."""

    tariff_id: str
    currency: str
    start_date_time: datetime
    end_date_time: datetime
    charging_periods: tuple[RatedPeriod, ...]
    lines: tuple[CostLine, ...]
    total_cost: Price
    total_fixed_cost: Price
    total_energy_cost: Price
    total_time_cost: Price
    total_parking_cost: Price
    total_reservation_cost: Price
    total_price_adjustment: Price  # min_price / max_price; not an OCPI field
    total_energy: Decimal  # kWh
    total_time: Decimal  # hours from session start to end (reservation excluded)
    total_parking_time: Decimal  # hours
    total_reservation_time: Decimal  # hours; not an OCPI field
    reservation_expired: bool

    @property
    def total_incl_vat(self) -> Decimal:
        """The total including VAT: always known (a component without VAT adds none)."""
        incl = self.total_cost.incl_vat
        assert incl is not None
        return incl


def hours(microseconds: int) -> Decimal:
    """A duration in hours for display, rounded half up to 6 decimals."""
    return (Decimal(microseconds) / US_PER_HOUR).quantize(HOURS_QUANTUM, rounding=ROUND_HALF_UP)


def apportion(exact: Sequence[Decimal], *, currency: str) -> tuple[Decimal, list[Decimal]]:
    """Round the exact total once, then split it over the lines by largest remainder.

    Returns the rounded total and one rounded amount per line; they sum to the total.
    """
    quantum = Decimal(1).scaleb(-currency_exponent(currency))
    total = sum(exact, Decimal(0)).quantize(quantum, rounding=ROUND_HALF_UP)
    floors = [amount.quantize(quantum, rounding=ROUND_FLOOR) for amount in exact]
    missing = int((total - sum(floors, Decimal(0))) / quantum)
    by_remainder = sorted(range(len(exact)), key=lambda i: (floors[i] - exact[i], i))
    for i in by_remainder[:missing]:
        floors[i] += quantum
    return total, floors


# A pure function per price-component kind: (component, quantity) -> (shown quantity, unit,
# exact amount excl. VAT). Energy quantities are kWh, time quantities microseconds.
LinePricer = Callable[[PriceComponent, Decimal | int], tuple[Decimal, Unit, Decimal]]


def _price_energy(component: PriceComponent, kwh: Decimal | int) -> tuple[Decimal, Unit, Decimal]:
    return Decimal(kwh), Unit.KWH, component.price * kwh


def _price_time(component: PriceComponent, us: Decimal | int) -> tuple[Decimal, Unit, Decimal]:
    return hours(int(us)), Unit.HOUR, component.price * us / US_PER_HOUR


def _price_flat(component: PriceComponent, count: Decimal | int) -> tuple[Decimal, Unit, Decimal]:
    return Decimal(count), Unit.SESSION, component.price * count


LINE_PRICERS: Mapping[LineKind, LinePricer] = {
    LineKind.ENERGY: _price_energy,
    LineKind.TIME: _price_time,
    LineKind.PARKING_TIME: _price_time,
    LineKind.RESERVATION_TIME: _price_time,
    LineKind.FLAT: _price_flat,
    LineKind.RESERVATION_FLAT: _price_flat,
}
