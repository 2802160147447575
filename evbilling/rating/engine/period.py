"""What the rating engine prices: a session as time-ordered periods, and how to build them.

A period starts at `start` and ends where the next one starts (the last one at the session
end), like an OCPI ChargingPeriod. Its `kind` says which time dimension its duration counts
as: CHARGING -> TIME, PARKING -> PARKING_TIME (connected but not charging), RESERVATION ->
RESERVATION_TIME (the EVSE was reserved, the session had not started yet), UNTIMED -> none
(session time that is neither, e.g. what a partner's CDR period reports no TIME or
PARKING_TIME volume for; only its energy is priced). The last period may last no time at
all when the session ended the moment it started: it is still priced (FLAT, min_price).

`build_periods` derives periods from what a station reports: energy-register samples (Wh,
cumulative), optional power and current samples, and the intervals in which the connector
was occupied but not charging (OCPP status SuspendedEV, SuspendedEVSE, Finishing, ...).
The rule, applied to each interval between two consecutive register samples (and from the
last sample to the session end):

1. Energy delivered in the interval is the register difference (Wh -> kWh, exact).
2. The interval is PARKING where it overlaps an idle-status interval; such an interval is
   split at the status boundaries and its energy goes to the non-idle parts in proportion to
   their duration (idle means no energy flows; the sample grid is coarser than the status).
3. Otherwise it is PARKING when it lies after the last interval in which the register
   increased: the car is full or has stopped drawing energy but is still connected.
4. Otherwise it is CHARGING: before energy first flows (the EV and EVSE are negotiating) and
   in pauses between increases that no status reported (a coarse register can stand still
   for a sample or two at low power), the driver is charged charging time, not parking time.
5. MIN/MAX_POWER (kW) and MIN/MAX_CURRENT (A) of a period are the smallest and largest
   samples taken in ``[start, end)``; with no power sample the engine uses the average power
   (energy / duration) and with no current sample current restrictions do not match.
6. With `reservation_start`, a RESERVATION period from then until the first sample leads.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_EVEN, Decimal
from enum import StrEnum
from itertools import pairwise

from evbilling.kit import EVBillingError
from evbilling.rating.engine.instants import micros

__all__ = [
    "ChargingPeriodInput",
    "CurrentSample",
    "IdleInterval",
    "InvalidMeterData",
    "MeterSample",
    "PeriodKind",
    "PowerSample",
    "build_periods",
]

# Interpolated energy is kept to 1 mWh: well below any meter's resolution, readable in a CDR.
ENERGY_QUANTUM = Decimal("0.000001")


def interpolated_kwh(value: Decimal) -> Decimal:
    """Energy shared out by time, to 1 mWh, written without trailing zeros (5.5, not 5.500000)."""
    return tidy(value.quantize(ENERGY_QUANTUM, rounding=ROUND_HALF_EVEN))


def tidy(value: Decimal) -> Decimal:
    """The same number without trailing zeros, never in exponent notation (20.000 -> 20)."""
    if value == value.to_integral_value():
        return value.quantize(_ONE)
    return value.normalize()


_ONE = Decimal(1)


class PeriodKind(StrEnum):
    CHARGING = "CHARGING"
    PARKING = "PARKING"
    RESERVATION = "RESERVATION"
    UNTIMED = "UNTIMED"  # session time that is neither charging nor parking time


@dataclass(frozen=True, slots=True)
class ChargingPeriodInput:
    """One period of a session; it lasts until the next period starts or the session ends."""

    start: datetime  # timezone-aware
    kind: PeriodKind = PeriodKind.CHARGING
    energy_kwh: Decimal = Decimal(0)
    min_current: Decimal | None = None  # A, summed over phases
    max_current: Decimal | None = None
    min_power: Decimal | None = None  # kW
    max_power: Decimal | None = None


@dataclass(frozen=True, slots=True)
class MeterSample:
    at: datetime
    energy_wh: int | Decimal  # cumulative energy register


@dataclass(frozen=True, slots=True)
class PowerSample:
    at: datetime
    kw: Decimal


@dataclass(frozen=True, slots=True)
class CurrentSample:
    at: datetime
    amperes: Decimal  # summed over phases


@dataclass(frozen=True, slots=True)
class IdleInterval:
    """The connector was occupied but not charging in ``[start, end)``."""

    start: datetime
    end: datetime


class InvalidMeterData(EVBillingError):
    """Meter samples cannot describe a session (unordered, decreasing register, naive time)."""


def build_periods(
    *,
    meter_samples: Sequence[MeterSample],
    end: datetime,
    power_samples: Sequence[PowerSample] = (),
    current_samples: Sequence[CurrentSample] = (),
    idle_intervals: Sequence[IdleInterval] = (),
    reservation_start: datetime | None = None,
) -> list[ChargingPeriodInput]:
    """Periods for `rate_session` from a station's samples; see the module docstring."""
    samples = _checked_samples(meter_samples, end)
    idle = _merged_idle(idle_intervals)
    raw: list[tuple[datetime, datetime, Decimal]] = []
    for before, after in pairwise(samples):
        raw.append((before.at, after.at, _kwh(after.energy_wh - before.energy_wh)))
    if end > samples[-1].at or len(samples) == 1:
        # Up to the end; a session that ended as it started is one period of no time.
        raw.append((samples[-1].at, end, _ZERO))
    last_increase_end = max((stop for _, stop, kwh in raw if kwh), default=None)

    pieces: list[tuple[datetime, datetime, PeriodKind, Decimal]] = []
    for start, stop, kwh in raw:
        after_charging = last_increase_end is not None and start >= last_increase_end
        default = PeriodKind.PARKING if after_charging else PeriodKind.CHARGING
        if idle:
            pieces.extend(_split_idle(start, stop, kwh, idle, default))
        else:
            pieces.append((start, stop, default, kwh))

    periods: list[ChargingPeriodInput] = []
    if reservation_start is not None:
        _require_aware(reservation_start, "reservation_start")
        if reservation_start >= samples[0].at:
            raise InvalidMeterData("reservation_start must be before the first meter sample")
        periods.append(ChargingPeriodInput(start=reservation_start, kind=PeriodKind.RESERVATION))
    bounds = [start for start, _, _, _ in pieces]
    powers = _extremes([(sample.at, sample.kw) for sample in power_samples], bounds, end)
    currents = _extremes([(sample.at, sample.amperes) for sample in current_samples], bounds, end)
    for (start, _, kind, kwh), (low_power, high_power), (low_current, high_current) in zip(
        pieces, powers, currents, strict=True
    ):
        periods.append(
            ChargingPeriodInput(start, kind, kwh, low_current, high_current, low_power, high_power)
        )
    return periods


