"""The cars that charge: vehicle profiles, a session's plan, the CC-CV-like power curve and
the per-second charge model that drives a connector's energy register. Pure."""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from evbilling.simulator.errors import MeterWouldRunBackwards
from evbilling.simulator.meter import WATT_SECONDS_PER_WH, EnergyMeter
from evbilling.simulator.settings import SimulationSettings

# The power curve: real AC charging ramps for about a minute, holds, and the car's battery
# management tapers the current above ~80 % SoC (the CV phase of CC-CV).
RAMP_UP_S = 60
TAPER_START_SOC_PERCENT = 80.0
# ~6 A on one phase: the lowest current IEC 61851 lets an AC charger offer; the taper floors
# here so the battery reaches 100 % in finite time instead of approaching it forever.
TRICKLE_POWER_W = 1_400


class StopReason(StrEnum):
    """The OCPP 1.6 StopTransaction reasons the simulator uses (values are the wire values)."""

    LOCAL = "Local"
    EV_DISCONNECTED = "EVDisconnected"
    REMOTE = "Remote"
    DE_AUTHORIZED = "DeAuthorized"
    SOFT_RESET = "SoftReset"
    HARD_RESET = "HardReset"
    UNLOCK_COMMAND = "UnlockCommand"
    OTHER = "Other"


@dataclass(frozen=True, slots=True)
class VehicleProfile:
    name: str
    battery_capacity_wh: int
    max_power_w: int  # the on-board charger's limit
    phases: int  # 1 or 3: how many phases the on-board charger draws from


# A small fleet spanning typical AC on-board chargers (3.7 kW to 22 kW).
VEHICLES: tuple[VehicleProfile, ...] = (
    VehicleProfile(name="city-1ph", battery_capacity_wh=36_000, max_power_w=7_400, phases=1),
    VehicleProfile(name="compact-3ph", battery_capacity_wh=58_000, max_power_w=11_000, phases=3),
    VehicleProfile(name="suv-3ph", battery_capacity_wh=77_000, max_power_w=11_000, phases=3),
    VehicleProfile(name="saloon-22", battery_capacity_wh=95_000, max_power_w=22_000, phases=3),
    VehicleProfile(name="phev-1ph", battery_capacity_wh=14_000, max_power_w=3_700, phases=1),
)


@dataclass(frozen=True, slots=True)
class SessionPlan:
    vehicle: VehicleProfile
    initial_soc_percent: float
    # What the driver wants before leaving; when it exceeds what the battery takes, the car
    # fills up and sits in SuspendedEV for idle_after_full_s.
    target_energy_wh: int
    idle_after_full_s: int
    stop_reason: StopReason  # how the driver ends it: card (Local) or unplugging


def plan_session(
    *,
    rng: random.Random,
    settings: SimulationSettings,
    vehicles: Sequence[VehicleProfile] = VEHICLES,
) -> SessionPlan:
    """Draw a car, its arrival SoC and the driver's intentions from ``rng``."""
    return SessionPlan(
        vehicle=rng.choice(vehicles),
        initial_soc_percent=round(rng.uniform(10.0, 60.0), 1),
        target_energy_wh=rng.randint(*settings.session_energy_wh),
        idle_after_full_s=rng.randint(*settings.idle_after_full_s),
        stop_reason=rng.choice((StopReason.LOCAL, StopReason.EV_DISCONNECTED)),
    )


def charging_power_w(*, limit_w: int, elapsed_s: int, soc_percent: float) -> int:
    """Power drawn during second ``elapsed_s`` of a session (CC-CV-like curve).

    Linear ramp to ``limit_w`` over the first minute, hold, then a linear taper from 80 % SoC
    down to a trickle floor, and nothing once the battery is full.
    """
    if limit_w <= 0 or soc_percent >= 100.0:
        return 0
    power = limit_w * min(1.0, (elapsed_s + 1) / RAMP_UP_S)
    if soc_percent > TAPER_START_SOC_PERCENT:
        taper = (100.0 - soc_percent) / (100.0 - TAPER_START_SOC_PERCENT)
        power = min(power, max(limit_w * taper, min(TRICKLE_POWER_W, limit_w)))
    return max(1, min(limit_w, round(power)))


class ChargeState(StrEnum):
    CHARGING = "Charging"
    SUSPENDED_EV = "SuspendedEV"  # battery full, car still plugged in
    FINISHED = "Finished"  # the driver ended the session


