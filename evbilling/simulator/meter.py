"""A connector's energy register and what its meter reports: readings with per-phase
current and voltage, and the OCPP 1.6 MeterValue payloads built from them. Pure."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ocpp.v16.enums import Location, Measurand, Phase, ReadingContext, UnitOfMeasure, ValueFormat

from evbilling.simulator.errors import InvalidSimulationConfig, MeterWouldRunBackwards

NOMINAL_VOLTAGE_V = 230.0
VOLTAGE_NOISE_SD_V = 1.5
WATT_SECONDS_PER_WH = 3_600


class EnergyMeter:
    """A connector's lifetime import register.

    Counts integer watt-seconds, so energy integrates power exactly and the Wh register is the
    floor of the true energy: it never decreases and never rounds up ahead of the energy.
    """

    __slots__ = ("_watt_seconds",)

    def __init__(self, *, initial_wh: int = 0) -> None:
        if initial_wh < 0:
            raise MeterWouldRunBackwards(f"a register starts at zero or more: {initial_wh}")
        self._watt_seconds = initial_wh * WATT_SECONDS_PER_WH

    @property
    def watt_seconds(self) -> int:
        return self._watt_seconds

    @property
    def register_wh(self) -> int:
        return self._watt_seconds // WATT_SECONDS_PER_WH

    def add(self, *, power_w: int, seconds: int) -> None:
        if power_w < 0 or seconds < 0:
            raise MeterWouldRunBackwards(f"cannot add {power_w} W for {seconds} s")
        self._watt_seconds += power_w * seconds


@dataclass(frozen=True, slots=True)
class MeterReading:
    """What the station's meter and the car report at one instant."""

    register_wh: int
    power_w: int
    currents_a: tuple[float, float, float]  # L1, L2, L3
    voltages_v: tuple[float, float, float]  # L1-N, L2-N, L3-N
    soc_percent: int


def read_meter(
    *, register_wh: int, power_w: int, phases: int, soc_percent: float, rng: random.Random
) -> MeterReading:
    """A reading with ~230 V per phase (small noise) and the current that carries ``power_w``."""

    def voltage() -> float:
        return round(NOMINAL_VOLTAGE_V + rng.gauss(0.0, VOLTAGE_NOISE_SD_V), 1)

    def current(phase_index: int, volts: float) -> float:
        return round(power_w / phases / volts, 2) if phase_index < phases else 0.0

    v1, v2, v3 = voltage(), voltage(), voltage()
    return MeterReading(
        register_wh=register_wh,
        power_w=power_w,
        currents_a=(current(0, v1), current(1, v2), current(2, v3)),
        voltages_v=(v1, v2, v3),
        soc_percent=math.floor(soc_percent),  # a car shows 100 % only when truly full
    )


def format_timestamp(moment: datetime) -> str:
    """RFC 3339 in UTC with a 'Z' and milliseconds, as OCPP stations send it."""
    if moment.tzinfo is None:
        raise InvalidSimulationConfig("timestamps must be timezone-aware")
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _sampled_value(
    *,
    value: str,
    context: str,
    measurand: str,
    unit: str,
    phase: str | None = None,
    location: str = Location.outlet,
) -> dict[str, str]:
    sampled = {
        "value": value,
        "context": context,
        "format": ValueFormat.raw,
        "measurand": measurand,
        "location": location,
        "unit": unit,
    }
    if phase is not None:
        sampled["phase"] = phase
    return sampled


def sampled_meter_value(
    *, reading: MeterReading, at: datetime, context: str = ReadingContext.sample_periodic
) -> dict[str, Any]:
    """A full MeterValue: register, power, current and voltage per phase, and the car's SoC."""
    values = [
        _sampled_value(
            value=str(reading.register_wh),
            context=context,
            measurand=Measurand.energy_active_import_register,
            unit=UnitOfMeasure.wh,
        ),
        _sampled_value(
            value=str(reading.power_w),
            context=context,
            measurand=Measurand.power_active_import,
            unit=UnitOfMeasure.w,
        ),
    ]
    for phase, amps in zip((Phase.l1, Phase.l2, Phase.l3), reading.currents_a, strict=True):
        values.append(
            _sampled_value(
                value=f"{amps:.2f}",
                context=context,
                measurand=Measurand.current_import,
                unit=UnitOfMeasure.a,
                phase=phase,
            )
        )
    for phase, volts in zip((Phase.l1_n, Phase.l2_n, Phase.l3_n), reading.voltages_v, strict=True):
        values.append(
            _sampled_value(
                value=f"{volts:.1f}",
                context=context,
                measurand=Measurand.voltage,
                unit=UnitOfMeasure.v,
                phase=phase,
            )
        )
    values.append(
        _sampled_value(
            value=str(reading.soc_percent),
            context=context,
            measurand=Measurand.soc,
            unit=UnitOfMeasure.percent,
            location=Location.ev,
        )
    )
    return {"timestamp": format_timestamp(at), "sampledValue": values}


def register_meter_value(*, register_wh: int, at: datetime, context: str) -> dict[str, Any]:
    """A MeterValue with the energy register only (Transaction.Begin / Transaction.End)."""
    value = _sampled_value(
        value=str(register_wh),
        context=context,
        measurand=Measurand.energy_active_import_register,
        unit=UnitOfMeasure.wh,
    )
    return {"timestamp": format_timestamp(at), "sampledValue": [value]}
