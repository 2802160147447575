"""Which readings a session is billed from (pure; docs/metering.md).

Every register reading passes the same checks, whenever it arrives: it must be readable, held
by a meter (`domain.register_wh`), not timestamped in the future, never below the trusted
register before it (in the meters' own precision) and never above what the EVSE's power
allows since. A reading that fails is an anomaly and is not billed: the session's trusted
register stays at the last plausible reading. meterStop is judged the same way, and once a
session has ended, later readings must agree with the register it was billed up to.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from evbilling.charging.domain import (
    Anomaly,
    AnomalyKind,
    RegisterReading,
    check_register_bounds,
    check_register_step,
    precision_wh,
)

# How far a reading may run ahead of both the server's clock and its session's start. A
# station's clock may be off by hours (local time sent as UTC) and a simulator runs its own,
# faster clock from the start it reported; a reading days ahead of both (year 9999) is not
# a reading: trusted, it would shadow every real reading after it.
MAX_CLOCK_AHEAD = timedelta(days=1)


def check_reading_time(
    *, timestamp: datetime, started_at: datetime, now: datetime
) -> Anomaly | None:
    """A reading timestamped far ahead of its session's start and of its arrival."""
    if timestamp <= max(now, started_at) + MAX_CLOCK_AHEAD:
        return None
    return Anomaly(
        kind=AnomalyKind.READING_IN_FUTURE,
        detail=(
            f"reading timestamped {timestamp.isoformat()}, received at {now.isoformat()} "
            f"for a session started at {started_at.isoformat()}"
        ),
        timestamp=timestamp,
        value=None,
    )


def advance_register(
    *, trusted: RegisterReading, reading: RegisterReading, max_power_w: int
) -> tuple[RegisterReading, Anomaly | None]:
    """A running session's trusted register after one more reading, and the anomaly the
    reading raised. Only a reading that passes every check becomes the trusted register:
    after a decrease or a jump, billing continues from the last plausible reading."""
    if reading.timestamp <= trusted.timestamp:
        # A late sample: the register can only have been lower (or equal) back then.
        if reading.wh - trusted.wh >= precision_wh(reading, trusted):
            return trusted, Anomaly(
                kind=AnomalyKind.REGISTER_DECREASED,
                detail=(
                    f"a reading of {reading.wh} Wh at {reading.timestamp.isoformat()} is above "
                    f"the later {trusted.wh} Wh at {trusted.timestamp.isoformat()}"
                ),
                timestamp=reading.timestamp,
                value=str(reading.wh),
            )
        return trusted, None
    anomaly = check_register_step(previous=trusted, current=reading, max_power_w=max_power_w)
    if anomaly is not None or reading.wh < trusted.wh:
        return trusted, anomaly  # lower within the meter's precision: keep the higher reading
    return reading, None


def check_after_end(*, end: RegisterReading, reading: RegisterReading) -> Anomaly | None:
    """A reading of a session that has ended (it arrived after the stop) must agree with the
    register the session was billed up to: the same after the end, no higher before it."""
    difference = reading.wh - end.wh
    after = reading.timestamp > end.timestamp
    if abs(difference) < precision_wh(reading, end) or (difference < 0 and not after):
        return None
    where = "after" if after else "before"
    return Anomaly(
        kind=AnomalyKind.CONTRADICTS_STOP,
        detail=(
            f"a reading of {reading.wh} Wh at {reading.timestamp.isoformat()}, {where} the end "
            f"at {end.timestamp.isoformat()}, contradicts the {end.wh} Wh billed"
        ),
        timestamp=reading.timestamp,
        value=str(reading.wh),
    )


@dataclass(frozen=True, slots=True)
class StopJudgement:
    """What a StopTransaction's meterStop proves: the register the session is billed up to
    (meterStop when it is plausible, else the last plausible reading) and the anomalies."""

    billed_end_wh: int
    anomalies: tuple[Anomaly, ...]


def judge_stop(
    *,
    started_at: datetime,
    meter_start_wh: int,
    trusted: RegisterReading,
    stop: RegisterReading,
    max_power_w: int,
) -> StopJudgement:
    """Check meterStop like any reading, against the session's last trusted register."""
    at = stop.timestamp
    start_anomaly = check_register_bounds(wh=meter_start_wh, what="meterStart", timestamp=at)
    if start_anomaly is not None:
        return StopJudgement(billed_end_wh=meter_start_wh, anomalies=(start_anomaly,))
    fallback = max(trusted.wh, meter_start_wh)
    bounds = check_register_bounds(wh=stop.wh, what="meterStop", timestamp=at)
    if bounds is not None:
        return StopJudgement(billed_end_wh=fallback, anomalies=(bounds,))
    if stop.wh < meter_start_wh:
        below = Anomaly(
            kind=AnomalyKind.STOP_BEFORE_START,
            detail=f"meterStop {stop.wh} Wh is below meterStart {meter_start_wh} Wh",
            timestamp=at,
            value=str(stop.wh),
        )
        return StopJudgement(billed_end_wh=fallback, anomalies=(below,))
    if at < started_at:
        # The station's clock put the stop before the start (the session's clock-skew rule
        # deals with the time); with no elapsed time to judge a jump by, compare the values.
        if trusted.wh - stop.wh >= precision_wh(stop, trusted):
            decreased = check_register_step(previous=trusted, current=stop, max_power_w=0)
            assert decreased is not None
            return StopJudgement(billed_end_wh=fallback, anomalies=(decreased,))
        return StopJudgement(billed_end_wh=stop.wh, anomalies=())
    if trusted.timestamp <= at:
        step = check_register_step(previous=trusted, current=stop, max_power_w=max_power_w)
        if step is not None:
            return StopJudgement(billed_end_wh=fallback, anomalies=(step,))
        return StopJudgement(billed_end_wh=stop.wh, anomalies=())
    # The trusted reading is timestamped after the stop: the stop may not be above it.
    if stop.wh - trusted.wh >= precision_wh(stop, trusted):
        above = Anomaly(
            kind=AnomalyKind.REGISTER_DECREASED,
            detail=(
                f"meterStop {stop.wh} Wh is above the later reading of {trusted.wh} Wh at "
                f"{trusted.timestamp.isoformat()}"
            ),
            timestamp=at,
            value=str(stop.wh),
        )
        return StopJudgement(billed_end_wh=fallback, anomalies=(above,))
    return StopJudgement(billed_end_wh=stop.wh, anomalies=())


def stop_key(*, meter_stop_wh: int, timestamp: datetime) -> str:
    """Identifies what a StopTransaction reported: a replay has the same key, a conflicting
    second stop another."""
    text = f"{meter_stop_wh}|{timestamp.isoformat()}"
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


def conflicting_stop(
    *,
    ended_at: datetime | None,
    billed_stop_wh: int | None,
    meter_stop_wh: int,
    timestamp: datetime,
) -> Anomaly:
    """A StopTransaction for a session that has already ended, with both accounts."""
    before = (
        f"meterStop {billed_stop_wh} Wh at {ended_at.isoformat()}"
        if billed_stop_wh is not None and ended_at is not None
        else f"an end at {ended_at.isoformat() if ended_at else 'an unknown time'}"
    )
    return Anomaly(
        kind=AnomalyKind.CONFLICTING_STOP,
        detail=(
            f"a second StopTransaction reports meterStop {meter_stop_wh} Wh at "
            f"{timestamp.isoformat()}; the session had {before}"
        ),
        timestamp=timestamp,
        value=f"{meter_stop_wh}@{timestamp.isoformat()}",
    )
