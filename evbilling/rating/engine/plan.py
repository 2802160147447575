"""A tariff compiled once for fast, repeated rating.

Every restriction becomes a lookup that yields a bitmask over the tariff's elements (bit i set
= element i's restrictions of that kind hold). A moment's applicable elements are the AND of
a few lookups, and "the first element of the list that matches and prices dimension D" is the
lowest set bit of ``mask & has_component[D]``. Ranges are half-open like every period in
evbilling: ``min_x`` inclusive, ``max_x`` exclusive, ``start_time`` inclusive, ``end_time``
exclusive, ``start_date`` inclusive, ``end_date`` exclusive.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, time
from decimal import Decimal
from typing import Any

from evbilling.tariffs.domain import (
    PriceComponent,
    ReservationRestrictionType,
    Tariff,
    TariffDimensionType,
    TariffRestrictions,
)

US_PER_SECOND = 1_000_000
US_PER_HOUR = 3_600 * US_PER_SECOND
US_PER_DAY = 86_400 * US_PER_SECOND
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()


@dataclass(frozen=True, slots=True)
class ThresholdTable:
    """Masks for the intervals between sorted thresholds: ``masks[bisect_right(points, x)]``."""

    points: tuple[Any, ...]
    masks: tuple[int, ...]

    def mask_at(self, value: Any) -> int:
        return self.masks[bisect_right(self.points, value)]


@dataclass(frozen=True, slots=True)
class PowerCurrentRule:
    bit: int
    min_current: Decimal | None
    max_current: Decimal | None
    min_power: Decimal | None
    max_power: Decimal | None


@dataclass(frozen=True, slots=True)
class TariffPlan:
    tariff: Tariff
    size: int
    all_mask: int
    # Elements that have a component of each dimension, and the components by element index.
    has_component: dict[TariffDimensionType, int]
    components: dict[TariffDimensionType, tuple[PriceComponent | None, ...]]
    # Which elements may price which phase of a session.
    session_mask: int
    reservation_mask: int
    expired_reservation_mask: int
    uses_local_time: bool
    walltimes: tuple[int, ...]  # microseconds after local midnight, sorted, starting with 0
    time_of_day_masks: tuple[int, ...]
    weekday_masks: tuple[int, ...]  # Monday first
    dates: ThresholdTable  # local day number since 1970-01-01
    durations: ThresholdTable  # microseconds since the start of the phase
    energy: ThresholdTable  # kWh consumed in the session so far
    power_current_rules: tuple[PowerCurrentRule, ...]

    def local_mask(self, local_us: int) -> int:
        day, of_day = divmod(local_us, US_PER_DAY)
        mask = self.time_of_day_masks[bisect_right(self.walltimes, of_day) - 1]
        mask &= self.weekday_masks[(day + 3) % 7]  # 1970-01-01 was a Thursday
        if self.dates.points:
            mask &= self.dates.mask_at(day)
        return mask

    def power_current_mask(
        self,
        *,
        low_current: Decimal | None,
        high_current: Decimal | None,
        low_power: Decimal | None,
        high_power: Decimal | None,
    ) -> int:
        """Elements whose current and power restrictions hold; unknown values never match.

        ``min_x`` holds when the lowest value is at least min_x, ``max_x`` when the highest
        is below max_x, so the element applies to the whole period.
        """
        mask = self.all_mask
        for rule in self.power_current_rules:
            if not (
                _at_least(low_current, rule.min_current)
                and _below(high_current, rule.max_current)
                and _at_least(low_power, rule.min_power)
                and _below(high_power, rule.max_power)
            ):
                mask &= ~rule.bit
        return mask


def _at_least(value: Decimal | None, limit: Decimal | None) -> bool:
    return limit is None or (value is not None and value >= limit)


def _below(value: Decimal | None, limit: Decimal | None) -> bool:
    return limit is None or (value is not None and value < limit)


def compile_plan(tariff: Tariff) -> TariffPlan:
    """The tariff's lookup tables; cached per tariff object (tariffs are immutable)."""
    cached = _CACHE.get(id(tariff))
    if cached is not None and cached.tariff is tariff:
        return cached
    plan = _compile(tariff)
    if len(_CACHE) >= _CACHE_SIZE:
        _CACHE.clear()  # simple and thread-safe; compiling again costs microseconds
    _CACHE[id(tariff)] = plan  # the plan holds the tariff, so the id cannot be reused meanwhile
    return plan


_CACHE_SIZE = 256
_CACHE: dict[int, TariffPlan] = {}


