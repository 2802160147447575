"""From the quantities a rating run priced to its result: step sizes, the explained lines,
min/max price bounds and the rounded totals (see `rate` for the rules; rounding is in
`result`). Pure: called once per session, after the walk over its periods."""

from __future__ import annotations

from collections.abc import Collection
from datetime import timedelta
from decimal import Decimal
from typing import NamedTuple

from evbilling.rating.engine.plan import US_PER_SECOND, TariffPlan
from evbilling.rating.engine.result import (
    LINE_PRICERS,
    CostLine,
    LineKind,
    RatedCdr,
    RatedPeriod,
    Unit,
    apportion,
    hours,
)
from evbilling.tariffs.domain import Price, PriceComponent, Tariff, TariffDimensionType

_ZERO = Decimal(0)

# Line groups, in the order lines of one moment are listed.
FLAT, RES_FLAT, ENERGY, TIME, PARKING_TIME, RES_TIME = range(6)
_GROUP_KINDS = (
    LineKind.FLAT,
    LineKind.RESERVATION_FLAT,
    LineKind.ENERGY,
    LineKind.TIME,
    LineKind.PARKING_TIME,
    LineKind.RESERVATION_TIME,
)
_GROUP_DIMENSIONS = (
    TariffDimensionType.FLAT,
    TariffDimensionType.FLAT,
    TariffDimensionType.ENERGY,
    TariffDimensionType.TIME,
    TariffDimensionType.PARKING_TIME,
    TariffDimensionType.TIME,
)
_LABELS = {
    LineKind.FLAT: "Session fee",
    LineKind.RESERVATION_FLAT: "Reservation fee",
    LineKind.ENERGY: "Energy",
    LineKind.TIME: "Charging time",
    LineKind.PARKING_TIME: "Parking time",
    LineKind.RESERVATION_TIME: "Reservation time",
}


class Line(NamedTuple):
    kind: LineKind
    element: int
    component: PriceComponent
    quantity: Decimal | int  # kWh, microseconds or sessions
    shown: Decimal
    unit: Unit
    exact_excl: Decimal
    step_extra: Decimal | int


