"""From what a station reported to what the rating engine prices (pure).

A session's evidence is its meterStart and meterStop, the MeterValues readings stored with it
(sampled values as sent) and the connector's status history. This module turns them into the
engine's inputs:

- the energy register series: meterStart at the start, every plausible register reading in
  between, the billed end at the stop; never decreasing. A reading is plausible when it is
  readable and held by a meter, not below the last plausible reading, not above the billed
  end, and (when the EVSE's power is known) not grown faster than that power allows since
  the last plausible reading: the rule of `plausibility.advance_register`, so a reading
  recorded as an anomaly is never billed;
- power (kW) and current (A) samples, for power and current restrictions: a reading's value
  is the sum of its line phases (L1, L2, L3; for power also L1-N, L2-N, L3-N, the same lines),
  or, when it reports no line phase, its value without a phase (the overall value); the two
  are never added, and neither the neutral conductor nor line-to-line values count. Only what
  flows to the car counts (location Outlet, the default, Cable or EV; not the station's
  Inlet or Body);
- idle intervals: time in SuspendedEV, SuspendedEVSE or Finishing, when the car occupies the
  connector without charging, which the tariff may bill as parking time; and, when the
  evidence reaches past the stop (`charged_until`: priced until the car left), all of the time
  from the stop to the end.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation

from evbilling.charging.domain import ENERGY_REGISTER, RegisterReading, register_wh
from evbilling.charging.plausibility import advance_register
from evbilling.rating.engine import (
    ChargingPeriodInput,
    CurrentSample,
    IdleInterval,
    MeterSample,
    PeriodKind,
    PowerSample,
    build_periods,
)

IDLE_STATUSES = frozenset({"SuspendedEV", "SuspendedEVSE", "Finishing"})
_POWER = "Power.Active.Import"
_CURRENT = "Current.Import"
# The line a phase value belongs to (current: L1-L3; power: also line-to-neutral L1-N...).
_CURRENT_LINES = {"L1": 1, "L2": 2, "L3": 3}
_POWER_LINES = {**_CURRENT_LINES, "L1-N": 1, "L2-N": 2, "L3-N": 3}
_TO_THE_CAR = frozenset({"Outlet", "Cable", "EV"})
_KILO = Decimal(1000)


@dataclass(frozen=True, slots=True)
class Reading:
    """One MeterValue element: its timestamp and sampled values (OCPP field names)."""

    timestamp: datetime
    sampled_values: Sequence[Mapping[str, str]]


@dataclass(frozen=True, slots=True)
class StatusChange:
    timestamp: datetime
    status: str


@dataclass(frozen=True, slots=True)
class SessionEvidence:
    started_at: datetime
    ended_at: datetime
    # The register the session is billed up to: a plausible meterStop, or the last
    # plausible reading (stop_evidence.settle_stop decides).
    meter_start_wh: int
    meter_end_wh: int
    readings: Sequence[Reading] = ()
    statuses: Sequence[StatusChange] = ()
    # The EVSE's power limit, for the jump check; None when unknown (no check).
    max_power_w: int | None = None
    # When charging ended (the stop) if the evidence runs on to `ended_at`, the moment the car
    # left the connector: [charged_until, ended_at) is idle, with no energy. None: ended_at.
    charged_until: datetime | None = None


def _number(text: str) -> Decimal | None:
    try:
        value = Decimal(text)
    except InvalidOperation:
        return None
    return value if value.is_finite() else None


def _is_total_register(sampled: Mapping[str, str]) -> bool:
    return (
        sampled.get("measurand", ENERGY_REGISTER) == ENERGY_REGISTER
        and "phase" not in sampled
        and sampled.get("location", "Outlet") == "Outlet"
        and sampled.get("format", "Raw") == "Raw"
    )


def _power_kw(sampled: Mapping[str, str]) -> Decimal | None:
    value = _number(sampled["value"])
    if value is None:
        return None
    unit = sampled.get("unit", "W")
    return value / _KILO if unit == "W" else value if unit == "kW" else None


def _amperes(sampled: Mapping[str, str]) -> Decimal | None:
    return _number(sampled["value"]) if sampled.get("unit", "A") == "A" else None


class _PhaseValues:
    """One reading's values of a measurand: per line, and the overall one (no phase)."""

    __slots__ = ("lines", "overall")

    def __init__(self) -> None:
        self.lines: dict[int, Decimal] = {}
        self.overall: Decimal | None = None

    def add(self, sampled: Mapping[str, str], value: Decimal | None, lines: dict[str, int]) -> None:
        if value is None or sampled.get("location", "Outlet") not in _TO_THE_CAR:
            return
        phase = sampled.get("phase")
        if phase is None:
            self.overall = value
        elif phase in lines:
            self.lines[lines[phase]] = value  # L1 and L1-N are one line: never both

    def total(self) -> Decimal | None:
        """The line phases summed; the overall value only when no line phase was reported."""
        if self.lines:
            return sum(self.lines.values(), Decimal(0))
        return self.overall