def _compile(tariff: Tariff) -> TariffPlan:
    size = len(tariff.elements)
    all_mask = (1 << size) - 1
    restrictions = [element.restrictions or _NONE for element in tariff.elements]
    components = {
        dimension: tuple(element.component(dimension) for element in tariff.elements)
        for dimension in TariffDimensionType
    }
    has_component = {
        dimension: _mask(component is not None for component in components[dimension])
        for dimension in TariffDimensionType
    }
    reserved = ReservationRestrictionType.RESERVATION
    expires = ReservationRestrictionType.RESERVATION_EXPIRES
    walltimes = sorted(
        {0}
        | {_us_of_day(r.start_time) for r in restrictions if r.start_time is not None}
        | {_us_of_day(r.end_time) for r in restrictions if r.end_time is not None}
    )
    return TariffPlan(
        tariff=tariff,
        size=size,
        all_mask=all_mask,
        has_component=has_component,
        components=components,
        session_mask=_mask(r.reservation is None for r in restrictions),
        reservation_mask=_mask(r.reservation is reserved for r in restrictions),
        expired_reservation_mask=_mask(r.reservation in (reserved, expires) for r in restrictions),
        uses_local_time=tariff.uses_local_time,
        walltimes=tuple(walltimes),
        time_of_day_masks=tuple(
            _mask(_in_window(r, of_day) for r in restrictions) for of_day in walltimes
        ),
        weekday_masks=tuple(_mask(_on_weekday(r, day) for r in restrictions) for day in range(7)),
        dates=_threshold_table(
            size,
            [
                (_day_number(r.start_date), _day_number(r.end_date))
                if r.start_date is not None or r.end_date is not None
                else None
                for r in restrictions
            ],
        ),
        durations=_threshold_table(
            size,
            [
                (_us_or_none(r.min_duration), _us_or_none(r.max_duration))
                if r.min_duration is not None or r.max_duration is not None
                else None
                for r in restrictions
            ],
        ),
        energy=_threshold_table(
            size,
            [
                (r.min_kwh, r.max_kwh) if r.min_kwh is not None or r.max_kwh is not None else None
                for r in restrictions
            ],
        ),
        power_current_rules=tuple(
            PowerCurrentRule(
                bit=1 << i,
                min_current=r.min_current,
                max_current=r.max_current,
                min_power=r.min_power,
                max_power=r.max_power,
            )
            for i, r in enumerate(restrictions)
            if any(
                value is not None
                for value in (r.min_current, r.max_current, r.min_power, r.max_power)
            )
        ),
    )


_NONE = TariffRestrictions()


def _mask(flags: Iterable[bool]) -> int:
    return sum(1 << i for i, flag in enumerate(flags) if flag)


def _us_of_day(moment: time) -> int:
    return (moment.hour * 3600 + moment.minute * 60) * US_PER_SECOND


def _us_or_none(seconds: int | None) -> int | None:
    return None if seconds is None else seconds * US_PER_SECOND


def _day_number(day: date | None) -> int | None:
    return None if day is None else day.toordinal() - _EPOCH_ORDINAL


def _in_window(restrictions: TariffRestrictions, of_day: int) -> bool:
    """Whether a local time of day lies in ``[start_time, end_time)``, across midnight too."""
    start = None if restrictions.start_time is None else _us_of_day(restrictions.start_time)
    end = None if restrictions.end_time is None else _us_of_day(restrictions.end_time)
    if start is None and end is None:
        return True
    if start is None:
        assert end is not None
        return of_day < end
    if end is None:
        return of_day >= start
    if start < end:
        return start <= of_day < end
    if start > end:  # e.g. 22:00-06:00 crosses midnight
        return of_day >= start or of_day < end
    return True  # start == end: the window is the whole day


def _on_weekday(restrictions: TariffRestrictions, weekday: int) -> bool:
    return not restrictions.day_of_week or any(
        day.weekday == weekday for day in restrictions.day_of_week
    )


def _threshold_table(size: int, ranges: Sequence[tuple[Any, Any] | None]) -> ThresholdTable:
    """Masks for ``low <= x < high`` per element (None: no such restriction on the element)."""
    points = sorted({value for bounds in ranges if bounds for value in bounds if value is not None})
    if not points:
        return ThresholdTable(points=(), masks=((1 << size) - 1,))
    # Any value below the first threshold behaves like points[0] - 1; any value in
    # [points[k], points[k + 1]) like points[k].
    representatives = [points[0] - 1, *points]
    masks = []
    for value in representatives:
        mask = 0
        for i, bounds in enumerate(ranges):
            if bounds is None or (
                (bounds[0] is None or value >= bounds[0])
                and (bounds[1] is None or value < bounds[1])
            ):
                mask |= 1 << i
        masks.append(mask)
    return ThresholdTable(points=tuple(points), masks=tuple(masks))