def _require_aware(moment: datetime, what: str) -> None:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise InvalidMeterData(f"{what} must be timezone-aware")


def _kwh(wh: int | Decimal) -> Decimal:
    return tidy(Decimal(wh).scaleb(-3)) if wh else _ZERO


_ZERO = Decimal(0)


def _checked_samples(meter_samples: Sequence[MeterSample], end: datetime) -> list[MeterSample]:
    if not meter_samples:
        raise InvalidMeterData("at least one meter sample (the start reading) is needed")
    _require_aware(end, "end")
    samples: list[MeterSample] = []
    previous: MeterSample | None = None
    for index, sample in enumerate(meter_samples):
        at, wh = sample.at, sample.energy_wh
        if at.tzinfo is None:
            raise InvalidMeterData(f"meter_samples[{index}].at must be timezone-aware")
        if type(wh) is not int and type(wh) is not Decimal:
            raise InvalidMeterData(f"meter_samples[{index}].energy_wh must be an int or Decimal")
        if previous is None:
            samples.append(sample)
        elif at < previous.at:
            raise InvalidMeterData(f"meter_samples[{index}] is earlier than the sample before it")
        elif wh < previous.energy_wh:
            raise InvalidMeterData(f"meter_samples[{index}]: the energy register went backwards")
        elif at == previous.at:
            samples[-1] = sample  # a repeated timestamp: the later reading wins
        else:
            samples.append(sample)
        previous = sample
    if end < samples[-1].at:
        raise InvalidMeterData("end is before the last meter sample")
    return samples


def _merged_idle(intervals: Sequence[IdleInterval]) -> list[tuple[datetime, datetime]]:
    merged: list[tuple[datetime, datetime]] = []
    for index, interval in enumerate(sorted(intervals, key=lambda item: item.start)):
        _require_aware(interval.start, f"idle_intervals[{index}].start")
        _require_aware(interval.end, f"idle_intervals[{index}].end")
        if interval.end <= interval.start:
            continue
        if merged and interval.start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], interval.end))
        else:
            merged.append((interval.start, interval.end))
    return merged


def _split_idle(
    start: datetime,
    stop: datetime,
    kwh: Decimal,
    idle: list[tuple[datetime, datetime]],
    default: PeriodKind,
) -> list[tuple[datetime, datetime, PeriodKind, Decimal]]:
    cuts = [start]
    for idle_start, idle_end in idle:
        for moment in (idle_start, idle_end):
            if start < moment < stop:
                cuts.append(moment)
    cuts.append(stop)
    if len(cuts) == 2 and not any(a <= start and stop <= b for a, b in idle):
        return [(start, stop, default, kwh)]  # the common case: no status change inside
    parts: list[tuple[datetime, datetime, bool]] = []
    for part_start, part_stop in pairwise(cuts):
        inside = any(a <= part_start and part_stop <= b for a, b in idle)
        parts.append((part_start, part_stop, inside))
    # Energy goes to the parts that were not idle; if all were, it stays where it was measured.
    receivers = [part for part in parts if not part[2]] or parts
    remaining_kwh = kwh
    remaining_us = sum(micros(b - a) for a, b, _ in receivers)
    out: list[tuple[datetime, datetime, PeriodKind, Decimal]] = []
    for part in parts:
        part_start, part_stop, inside = part
        share = Decimal(0)
        if part in receivers and remaining_kwh:
            duration = micros(part_stop - part_start)
            if duration >= remaining_us:
                share = remaining_kwh
            else:
                share = interpolated_kwh(remaining_kwh * duration / remaining_us)
            remaining_kwh -= share
            remaining_us -= duration
        kind = PeriodKind.PARKING if inside else default
        if out and out[-1][2] is kind:  # e.g. an idle status ending inside trailing parking
            out[-1] = (out[-1][0], part_stop, kind, out[-1][3] + share)
        else:
            out.append((part_start, part_stop, kind, share))
    return out


def _extremes(
    samples: list[tuple[datetime, Decimal]], starts: list[datetime], end: datetime
) -> list[tuple[Decimal | None, Decimal | None]]:
    """(lowest, highest) sample taken in each period [starts[i], starts[i + 1] or end)."""
    out: list[tuple[Decimal | None, Decimal | None]] = [(None, None)] * len(starts)
    if not samples:
        return out
    samples.sort(key=_at)
    position, count = 0, len(samples)
    for index, start in enumerate(starts):
        stop = starts[index + 1] if index + 1 < len(starts) else end
        while position < count and samples[position][0] < start:
            position += 1
        low = high = None
        while position < count and samples[position][0] < stop:
            value = samples[position][1]
            if low is None or value < low:
                low = value
            if high is None or value > high:
                high = value
            position += 1
        out[index] = (low, high)
    return out


def _at(item: tuple[datetime, Decimal]) -> datetime:
    return item[0]