def periods_for(evidence: SessionEvidence) -> list[ChargingPeriodInput]:
    """The rating engine's charging periods for a session (see the module docstring)."""
    start, end = evidence.started_at, max(evidence.ended_at, evidence.started_at)
    charged = end if evidence.charged_until is None else min(end, evidence.charged_until)
    charged = max(charged, start)
    registers = [MeterSample(at=start, energy_wh=evidence.meter_start_wh)]
    powers: list[PowerSample] = []
    currents: list[CurrentSample] = []
    trusted = RegisterReading(timestamp=start, wh=evidence.meter_start_wh)
    for reading in sorted(evidence.readings, key=lambda r: r.timestamp):
        at = reading.timestamp
        if not start < at < charged:
            continue  # outside the session, or at its edges where start/stop values rule
        amperes, kilowatts = _PhaseValues(), _PhaseValues()
        for sampled in reading.sampled_values:
            measurand = sampled.get("measurand", ENERGY_REGISTER)
            if measurand == ENERGY_REGISTER:
                if not _is_total_register(sampled):
                    continue
                plausible = _plausible(sampled, at=at, trusted=trusted, evidence=evidence)
                if plausible is not None:
                    trusted = plausible
                    if registers[-1].at == at:
                        registers[-1] = MeterSample(at=at, energy_wh=plausible.wh)
                    else:
                        registers.append(MeterSample(at=at, energy_wh=plausible.wh))
            elif measurand == _POWER:
                kilowatts.add(sampled, _power_kw(sampled), _POWER_LINES)
            elif measurand == _CURRENT:
                amperes.add(sampled, _amperes(sampled), _CURRENT_LINES)
        if (kw := kilowatts.total()) is not None:
            powers.append(PowerSample(at=at, kw=kw))
        if (ampere_total := amperes.total()) is not None:
            currents.append(CurrentSample(at=at, amperes=ampere_total))
    final = max(evidence.meter_end_wh, trusted.wh)
    if charged > registers[-1].at:
        registers.append(MeterSample(at=charged, energy_wh=final))
    idle = idle_intervals(statuses=evidence.statuses, start=start, end=charged)
    if end > charged:
        idle.append(IdleInterval(start=charged, end=end))  # stopped, still plugged in
    return build_periods(
        meter_samples=registers,
        end=end,
        power_samples=powers,
        current_samples=currents,
        idle_intervals=idle,
    )


def _plausible(
    sampled: Mapping[str, str],
    *,
    at: datetime,
    trusted: RegisterReading,
    evidence: SessionEvidence,
) -> RegisterReading | None:
    """The register reading if it may be billed (see the module docstring), else None."""
    wh = register_wh(value=sampled["value"], unit=sampled.get("unit"))
    if not isinstance(wh, int) or not trusted.wh <= wh <= evidence.meter_end_wh:
        return None
    reading = RegisterReading(timestamp=at, wh=wh)
    if evidence.max_power_w is None:
        return reading
    advanced, _ = advance_register(
        trusted=trusted, reading=reading, max_power_w=evidence.max_power_w
    )
    return reading if advanced is reading else None


def idle_intervals(
    *, statuses: Sequence[StatusChange], start: datetime, end: datetime
) -> list[IdleInterval]:
    """Spans within [start, end) that the connector spent occupied but not charging."""
    ordered = sorted(statuses, key=lambda s: s.timestamp)
    intervals: list[IdleInterval] = []
    followers: list[StatusChange | None] = [*ordered[1:], None]
    for change, following in zip(ordered, followers[: len(ordered)], strict=True):
        if change.status not in IDLE_STATUSES:
            continue
        until = following.timestamp if following is not None else end
        lower, upper = max(change.timestamp, start), min(until, end)
        if lower < upper:
            intervals.append(IdleInterval(start=lower, end=upper))
    return intervals


# -- the periods a session was rated from, kept with it --------------------------------------
# Compact rows [start, kind, kWh, min A, max A, min kW, max kW] (decimals as exact strings):
# re-rating a finished session reads one value instead of all of its meter readings, and
# stays possible after raw readings are pruned.


def encode_periods(periods: Sequence[ChargingPeriodInput]) -> list[list[str | None]]:
    return [
        [
            period.start.isoformat(),
            period.kind.value,
            str(period.energy_kwh),
            _text(period.min_current),
            _text(period.max_current),
            _text(period.min_power),
            _text(period.max_power),
        ]
        for period in periods
    ]


def decode_periods(rows: Sequence[Sequence[str | None]]) -> list[ChargingPeriodInput]:
    return [
        ChargingPeriodInput(
            datetime.fromisoformat(str(row[0])),
            PeriodKind(str(row[1])),
            Decimal(str(row[2])),
            _decimal(row[3]),
            _decimal(row[4]),
            _decimal(row[5]),
            _decimal(row[6]),
        )
        for row in rows
    ]


def _text(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _decimal(value: str | None) -> Decimal | None:
    return None if value is None else Decimal(value)