class VehicleChargeModel:
    """One car charging on one connector, advanced in whole simulated seconds.

    Power is constant within each second, so the connector's register grows by exactly the
    integral of the reported power. The session finishes when the driver's target energy is
    delivered, or ``idle_after_full_s`` after the battery became full.
    """

    __slots__ = (
        "_elapsed_s",
        "_full_at_s",
        "_limit_w",
        "_meter",
        "_plan",
        "_power_w",
        "_start_wh",
        "_start_ws",
        "_state",
    )

    def __init__(self, *, plan: SessionPlan, station_max_power_w: int, meter: EnergyMeter) -> None:
        self._plan = plan
        self._limit_w = max(0, min(station_max_power_w, plan.vehicle.max_power_w))
        self._meter = meter
        self._start_ws = meter.watt_seconds
        self._start_wh = meter.register_wh
        self._elapsed_s = 0
        self._power_w = 0
        self._state = ChargeState.CHARGING
        self._full_at_s: int | None = None
        if plan.initial_soc_percent >= 100.0:
            self._become_full()

    @property
    def plan(self) -> SessionPlan:
        return self._plan

    @property
    def limit_w(self) -> int:
        """min(station, vehicle) power: the most the register can grow per second."""
        return self._limit_w

    @property
    def state(self) -> ChargeState:
        return self._state

    @property
    def elapsed_s(self) -> int:
        return self._elapsed_s

    @property
    def full_at_s(self) -> int | None:
        """When the battery became full (SuspendedEV began), in seconds since the start."""
        return self._full_at_s

    @property
    def power_w(self) -> int:
        """The power drawn during the last simulated second."""
        return self._power_w

    @property
    def start_register_wh(self) -> int:
        return self._start_wh

    @property
    def register_wh(self) -> int:
        return self._meter.register_wh

    @property
    def delivered_wh(self) -> int:
        """Energy as billing sees it: the register delta since the session started."""
        return self._meter.register_wh - self._start_wh

    @property
    def soc_percent(self) -> float:
        delivered_ws = self._meter.watt_seconds - self._start_ws
        capacity_ws = self._plan.vehicle.battery_capacity_wh * WATT_SECONDS_PER_WH
        return min(100.0, self._plan.initial_soc_percent + 100.0 * delivered_ws / capacity_ws)

    def advance(self, *, seconds: int) -> int:
        """Move up to ``seconds`` forward; returns how many passed before the session finished."""
        if seconds < 0:
            raise MeterWouldRunBackwards(f"time only moves forward: {seconds}")
        advanced = 0
        while advanced < seconds and self._state is not ChargeState.FINISHED:
            budget = seconds - advanced
            if self._state is ChargeState.CHARGING:
                advanced += self._charge(budget=budget)
            else:
                advanced += self._idle(budget=budget)
        return advanced

    def _charge(self, *, budget: int) -> int:
        power = charging_power_w(
            limit_w=self._limit_w, elapsed_s=self._elapsed_s, soc_percent=self.soc_percent
        )
        stride = self._constant_power_stride(budget=budget, power_w=power)
        self._meter.add(power_w=power, seconds=stride)
        self._power_w = power
        self._elapsed_s += stride
        if self.delivered_wh >= self._plan.target_energy_wh:
            self._state = ChargeState.FINISHED
        elif self.soc_percent >= 100.0 or power == 0:
            self._become_full()
        return stride

    def _constant_power_stride(self, *, budget: int, power_w: int) -> int:
        """Seconds that can be taken at once: one during ramp and taper, many while holding.

        Holding power is constant until the taper starts or the target is met, so a long stride
        adds exactly what the same number of one-second steps would.
        """
        holding = self._elapsed_s >= RAMP_UP_S and self.soc_percent < TAPER_START_SOC_PERCENT
        if not holding or power_w <= 0:
            return 1
        target_ws = (self._start_wh + self._plan.target_energy_wh) * WATT_SECONDS_PER_WH
        to_target_ws = target_ws - self._meter.watt_seconds
        capacity_ws = self._plan.vehicle.battery_capacity_wh * WATT_SECONDS_PER_WH
        taper_soc = TAPER_START_SOC_PERCENT - self._plan.initial_soc_percent
        to_taper_ws = math.ceil(taper_soc / 100.0 * capacity_ws) - (
            self._meter.watt_seconds - self._start_ws
        )
        needed_ws = max(1, min(to_target_ws, to_taper_ws))
        return max(1, min(budget, -(-needed_ws // power_w)))

    def _idle(self, *, budget: int) -> int:
        # Nothing flows while the car is full: jump straight to the driver's return.
        full_at = self._full_at_s if self._full_at_s is not None else self._elapsed_s
        remaining = full_at + self._plan.idle_after_full_s - self._elapsed_s
        stride = max(0, min(budget, remaining))
        self._elapsed_s += stride
        self._power_w = 0
        if self._elapsed_s >= full_at + self._plan.idle_after_full_s:
            self._state = ChargeState.FINISHED
        return stride

    def _become_full(self) -> None:
        self._full_at_s = self._elapsed_s
        self._power_w = 0
        self._state = (
            ChargeState.SUSPENDED_EV if self._plan.idle_after_full_s > 0 else ChargeState.FINISHED
        )
