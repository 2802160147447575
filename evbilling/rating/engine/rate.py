"""The OCPI 2.2.1 rating engine: periods of a session + a tariff -> a priced, explained CDR.

Pure: no I/O, no clock; the station's IANA time zone is an argument.

How a session is priced (OCPI 2.2.1 Tariffs module, with the choices it leaves open):

- The session's periods are cut wherever an element's restrictions can start or stop
  holding: local times of day named by the tariff, local midnights (day of week, dates),
  changes of the zone's UTC offset, ``min/max_duration`` after the start, and the moments the
  consumed energy crosses ``min/max_kwh`` (interpolated linearly inside a period). Energy of a
  cut period is shared in proportion to time (kept to 1 mWh, the last part takes the rest).
- For each part and each dimension the first element in the tariff's list whose restrictions
  all hold and that has a component of that dimension prices it; no such element: free.
  Energy is priced as ENERGY in every part; a CHARGING part's duration as TIME, a PARKING
  part's as PARKING_TIME.
- Time-of-day, day-of-week and date restrictions use the station's local time; duration
  restrictions count from the session start; kWh restrictions use the session's energy so far;
  power and current restrictions compare the period's MIN/MAX values (``min_x`` against the
  lowest, ``max_x`` against the highest; with no power values, the average power).
- FLAT is charged once: from the first element with a FLAT component that matches, at the
  earliest part of the session where one matches.
- Reservations: RESERVATION periods come before the session and are priced only by elements
  with a ``reservation`` restriction (their TIME as RESERVATION_TIME, their FLAT once);
  session periods only by elements without one. A reservation with no session after it has
  expired: RESERVATION_EXPIRES and RESERVATION elements both apply, in list order.
  Duration restrictions of reservation elements count from the reservation start.
- step_size is applied once per dimension at the end of the session: the dimension's total
  priced quantity is rounded up to the step of the last component that priced it, and the
  added quantity is charged at that component's price. ENERGY and RESERVATION_TIME are
  always rounded. Of the two time dimensions, which take turns, OCPI rounds a component
  only "for the last TariffElement" and, on a switch, for the components "not in the new
  TariffElement": TIME (PARKING_TIME) is rounded when it priced the session's last priced
  time, or when a later time part was priced by an element without a TIME (PARKING_TIME)
  component. Charging followed by parking in the same element rounds the parking only
  (the spec's tariff_14 examples, and tariff_4's, whose parking is another element).
- min_price / max_price bound the total excl. VAT and the total incl. VAT independently, by
  an adjustment line. Without an incl_vat bound, the adjustment's VAT-inclusive amount keeps
  the session's VAT ratio (unknown when the session cost nothing).
- Rounding: see `evbilling.rating.engine.result` (exact lines, one rounding of each total,
  largest-remainder apportionment so that the lines add up to the totals).
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import (
    ROUND_HALF_EVEN,
    Context,
    Decimal,
    DivisionByZero,
    InvalidOperation,
    Overflow,
    localcontext,
)
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from evbilling.kit import EVBillingError
from evbilling.rating.engine.instants import (
    energy_cuts,
    micros_since_epoch,
    moment,
    offset_segments,
)
from evbilling.rating.engine.period import ChargingPeriodInput, PeriodKind, interpolated_kwh
from evbilling.rating.engine.plan import (
    US_PER_DAY,
    US_PER_HOUR,
    TariffPlan,
    compile_plan,
)
from evbilling.rating.engine.result import (
    RatedCdr,
    RatedPeriod,
)
from evbilling.rating.engine.totals import (
    ENERGY,
    FLAT,
    PARKING_TIME,
    RES_FLAT,
    RES_TIME,
    TIME,
    priced_lines,
    rated_result,
    round_steps,
)
from evbilling.tariffs.domain import Tariff, TariffDimensionType

__all__ = ["InvalidSession", "InvalidTimeZone", "TariffNotApplicable", "rate_session"]


class InvalidSession(EVBillingError):
    """The periods do not describe a session (unordered, naive times, negative energy, ...)."""


class InvalidTimeZone(EVBillingError):
    """Not an IANA time zone name known to this system."""


class TariffNotApplicable(EVBillingError):
    """The session started outside the tariff's start_date_time / end_date_time."""