def round_steps(
    plan: TariffPlan,
    quantities: list[list[Decimal | int]],
    last_element: list[int],
    *,
    unrounded: Collection[int] = (),
) -> list[Decimal | int]:
    """Round each dimension's total up to the last component's step (except the groups in
    `unrounded`); returns the extras."""
    components = plan.components
    extras: list[Decimal | int] = [0] * 6
    for group in (ENERGY, TIME, PARKING_TIME, RES_TIME):
        element = last_element[group]
        if element < 0 or group in unrounded:
            continue
        component = components[_GROUP_DIMENSIONS[group]][element]
        assert component is not None
        step = component.step_size
        if group == ENERGY:
            total_kwh = sum(quantities[group], _ZERO)
            numerator, denominator = Decimal(total_kwh * 1000).as_integer_ratio()
            billed_wh = -(-numerator // (denominator * step)) * step
            extra: Decimal | int = Decimal(billed_wh).scaleb(-3) - total_kwh
        else:
            total_us = sum(int(q) for q in quantities[group])
            step_us = step * US_PER_SECOND
            extra = -(-total_us // step_us) * step_us - total_us
        if extra:
            quantities[group][element] += extra
        extras[group] = extra if extra else 0
    return extras


def priced_lines(
    plan: TariffPlan,
    quantities: list[list[Decimal | int]],
    first_use: list[list[int]],
    last_element: list[int],
    extras: list[Decimal | int],
) -> list[Line]:
    """Priced lines, in the order their dimension was first used in the session."""
    components = plan.components
    used = sorted(
        (first_use[group][element], group, element)
        for group in range(6)
        for element in range(plan.size)
        if first_use[group][element] >= 0
    )
    lines = []
    for _, group, element in used:
        component = components[_GROUP_DIMENSIONS[group]][element]
        assert component is not None
        kind = _GROUP_KINDS[group]
        quantity = quantities[group][element]
        shown, unit, amount = LINE_PRICERS[kind](component, quantity)
        extra = extras[group] if last_element[group] == element else 0
        lines.append(Line(kind, element, component, quantity, shown, unit, amount, extra))
    return lines


def rated_result(
    plan: TariffPlan,
    *,
    rated: list[RatedPeriod],
    lines: list[Line],
    first_us: int,
    end_us: int,
    session_start: int,
    expired: bool,
    total_energy: Decimal,
    parking_us: int,
    reservation_us: int,
) -> RatedCdr:
    tariff = plan.tariff
    currency = tariff.currency
    exact_excl = [line.exact_excl for line in lines]
    exact_incl = [_with_vat(line.exact_excl, line.component.vat) for line in lines]
    adjustments = _price_bounds(tariff, exact_excl, exact_incl)
    all_excl = exact_excl + [excl for _, excl, _ in adjustments]
    all_incl = exact_incl + [incl for _, _, incl in adjustments]
    total_excl, rounded_excl = apportion(all_excl, currency=currency)
    total_incl, rounded_incl = apportion(all_incl, currency=currency)
    cost_lines: list[CostLine] = []
    for position, line in enumerate(lines):
        is_time = line.unit is Unit.HOUR
        is_flat = line.kind in (LineKind.FLAT, LineKind.RESERVATION_FLAT)
        cost_lines.append(
            CostLine(
                kind=line.kind,
                description=_describe(line.kind, line.element, line.component, currency),
                quantity=line.shown,
                unit=line.unit,
                unit_price=line.component.price,
                vat=line.component.vat,
                amount_excl_vat=rounded_excl[position],
                amount_incl_vat=rounded_incl[position],
                exact_amount_excl_vat=line.exact_excl,
                exact_amount_incl_vat=exact_incl[position],
                element_index=line.element,
                step_size=None if is_flat else line.component.step_size,
                step_rounding=hours(int(line.step_extra)) if is_time else Decimal(line.step_extra),
                duration=timedelta(microseconds=int(line.quantity)) if is_time else None,
            )
        )
    for position, (kind, excl, incl) in enumerate(adjustments, start=len(lines)):
        cost_lines.append(
            CostLine(
                kind=kind,
                description=_describe_bound(kind, tariff, currency),
                quantity=Decimal(1),
                unit=Unit.SESSION,
                unit_price=excl,
                vat=None,
                amount_excl_vat=rounded_excl[position],
                amount_incl_vat=rounded_incl[position],
                exact_amount_excl_vat=excl,
                exact_amount_incl_vat=incl,
                element_index=None,
            )
        )

    def category(*kinds: LineKind) -> Price:
        chosen = [line for line in cost_lines if line.kind in kinds]
        return Price(
            excl_vat=_sum_like([line.amount_excl_vat for line in chosen], total_excl),
            incl_vat=_sum_like([line.amount_incl_vat for line in chosen], total_incl),
        )

    return RatedCdr(
        tariff_id=tariff.id,
        currency=currency,
        start_date_time=rated[0].start_date_time,
        end_date_time=rated[-1].end_date_time,
        charging_periods=tuple(rated),
        lines=tuple(cost_lines),
        total_cost=Price(excl_vat=total_excl, incl_vat=total_incl),
        total_fixed_cost=category(LineKind.FLAT),
        total_energy_cost=category(LineKind.ENERGY),
        total_time_cost=category(LineKind.TIME),
        total_parking_cost=category(LineKind.PARKING_TIME),
        total_reservation_cost=category(LineKind.RESERVATION_FLAT, LineKind.RESERVATION_TIME),
        total_price_adjustment=category(LineKind.MIN_PRICE, LineKind.MAX_PRICE),
        total_energy=total_energy,
        total_time=hours(end_us - session_start),
        total_parking_time=hours(parking_us),
        total_reservation_time=hours(reservation_us),
        reservation_expired=expired,
    )


def _with_vat(amount: Decimal, vat: Decimal | None) -> Decimal:
    if vat is None:  # OCPI: "If omitted, no VAT is applicable"
        return amount
    return (amount * (100 + vat)).scaleb(-2)


def _price_bounds(
    tariff: Tariff, exact_excl: list[Decimal], exact_incl: list[Decimal]
) -> list[tuple[LineKind, Decimal, Decimal]]:
    """Adjustment lines that lift the totals to min_price or cap them at max_price."""
    total_excl = sum(exact_excl, _ZERO)
    total_incl = sum(exact_incl, _ZERO)
    out: list[tuple[LineKind, Decimal, Decimal]] = []
    for kind, bound, direction in (
        (LineKind.MIN_PRICE, tariff.min_price, 1),
        (LineKind.MAX_PRICE, tariff.max_price, -1),
    ):
        if bound is None:
            continue
        # direction 1 lifts the total up to the bound, -1 cuts it down to the bound.
        excl = max(_ZERO, (bound.excl_vat - total_excl) * direction) * direction
        if bound.incl_vat is not None:
            incl = max(_ZERO, (bound.incl_vat - total_incl) * direction) * direction
        elif excl and total_excl:
            incl = excl * total_incl / total_excl  # keep the session's VAT ratio
        else:
            incl = excl  # lifted from nothing: a bound without VAT given has none
        if excl or incl:
            out.append((kind, excl, incl))
        total_excl += excl
        total_incl += incl
    return out


def _sum_like(amounts: list[Decimal], like: Decimal) -> Decimal:
    """A sum of rounded amounts, written with the total's exponent (0 -> 0.00)."""
    return sum(amounts, _ZERO).quantize(like)


def _describe(kind: LineKind, element: int, component: PriceComponent, currency: str) -> str:
    unit = {
        LineKind.ENERGY: "kWh",
        LineKind.TIME: "h",
        LineKind.PARKING_TIME: "h",
        LineKind.RESERVATION_TIME: "h",
    }.get(kind)
    price = f"{component.price} {currency}" + (f"/{unit}" if unit else "")
    vat = "no VAT given" if component.vat is None else f"VAT {component.vat}%"
    return f"{_LABELS[kind]} at {price} excl. VAT, {vat} (tariff element {element})"


def _describe_bound(kind: LineKind, tariff: Tariff, currency: str) -> str:
    bound = tariff.min_price if kind is LineKind.MIN_PRICE else tariff.max_price
    assert bound is not None
    label = "Minimum session price" if kind is LineKind.MIN_PRICE else "Maximum session price"
    incl = "" if bound.incl_vat is None else f" / {bound.incl_vat} {currency} incl. VAT"
    return f"{label} {bound.excl_vat} {currency} excl. VAT{incl}"
