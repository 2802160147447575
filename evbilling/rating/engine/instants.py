"""The rating engine's timeline: instants as integer microseconds since the Unix epoch (exact,
cheap to compare and cut), and where on it a session's parts must be cut besides the tariff's
own times: the station zone's UTC offset changes, and the moments energy crosses a kWh point."""

from __future__ import annotations

from bisect import bisect_right
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from evbilling.rating.engine.plan import US_PER_SECOND

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MICROSECOND = timedelta(microseconds=1)


def micros(duration: timedelta) -> int:
    return duration // MICROSECOND


def micros_since_epoch(at: datetime) -> int:
    return micros(at - EPOCH)


def moment(us: int) -> datetime:
    return EPOCH + timedelta(microseconds=us)


def offset_us(zone: ZoneInfo, us: int) -> int:
    offset = moment(us).astimezone(zone).utcoffset()
    assert offset is not None
    return micros(offset)


def offset_segments(zone: ZoneInfo, start_us: int, end_us: int) -> list[tuple[int, int]]:
    """(from_us, utc_offset_us) pieces of [start, end) with one UTC offset each.

    Probes every 6 hours (offsets never change twice that fast) and bisects to the second.
    """
    segments = [(start_us, offset_us(zone, start_us))]
    probe_step = 6 * 3600 * US_PER_SECOND
    previous = start_us
    probe = start_us
    while probe < end_us:
        probe = min(probe + probe_step, end_us)
        offset = offset_us(zone, probe)
        if offset != segments[-1][1]:
            low, high = previous // US_PER_SECOND, -(-probe // US_PER_SECOND)
            while high - low > 1:
                middle = (low + high) // 2
                if offset_us(zone, middle * US_PER_SECOND) == segments[-1][1]:
                    low = middle
                else:
                    high = middle
            segments.append((high * US_PER_SECOND, offset))
        previous = probe
    return segments


def energy_cuts(
    points: tuple[Decimal, ...],
    consumed: Decimal,
    s: int,
    s_at: datetime,
    t: int,
    t_at: datetime,
    kwh: Decimal,
) -> list[tuple[int, datetime, int, datetime, Decimal]]:
    """Cut a part where the session's energy crosses min_kwh / max_kwh values.

    Energy flows evenly inside a part, so the crossing instant is interpolated; the energy
    on each side of it is exact.
    """
    parts = []
    span, total, consumed_at_start = t - s, kwh, consumed
    start, start_at = s, s_at
    for point in points[bisect_right(points, consumed) :]:
        if consumed_at_start + total <= point:
            break
        # Interpolated from the part's start so that cutting it elsewhere first changes nothing.
        cut = min(max(s + int((point - consumed_at_start) * span // total), start), t)
        cut_at = moment(cut)
        parts.append((start, start_at, cut, cut_at, point - consumed))
        consumed, start, start_at = point, cut, cut_at
    parts.append((start, start_at, t, t_at, consumed_at_start + total - consumed))
    return parts