# Enough digits for any realistic amount; all rating arithmetic runs in this one context.
_CONTEXT = Context(
    prec=34, rounding=ROUND_HALF_EVEN, traps=[InvalidOperation, DivisionByZero, Overflow]
)
_ZERO = Decimal(0)
_CHARGING = PeriodKind.CHARGING
_PARKING = PeriodKind.PARKING
_RESERVATION = PeriodKind.RESERVATION


def rate_session(
    *,
    tariff: Tariff,
    periods: Sequence[ChargingPeriodInput],
    end: datetime,
    time_zone: str,
) -> RatedCdr:
    """Price a session's periods (time-ordered, reservation first) ending at `end`.

    `time_zone` is the station's IANA zone, used for time-of-day, day-of-week and date
    restrictions. Raises `InvalidSession`, `InvalidTimeZone` or `TariffNotApplicable`.
    """
    zone = _zone(time_zone)
    plan = compile_plan(tariff)
    with localcontext(_CONTEXT):
        return _Rating(plan, periods, end, zone).run()


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError) as exc:
        raise InvalidTimeZone(f"unknown time zone: {name!r}") from exc


class _Rating:
    """One rating run; the state lives in locals of `run` for speed, this only groups steps."""

    __slots__ = ("end", "periods", "plan", "zone")

    def __init__(
        self,
        plan: TariffPlan,
        periods: Sequence[ChargingPeriodInput],
        end: datetime,
        zone: ZoneInfo,
    ) -> None:
        self.plan = plan
        self.periods = periods
        self.end = end
        self.zone = zone

    def run(self) -> RatedCdr:
        plan, periods = self.plan, self.periods
        starts, moments, session_index = self._validated()
        count = len(periods)
        first_us, end_us = starts[0], starts[count]
        expired = session_index is None
        session_start = starts[session_index] if session_index is not None else end_us
        self._check_validity(first_us)
        segments = offset_segments(self.zone, first_us, end_us) if plan.uses_local_time else []
        bounds = self._bounds(first_us, end_us, session_start, segments)
        # Restriction masks of each slot between two bounds, per phase; slot k is
        # [bounds[k - 1], bounds[k]) and nothing but energy changes inside it.
        session_slots = self._slot_masks(bounds, segments, first_us, session_start)
        reservation_slots = session_slots
        if session_index != 0 and plan.durations.points:
            reservation_slots = self._slot_masks(bounds, segments, first_us, first_us)

        size = plan.size
        energy_q: list[Decimal] = [_ZERO] * size
        time_q, parking_q, reservation_q = [0] * size, [0] * size, [0] * size
        first_use: list[list[int]] = [[-1] * size for _ in range(6)]
        flat_element = [-1, -1]  # session, reservation
        has = plan.has_component
        energy_candidates = has[TariffDimensionType.ENERGY]
        time_candidates = has[TariffDimensionType.TIME]
        parking_candidates = has[TariffDimensionType.PARKING_TIME]
        flat_candidates = has[TariffDimensionType.FLAT]
        energy_points, energy_masks = plan.energy.points, plan.energy.masks
        power_current_rules = bool(plan.power_current_rules)
        first_energy, first_time, first_parking, first_reserved = (
            first_use[ENERGY],
            first_use[TIME],
            first_use[PARKING_TIME],
            first_use[RES_TIME],
        )
        last_energy = last_time = last_parking = last_reserved = -1
        # Which time dimension priced the latest time part, and whether a later time part
        # was priced by an element without the other dimension (see step_size above).
        last_timed = -1
        time_left = parking_left = False
        consumed = _ZERO
        parking_us = reservation_us = 0
        rated: list[RatedPeriod] = []
        append = rated.append
        k, bound_count = 0, len(bounds)
        for i in range(count):
            period = periods[i]
            kind = period.kind
            if kind is _RESERVATION:
                base = plan.expired_reservation_mask if expired else plan.reservation_mask
                slots = reservation_slots
            else:
                base = plan.session_mask
                slots = session_slots
            if power_current_rules:
                base &= self._power_current_mask(period, starts[i], starts[i + 1])
            s, e, s_at = starts[i], starts[i + 1], moments[i]
            remaining = period.energy_kwh
            while True:  # at least one part: a zero-length period is still priced (FLAT)
                while k < bound_count and bounds[k] <= s:
                    k += 1
                if k < bound_count and bounds[k] < e:
                    t = bounds[k]
                    t_at = moment(t)
                    kwh = interpolated_kwh(remaining * (t - s) / (e - s))
                else:
                    t, t_at, kwh = e, moments[i + 1], remaining
                slot_mask = base & slots[k]
                parts: Sequence[tuple[int, datetime, int, datetime, Decimal]]
                if energy_points and kwh:
                    parts = energy_cuts(energy_points, consumed, s, s_at, t, t_at, kwh)
                else:
                    parts = ((s, s_at, t, t_at, kwh),)
                for part_s, part_s_at, part_t, part_t_at, part_kwh in parts:
                    mask = slot_mask
                    if energy_points:
                        mask &= energy_masks[bisect_right(energy_points, consumed)]
                    number = len(rated)
                    energy_element = time_element = -1
                    if kind is _RESERVATION:
                        if flat_element[1] < 0 and mask & flat_candidates:
                            found = mask & flat_candidates
                            flat_element[1] = (found & -found).bit_length() - 1
                            first_use[RES_FLAT][flat_element[1]] = number
                        found = mask & time_candidates
                        if found and part_t > part_s:
                            time_element = (found & -found).bit_length() - 1
                            reservation_q[time_element] += part_t - part_s
                            if first_reserved[time_element] < 0:
                                first_reserved[time_element] = number
                            last_reserved = time_element
                        reservation_us += part_t - part_s
                    else:
                        if flat_element[0] < 0 and mask & flat_candidates:
                            found = mask & flat_candidates
                            flat_element[0] = (found & -found).bit_length() - 1
                            first_use[FLAT][flat_element[0]] = number
                        if part_kwh:
                            found = mask & energy_candidates
                            if found:
                                energy_element = (found & -found).bit_length() - 1
                                energy_q[energy_element] += part_kwh
                                if first_energy[energy_element] < 0:
                                    first_energy[energy_element] = number
                                last_energy = energy_element
                            consumed += part_kwh
                        if kind is _CHARGING:
                            found = mask & time_candidates
                            if found and part_t > part_s:
                                time_element = (found & -found).bit_length() - 1
                                time_q[time_element] += part_t - part_s
                                if first_time[time_element] < 0:
                                    first_time[time_element] = number
                                last_time = time_element
                                last_timed, time_left = TIME, False
                                if not parking_candidates >> time_element & 1:
                                    parking_left = last_parking >= 0
                        elif kind is _PARKING:
                            found = mask & parking_candidates
                            if found and part_t > part_s:
                                time_element = (found & -found).bit_length() - 1
                                parking_q[time_element] += part_t - part_s
                                if first_parking[time_element] < 0:
                                    first_parking[time_element] = number
                                last_parking = time_element
                                last_timed, parking_left = PARKING_TIME, False
                                if not time_candidates >> time_element & 1:
                                    time_left = last_time >= 0
                            parking_us += part_t - part_s
                    append(
                        RatedPeriod(
                            part_s_at,
                            part_t_at,
                            kind,
                            part_kwh,
                            period.min_current,
                            period.max_current,
                            period.min_power,
                            period.max_power,
                            energy_element if energy_element >= 0 else None,
                            time_element if time_element >= 0 else None,
                        )
                    )
                remaining -= kwh
                s, s_at = t, t_at
                if s >= e:
                    break

        quantities: list[list[Decimal | int]] = [
            [1 if element == flat_element[0] else 0 for element in range(size)],
            [1 if element == flat_element[1] else 0 for element in range(size)],
            list(energy_q),
            list(time_q),
            list(parking_q),
            list(reservation_q),
        ]
        last_element = [-1, -1, last_energy, last_time, last_parking, last_reserved]
        unrounded = {
            group
            for group, left in ((TIME, time_left), (PARKING_TIME, parking_left))
            if last_timed != group and not left
        }
        steps = round_steps(self.plan, quantities, last_element, unrounded=unrounded)
        lines = priced_lines(self.plan, quantities, first_use, last_element, steps)
        return rated_result(
            self.plan,
            rated=rated,
            lines=lines,
            first_us=first_us,
            end_us=end_us,
            session_start=session_start,
            expired=expired,
            total_energy=consumed,
            parking_us=parking_us,
            reservation_us=reservation_us,
        )

    # ---- validation -------------------------------------------------------------------------

    def _validated(self) -> tuple[list[int], list[datetime], int | None]:
        """Period starts and the end in microseconds since the epoch, and as UTC datetimes."""
        periods = self.periods
        if not periods:
            raise InvalidSession("a session needs at least one period")
        starts: list[int] = []
        moments: list[datetime] = []
        session_index: int | None = None
        previous = None
        for i, period in enumerate(periods):
            start = period.start
            if start.tzinfo is not UTC:
                if start.tzinfo is None:
                    raise InvalidSession(f"periods[{i}].start must be timezone-aware")
                start = start.astimezone(UTC)
            at = micros_since_epoch(start)
            if previous is not None and at <= previous:
                raise InvalidSession(f"periods[{i}] must start after periods[{i - 1}]")
            energy = period.energy_kwh
            if type(energy) is not Decimal or not energy.is_finite() or energy < 0:
                raise InvalidSession(f"periods[{i}].energy_kwh must be a finite Decimal >= 0")
            if period.kind is _RESERVATION:
                if session_index is not None:
                    raise InvalidSession(f"periods[{i}]: reservation periods must come first")
                if energy:
                    raise InvalidSession(f"periods[{i}]: a reservation period has no energy")
            elif session_index is None:
                session_index = i
            starts.append(at)
            moments.append(start)
            previous = at
        end = self.end
        if end.tzinfo is None:
            raise InvalidSession("end must be timezone-aware")
        end = end.astimezone(UTC)
        end_us = micros_since_epoch(end)
        if end_us < starts[-1]:
            raise InvalidSession("end must not be before the start of the last period")
        starts.append(end_us)
        moments.append(end)
        return starts, moments, session_index

    def _check_validity(self, first_us: int) -> None:
        tariff = self.plan.tariff
        started = moment(first_us)
        if tariff.start_date_time is not None and started < tariff.start_date_time:
            raise TariffNotApplicable(
                f"tariff {tariff.id} is valid from {tariff.start_date_time.isoformat()}"
            )
        if tariff.end_date_time is not None and started >= tariff.end_date_time:
            raise TariffNotApplicable(
                f"tariff {tariff.id} is valid until {tariff.end_date_time.isoformat()}"
            )

    # ---- where restrictions can change --------------------------------------------------------

    def _bounds(
        self,
        first_us: int,
        end_us: int,
        session_start: int,
        segments: list[tuple[int, int]],
    ) -> list[int]:
        plan = self.plan
        cuts: set[int] = set()
        for index, (segment_start, offset) in enumerate(segments):
            segment_end = segments[index + 1][0] if index + 1 < len(segments) else end_us
            if index:
                cuts.add(segment_start)
            local_start, local_end = segment_start + offset, segment_end + offset
            for day in range(local_start // US_PER_DAY, (local_end - 1) // US_PER_DAY + 1):
                midnight = day * US_PER_DAY
                for walltime in plan.walltimes:
                    local = midnight + walltime
                    if local_start < local < local_end:
                        cuts.add(local - offset)
        for point in plan.durations.points:
            for phase_start in (first_us, session_start):
                cuts.add(phase_start + point)
        return sorted(cut for cut in cuts if first_us < cut < end_us)

    def _power_current_mask(self, period: ChargingPeriodInput, start: int, stop: int) -> int:
        low_power, high_power = period.min_power, period.max_power
        if low_power is None and high_power is None:
            # No power reported: the average power of the period stands in for both (none
            # for energy in no time; a zero-length period without energy drew nothing).
            if stop > start:
                low_power = high_power = period.energy_kwh * US_PER_HOUR / (stop - start)
            elif not period.energy_kwh:
                low_power = high_power = _ZERO
        low_current, high_current = period.min_current, period.max_current
        return self.plan.power_current_mask(
            low_current=low_current if low_current is not None else high_current,
            high_current=high_current if high_current is not None else low_current,
            low_power=low_power if low_power is not None else high_power,
            high_power=high_power if high_power is not None else low_power,
        )

    def _slot_masks(
        self,
        bounds: list[int],
        segments: list[tuple[int, int]],
        first_us: int,
        phase_start: int,
    ) -> list[int]:
        """Local-time and duration masks of each slot, taken at the slot's first instant."""
        plan = self.plan
        segment_starts = [start for start, _ in segments]
        masks = []
        for slot_start in [first_us, *bounds]:
            mask = plan.all_mask
            if segments:
                offset = segments[bisect_right(segment_starts, slot_start) - 1][1]
                mask &= plan.local_mask(slot_start + offset)
            if plan.durations.points:
                mask &= plan.durations.mask_at(slot_start - phase_start)
            masks.append(mask)
        return masks
