"""OCPP 1.6J charging-station simulator: a demo driver and a load generator for the CSMS.

Each simulated station connects over WebSocket (subprotocol ``ocpp1.6``, HTTP Basic auth as in
OCPP security profile 1), boots, reports its connectors and runs charging sessions whose meter
readings come from a small pure vehicle model: ramp-up, constant power, taper above ~80 % SoC,
then SuspendedEV once the battery is full. Time is simulated: messages carry simulated
timestamps that start at wall-clock now and advance ``time_scale`` times faster than the wall.

The pure part (``VehicleChargeModel``, ``EnergyMeter``, ``charging_power_w``, ``read_meter``,
the meter-value builders, ``ScaledClock``) is separate from the network part so it can be
tested without sockets.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import math
import random
import re
import time
from collections import Counter, deque
from collections.abc import Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any, TypeVar
from urllib.parse import quote

from ocpp.exceptions import OCPPError, UnknownCallErrorCodeError, ValidationError
from ocpp.routing import after as ocpp_after
from ocpp.routing import on as ocpp_on
from ocpp.v16 import ChargePoint, call, call_result
from ocpp.v16.datatypes import KeyValue
from ocpp.v16.enums import (
    Action,
    AuthorizationStatus,
    AvailabilityStatus,
    ChargePointErrorCode,
    ChargePointStatus,
    ClearCacheStatus,
    ConfigurationStatus,
    DataTransferStatus,
    DiagnosticsStatus,
    FirmwareStatus,
    Location,
    Measurand,
    MessageTrigger,
    Phase,
    ReadingContext,
    RegistrationStatus,
    RemoteStartStopStatus,
    ResetStatus,
    ResetType,
    TriggerMessageStatus,
    UnitOfMeasure,
    UnlockStatus,
    ValueFormat,
)
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus, InvalidURI
from websockets.typing import Subprotocol

from evbilling.infra.logging import get_logger, pseudonymize
from evbilling.kit import EVBillingError

__all__ = [
    "VEHICLES",
    "ChargeState",
    "EnergyMeter",
    "ErrorKind",
    "EventKind",
    "InvalidSimulationConfig",
    "MessageError",
    "MessageFailed",
    "MeterReading",
    "MeterWouldRunBackwards",
    "ScaledClock",
    "SessionOrigin",
    "SessionOutcome",
    "SessionPlan",
    "SessionRecord",
    "SimulatedStationConfig",
    "SimulationEvent",
    "SimulationReport",
    "SimulationSettings",
    "StationOutcome",
    "StationReport",
    "StopReason",
    "VehicleChargeModel",
    "VehicleProfile",
    "charging_power_w",
    "format_timestamp",
    "plan_session",
    "read_meter",
    "register_meter_value",
    "run_simulation",
    "sampled_meter_value",
    "stations_from_options",
]

_log = get_logger(__name__)

OCPP16_SUBPROTOCOL = Subprotocol("ocpp1.6")
CHARGE_POINT_VENDOR = "evbilling"
CHARGE_POINT_MODEL = "SIM-AC"
FIRMWARE_VERSION = "sim-1.0"

# The power curve: real AC charging ramps for about a minute, holds, and the car's battery
# management tapers the current above ~80 % SoC (the CV phase of CC-CV).
RAMP_UP_S = 60
TAPER_START_SOC_PERCENT = 80.0
# ~6 A on one phase: the lowest current IEC 61851 lets an AC charger offer; the taper floors
# here so the battery reaches 100 % in finite time instead of approaching it forever.
TRICKLE_POWER_W = 1_400
NOMINAL_VOLTAGE_V = 230.0
VOLTAGE_NOISE_SD_V = 1.5
WATT_SECONDS_PER_WH = 3_600

# Used when BootNotification answers Pending/Rejected with interval 0 (the spec leaves it open).
DEFAULT_BOOT_RETRY_S = 60
_ID_TAG_MAX_LENGTH = 20  # OCPP 1.6 IdToken is CiString20


class InvalidSimulationConfig(EVBillingError):
    """A station config or simulation setting cannot be simulated (empty id, bad range...)."""


class MeterWouldRunBackwards(EVBillingError):
    """An energy register was asked to add negative energy; registers only ever grow."""


class MessageFailed(EVBillingError):
    """A CALL to the CSMS got a CALLERROR or no answer in time (already in the report)."""

    def __init__(self, *, action: str, kind: ErrorKind, detail: str) -> None:
        super().__init__(f"{action}: {kind}: {detail}")
        self.action = action
        self.kind = kind
        self.detail = detail


# --------------------------------------------------------------------------------------------
# Configuration
# --------------------------------------------------------------------------------------------


def _check_range(name: str, bounds: tuple[int, int], *, minimum: int) -> None:
    low, high = bounds
    if low < minimum or high < low:
        raise InvalidSimulationConfig(f"{name} must be a range {minimum} <= low <= high: {bounds}")


@dataclass(frozen=True, slots=True, kw_only=True)
class SimulatedStationConfig:
    """One charging station to simulate."""

    station_id: str
    password: str | None
    connectors: int = 2
    max_power_w: int = 22_000
    id_tags: tuple[str, ...]

    def __post_init__(self) -> None:
        if not self.station_id or "/" in self.station_id:
            raise InvalidSimulationConfig(f"station id must be non-empty: {self.station_id!r}")
        if self.connectors < 1:
            raise InvalidSimulationConfig(f"a station needs connectors: {self.connectors}")
        if self.max_power_w < 1:
            raise InvalidSimulationConfig(f"max power must be positive: {self.max_power_w}")
        if not self.id_tags:
            raise InvalidSimulationConfig("a station needs at least one idTag to charge with")
        for tag in self.id_tags:
            if not tag or len(tag) > _ID_TAG_MAX_LENGTH:
                raise InvalidSimulationConfig(f"an idTag has 1 to 20 characters: {tag!r}")


@dataclass(frozen=True, slots=True, kw_only=True)
class SimulationSettings:
    """How the stations behave. Durations are simulated seconds unless named ``*_wall_s``."""

    sessions_per_station: int
    # Simulated seconds per wall second: 60.0 runs a 30-minute session in 30 s.
    time_scale: float = 60.0
    meter_interval_s: tuple[int, int] = (10, 60)
    session_energy_wh: tuple[int, int] = (5_000, 40_000)
    pause_between_sessions_s: tuple[int, int] = (30, 300)
    # SuspendedEV time once the car is full and still plugged in: billable idle time later.
    idle_after_full_s: tuple[int, int] = (300, 1_800)
    seed: int | None = None
    # Used until BootNotification returns an interval (and when it returns 0).
    heartbeat_interval_s: int = 300
    # A floor on wall time between heartbeats, so heavy compression does not flood the server.
    min_heartbeat_wall_s: float = 1.0
    boot_attempts: int = 5
    response_timeout_wall_s: float = 30.0
    connect_timeout_wall_s: float = 10.0
    # Stay connected after the planned sessions, answering commands (e.g. a remote start).
    linger_after_sessions_s: int = 0

    def __post_init__(self) -> None:
        if self.sessions_per_station < 0:
            raise InvalidSimulationConfig("sessions per station cannot be negative")
        if not self.time_scale > 0:
            raise InvalidSimulationConfig(f"time scale must be positive: {self.time_scale}")
        _check_range("meter_interval_s", self.meter_interval_s, minimum=1)
        _check_range("session_energy_wh", self.session_energy_wh, minimum=1)
        _check_range("pause_between_sessions_s", self.pause_between_sessions_s, minimum=0)
        _check_range("idle_after_full_s", self.idle_after_full_s, minimum=0)
        if self.heartbeat_interval_s < 1 or self.boot_attempts < 1:
            raise InvalidSimulationConfig("heartbeat interval and boot attempts must be >= 1")
        if self.response_timeout_wall_s <= 0 or self.connect_timeout_wall_s <= 0:
            raise InvalidSimulationConfig("timeouts must be positive")
        if self.min_heartbeat_wall_s < 0 or self.linger_after_sessions_s < 0:
            raise InvalidSimulationConfig("durations cannot be negative")


def stations_from_options(
    *,
    count: int,
    id_prefix: str,
    password: str | None,
    id_tags: Sequence[str],
    connectors: int,
) -> list[SimulatedStationConfig]:
    """Station configs for the CLI: ``count=2, id_prefix="DEMO-"`` gives DEMO-1 and DEMO-2.

    The idTags are shared out: each station starts its round-robin at its own share of the
    list, so that with enough tags no two stations charge with the same card at once (the CSMS
    would answer ConcurrentTx, as it should).
    """
    if count < 0:
        raise InvalidSimulationConfig(f"station count cannot be negative: {count}")
    return [
        SimulatedStationConfig(
            station_id=f"{id_prefix}{number}",
            password=password,
            connectors=connectors,
            id_tags=rotated(id_tags, by=(number - 1) * len(id_tags) // count),
        )
        for number in range(1, count + 1)
    ]


def rotated(items: Sequence[str], *, by: int) -> tuple[str, ...]:
    if not items:
        return ()
    shift = by % len(items)
    return (*items[shift:], *items[:shift])


# --------------------------------------------------------------------------------------------
# Pure model: vehicles, power curve, energy register, meter readings, simulated time
# --------------------------------------------------------------------------------------------


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


class ScaledClock:
    """Simulated time: starts at ``origin`` and runs ``time_scale`` times faster than the wall.

    Derived from one monotonic clock, so every station and session reads the same timeline,
    energy always matches elapsed simulated time, and consecutive sessions never overlap.
    """

    __slots__ = ("_monotonic", "_origin", "_started", "_time_scale")

    def __init__(
        self,
        *,
        origin: datetime,
        time_scale: float,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if origin.tzinfo is None:
            raise InvalidSimulationConfig("the simulated clock needs an aware origin")
        self._origin = origin.astimezone(UTC)
        self._time_scale = time_scale
        self._monotonic = monotonic
        self._started = monotonic()

    @property
    def time_scale(self) -> float:
        return self._time_scale

    def now(self) -> datetime:
        elapsed_wall = self._monotonic() - self._started
        return self._origin + timedelta(seconds=elapsed_wall * self._time_scale)

    def wall_seconds(self, simulated_seconds: float) -> float:
        return max(0.0, simulated_seconds / self._time_scale)


# --------------------------------------------------------------------------------------------
# Report and progress events
# --------------------------------------------------------------------------------------------


class SessionOrigin(StrEnum):
    LOCAL = "local"  # a driver presented a card at the station
    REMOTE = "remote"  # RemoteStartTransaction from the CSMS


class SessionOutcome(StrEnum):
    COMPLETED = "completed"
    AUTHORIZATION_REJECTED = "authorization_rejected"  # Authorize not Accepted: no transaction
    DEAUTHORIZED = "deauthorized"  # StartTransaction idTagInfo not Accepted: stopped at once
    FAILED = "failed"  # a transaction message got a CALLERROR or no answer


class ErrorKind(StrEnum):
    CALL_ERROR = "call_error"
    TIMEOUT = "timeout"


class StationOutcome(StrEnum):
    COMPLETED = "completed"
    CONNECTION_REFUSED = "connection_refused"  # the server answered the upgrade with HTTP 4xx/5xx
    CONNECTION_FAILED = "connection_failed"  # no WebSocket: network error, bad URL, subprotocol
    CONNECTION_LOST = "connection_lost"
    BOOT_REJECTED = "boot_rejected"
    STOPPED = "stopped"  # asked to stop before its sessions were done
    FAILED = "failed"  # a bug in the simulator; see detail and the logs


class EventKind(StrEnum):
    CONNECTED = "connected"
    CONNECTION_REFUSED = "connection_refused"
    CONNECTION_FAILED = "connection_failed"
    DISCONNECTED = "disconnected"
    BOOT_ACCEPTED = "boot_accepted"
    BOOT_NOT_ACCEPTED = "boot_not_accepted"
    AUTHORIZATION_REJECTED = "authorization_rejected"
    SESSION_STARTED = "session_started"
    SESSION_SUSPENDED = "session_suspended"
    SESSION_STOPPED = "session_stopped"
    COMMAND_RECEIVED = "command_received"
    MESSAGE_FAILED = "message_failed"


@dataclass(frozen=True, slots=True)
class SimulationEvent:
    """Progress for a live display. Carries no idTags."""

    kind: EventKind
    station_id: str
    at: datetime  # simulated time
    connector_id: int | None = None
    transaction_id: int | None = None
    energy_wh: int | None = None
    detail: str = ""


@dataclass(frozen=True, slots=True)
class MessageError:
    action: str
    kind: ErrorKind
    detail: str
    at: datetime  # simulated time


@dataclass(frozen=True, slots=True)
class SessionRecord:
    connector_id: int
    id_tag: str
    origin: SessionOrigin
    outcome: SessionOutcome
    transaction_id: int | None = None
    meter_start_wh: int | None = None
    meter_stop_wh: int | None = None
    started_at: datetime | None = None
    stopped_at: datetime | None = None
    stop_reason: StopReason | None = None
    meter_values_sent: int = 0

    @property
    def energy_wh(self) -> int:
        if self.meter_start_wh is None or self.meter_stop_wh is None:
            return 0
        return self.meter_stop_wh - self.meter_start_wh


@dataclass(frozen=True, slots=True)
class StationReport:
    station_id: str
    outcome: StationOutcome
    sessions: tuple[SessionRecord, ...] = ()
    messages_sent: Mapping[str, int] = field(default_factory=dict)  # by action
    commands_received: Mapping[str, int] = field(default_factory=dict)  # by action
    errors: tuple[MessageError, ...] = ()
    http_status: int | None = None
    detail: str = ""

    @property
    def sessions_completed(self) -> int:
        return sum(1 for s in self.sessions if s.outcome is SessionOutcome.COMPLETED)

    @property
    def transaction_ids(self) -> tuple[int, ...]:
        return tuple(s.transaction_id for s in self.sessions if s.transaction_id is not None)

    @property
    def energy_wh(self) -> int:
        return sum(s.energy_wh for s in self.sessions)

    @property
    def rejections(self) -> tuple[SessionRecord, ...]:
        rejected = {SessionOutcome.AUTHORIZATION_REJECTED, SessionOutcome.DEAUTHORIZED}
        return tuple(s for s in self.sessions if s.outcome in rejected)

    @property
    def total_messages_sent(self) -> int:
        return sum(self.messages_sent.values())


@dataclass(frozen=True, slots=True)
class SimulationReport:
    stations: tuple[StationReport, ...]
    started_at: datetime  # wall clock
    finished_at: datetime  # wall clock

    @property
    def sessions_completed(self) -> int:
        return sum(s.sessions_completed for s in self.stations)

    @property
    def energy_wh(self) -> int:
        return sum(s.energy_wh for s in self.stations)

    @property
    def messages_sent(self) -> int:
        return sum(s.total_messages_sent for s in self.stations)


# --------------------------------------------------------------------------------------------
# The OCPP edge: one ChargePoint per station
# --------------------------------------------------------------------------------------------

_Handler = TypeVar("_Handler", bound=Callable[..., Any])


def _on(action: str) -> Callable[[_Handler], _Handler]:
    """``ocpp.routing.on`` with a type, so mypy keeps the handlers' signatures."""
    decorator: Callable[[_Handler], _Handler] = ocpp_on(action)
    return decorator


def _after(action: str) -> Callable[[_Handler], _Handler]:
    decorator: Callable[[_Handler], _Handler] = ocpp_after(action)
    return decorator


_ID_TAG_IN_FRAME = re.compile(
    r"""(["'](?:parentIdTag|idTag|parent_id_tag|id_tag)["']\s*:\s*["'])([^"']*)"""
)


def _redact_id_tags(text: str) -> str:
    return _ID_TAG_IN_FRAME.sub(lambda m: m.group(1) + pseudonymize(m.group(2)), text)


class _WireLogger:
    """The ocpp library logs every frame at INFO, and frames carry RFID idTags: re-log them at
    DEBUG with the tags pseudonymized; warnings and errors keep their level."""

    __slots__ = ("_logger",)

    def __init__(self) -> None:
        self._logger = logging.getLogger(f"{__name__}.wire")

    def _log(self, level: int, msg: object, args: tuple[object, ...], exc_info: bool) -> None:
        if not self._logger.isEnabledFor(level):
            return
        try:
            text = str(msg) % args if args else str(msg)
        except (TypeError, ValueError):
            text = " ".join(str(part) for part in (msg, *args))
        self._logger.log(level, "%s", _redact_id_tags(text), exc_info=exc_info)

    def debug(self, msg: object, *args: object, **_: object) -> None:
        self._log(logging.DEBUG, msg, args, False)

    def info(self, msg: object, *args: object, **_: object) -> None:
        self._log(logging.DEBUG, msg, args, False)

    def warning(self, msg: object, *args: object, **_: object) -> None:
        self._log(logging.WARNING, msg, args, False)

    def error(self, msg: object, *args: object, **_: object) -> None:
        self._log(logging.ERROR, msg, args, False)

    def exception(self, msg: object, *args: object, **_: object) -> None:
        self._log(logging.ERROR, msg, args, True)


_WIRE_LOGGER = _WireLogger()


class _SimulatedChargePoint(ChargePoint):  # type: ignore[misc]  # ocpp ships no type hints
    """Translates CSMS commands into calls on the station; the behaviour lives in _Station.

    Replies go out first; anything the command causes (a session, a triggered message) runs in
    an ``@after`` hook, because the reader task must stay free to receive the answers to it.
    """

    def __init__(self, *, station: _Station, connection: ClientConnection) -> None:
        super().__init__(
            station.station_id,
            connection,
            response_timeout=station.settings.response_timeout_wall_s,
            logger=_WIRE_LOGGER,
        )
        self._station = station

    @_on(Action.remote_start_transaction)
    def on_remote_start_transaction(
        self, id_tag: str, connector_id: int | None = None, **_: Any
    ) -> Any:
        self._station.command_received(Action.remote_start_transaction)
        accepted = self._station.reserve_remote_start(id_tag=id_tag, connector_id=connector_id)
        status = RemoteStartStopStatus.accepted if accepted else RemoteStartStopStatus.rejected
        return call_result.RemoteStartTransaction(status=status)

    @_after(Action.remote_start_transaction)
    def after_remote_start_transaction(self, **_: Any) -> None:
        self._station.begin_reserved_remote_starts()

    @_on(Action.remote_stop_transaction)
    def on_remote_stop_transaction(self, transaction_id: int, **_: Any) -> Any:
        self._station.command_received(Action.remote_stop_transaction)
        stopping = self._station.stop_transaction(
            transaction_id=transaction_id, reason=StopReason.REMOTE
        )
        status = RemoteStartStopStatus.accepted if stopping else RemoteStartStopStatus.rejected
        return call_result.RemoteStopTransaction(status=status)

    @_on(Action.reset)
    def on_reset(self, type: str, **_: Any) -> Any:
        self._station.command_received(Action.reset)
        return call_result.Reset(status=ResetStatus.accepted)

    @_after(Action.reset)
    def after_reset(self, type: str, **_: Any) -> None:
        # OCPP 1.6 5.14: ongoing transactions are stopped before the reset.
        hard = type == ResetType.hard
        self._station.stop_all(reason=StopReason.HARD_RESET if hard else StopReason.SOFT_RESET)

    @_on(Action.unlock_connector)
    def on_unlock_connector(self, connector_id: int, **_: Any) -> Any:
        self._station.command_received(Action.unlock_connector)
        if not self._station.has_connector(connector_id):
            return call_result.UnlockConnector(status=UnlockStatus.not_supported)
        return call_result.UnlockConnector(status=UnlockStatus.unlocked)

    @_after(Action.unlock_connector)
    def after_unlock_connector(self, connector_id: int, **_: Any) -> None:
        # OCPP 1.6 5.17: unlocking during a transaction stops it with reason UnlockCommand.
        self._station.stop_connector(connector_id=connector_id, reason=StopReason.UNLOCK_COMMAND)

    @_on(Action.change_availability)
    def on_change_availability(self, connector_id: int, type: str, **_: Any) -> Any:
        self._station.command_received(Action.change_availability)
        return call_result.ChangeAvailability(status=AvailabilityStatus.accepted)

    @_on(Action.get_configuration)
    def on_get_configuration(self, key: list[str] | None = None, **_: Any) -> Any:
        self._station.command_received(Action.get_configuration)
        known, unknown = self._station.configuration(keys=key)
        return call_result.GetConfiguration(
            configuration_key=[
                KeyValue(key=name, readonly=readonly, value=value)
                for name, (readonly, value) in known.items()
            ],
            unknown_key=unknown or None,
        )

    @_on(Action.change_configuration)
    def on_change_configuration(self, key: str, value: str, **_: Any) -> Any:
        self._station.command_received(Action.change_configuration)
        return call_result.ChangeConfiguration(
            status=self._station.change_configuration(key=key, value=value)
        )

    @_on(Action.trigger_message)
    def on_trigger_message(
        self, requested_message: str, connector_id: int | None = None, **_: Any
    ) -> Any:
        self._station.command_received(Action.trigger_message)
        if requested_message not in _TRIGGERABLE:
            status = TriggerMessageStatus.not_implemented
        elif self._station.can_trigger(
            requested_message=requested_message, connector_id=connector_id
        ):
            status = TriggerMessageStatus.accepted
        else:  # a connector the station does not have
            status = TriggerMessageStatus.rejected
        return call_result.TriggerMessage(status=status)

    @_after(Action.trigger_message)
    def after_trigger_message(
        self, requested_message: str, connector_id: int | None = None, **_: Any
    ) -> None:
        if self._station.can_trigger(
            requested_message=requested_message, connector_id=connector_id
        ):
            self._station.spawn(
                self._station.send_triggered(
                    requested_message=requested_message, connector_id=connector_id
                )
            )

    @_on(Action.clear_cache)
    def on_clear_cache(self, **_: Any) -> Any:
        self._station.command_received(Action.clear_cache)
        return call_result.ClearCache(status=ClearCacheStatus.accepted)

    @_on(Action.data_transfer)
    def on_data_transfer(self, vendor_id: str, **_: Any) -> Any:
        self._station.command_received(Action.data_transfer)
        return call_result.DataTransfer(status=DataTransferStatus.unknown_vendor_id)


_TRIGGERABLE = frozenset(
    {
        MessageTrigger.boot_notification,
        MessageTrigger.heartbeat,
        MessageTrigger.status_notification,
        MessageTrigger.meter_values,
        MessageTrigger.firmware_status_notification,
        MessageTrigger.diagnostics_status_notification,
    }
)
_CONFIG_HEARTBEAT = "HeartbeatInterval"
_CONFIG_SAMPLE_INTERVAL = "MeterValueSampleInterval"
_SAMPLED_MEASURANDS = "Energy.Active.Import.Register,Power.Active.Import,Current.Import,Voltage,SoC"


@dataclass(slots=True, eq=False)
class _ActiveSession:
    connector_id: int
    id_tag: str
    origin: SessionOrigin
    started_at: datetime
    model: VehicleChargeModel
    transaction_id: int | None = None
    stop_requested: asyncio.Event = field(default_factory=asyncio.Event)
    stop_reason: StopReason | None = None
    suspension_announced: bool = False
    meter_values_sent: int = 0

    def at(self, elapsed_s: int) -> datetime:
        return self.started_at + timedelta(seconds=elapsed_s)

    def request_stop(self, reason: StopReason) -> None:
        if self.stop_reason is None:  # the first reason wins
            self.stop_reason = reason
            self.stop_requested.set()


@dataclass(slots=True, eq=False)
class _Connector:
    connector_id: int
    meter: EnergyMeter
    rng: random.Random
    status: str = ChargePointStatus.available
    busy: bool = False
    freed: asyncio.Event = field(default_factory=asyncio.Event)
    session: _ActiveSession | None = None


class _Station:
    """One simulated station: its connectors, sessions and what it reports."""

    def __init__(
        self,
        *,
        config: SimulatedStationConfig,
        settings: SimulationSettings,
        clock: ScaledClock,
        on_event: Callable[[SimulationEvent], None] | None,
    ) -> None:
        self.config = config
        self.settings = settings
        self._clock = clock
        self._on_event = on_event
        self._connectors = {
            number: self._new_connector(number) for number in range(1, config.connectors + 1)
        }
        self._cp: _SimulatedChargePoint | None = None
        self._heartbeat_interval_s = settings.heartbeat_interval_s
        self._sample_interval_s: int | None = None  # set by ChangeConfiguration
        self._registered = asyncio.Event()
        self._shutdown = asyncio.Event()
        self._pending_remote_starts: deque[tuple[_Connector, str]] = deque()
        self._tasks: set[asyncio.Task[None]] = set()
        self._messages_sent: Counter[str] = Counter()
        self._commands_received: Counter[str] = Counter()
        self._errors: list[MessageError] = []
        self._sessions: list[SessionRecord] = []
        self._outcome = StationOutcome.COMPLETED
        self._http_status: int | None = None
        self._detail = ""

    @property
    def station_id(self) -> str:
        return self.config.station_id

    def _rng(self, purpose: str) -> random.Random:
        # One generator per connector, seeded by name, so a seeded run draws the same cars and
        # intervals whatever order the connectors' tasks happen to interleave in.
        if self.settings.seed is None:
            return random.Random()
        return random.Random(f"{self.settings.seed}/{self.station_id}/{purpose}")

    def _new_connector(self, number: int) -> _Connector:
        rng = self._rng(f"connector-{number}")
        # A used charger: the lifetime register starts somewhere in the megawatt-hours.
        meter = EnergyMeter(initial_wh=rng.randint(100_000, 9_000_000))
        return _Connector(connector_id=number, meter=meter, rng=rng)

    # -- lifecycle ----------------------------------------------------------------------------

    async def run(self, *, url: str) -> StationReport:
        endpoint = f"{url.rstrip('/')}/{quote(self.station_id, safe='')}"
        headers = self._auth_headers()
        try:
            async with connect(
                endpoint,
                subprotocols=[OCPP16_SUBPROTOCOL],
                additional_headers=headers,
                open_timeout=self.settings.connect_timeout_wall_s,
            ) as connection:
                if connection.subprotocol != OCPP16_SUBPROTOCOL:
                    self._finish(StationOutcome.CONNECTION_FAILED, "server did not accept ocpp1.6")
                    self._emit(EventKind.CONNECTION_FAILED, detail=self._detail)
                else:
                    await self._run_connected(connection)
        except InvalidStatus as exc:
            self._http_status = exc.response.status_code
            self._finish(StationOutcome.CONNECTION_REFUSED, f"HTTP {self._http_status}")
            self._emit(EventKind.CONNECTION_REFUSED, detail=self._detail)
        except (OSError, TimeoutError, InvalidHandshake, InvalidURI) as exc:
            self._finish(StationOutcome.CONNECTION_FAILED, f"{type(exc).__name__}: {exc}")
            self._emit(EventKind.CONNECTION_FAILED, detail=self._detail)
        except Exception as exc:  # one station's bug must not end the other stations' run
            _log.exception("simulator.station_failed", station_id=self.station_id)
            self._finish(StationOutcome.FAILED, f"{type(exc).__name__}: {exc}")
        finally:
            await self._cancel_tasks()
        if self._outcome is not StationOutcome.COMPLETED:
            _log.warning(
                "simulator.station_ended",
                station_id=self.station_id,
                outcome=self._outcome.value,
                detail=self._detail,
            )
        return self.report()

    def _auth_headers(self) -> dict[str, str]:
        if self.config.password is None:
            return {}
        # OCPP security profile 1: HTTP Basic with the station id as the user name.
        credentials = f"{self.station_id}:{self.config.password}".encode()
        return {"Authorization": "Basic " + base64.b64encode(credentials).decode("ascii")}

    async def _run_connected(self, connection: ClientConnection) -> None:
        self._cp = _SimulatedChargePoint(station=self, connection=connection)
        self._emit(EventKind.CONNECTED)
        _log.info("simulator.connected", station_id=self.station_id)
        reader = asyncio.create_task(self._cp.start(), name=f"ocpp-reader-{self.station_id}")
        work = asyncio.create_task(self._operate(), name=f"station-{self.station_id}")
        try:
            done, _ = await asyncio.wait({reader, work}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (reader, work):
                task.cancel()
            await asyncio.gather(reader, work, return_exceptions=True)
        # The reader only ever ends with an exception: the socket closed under it.
        first = work if work in done else reader
        failure = None if first.cancelled() else first.exception()
        if failure is not None:
            if _caused_by(failure, ConnectionClosed):
                self._finish(StationOutcome.CONNECTION_LOST, str(failure))
                self._emit(EventKind.DISCONNECTED, detail=self._detail)
            else:
                raise failure

    async def _operate(self) -> None:
        if not await self._boot():
            return
        for number in range(self.config.connectors + 1):
            await self._send_status(number, ChargePointStatus.available)
        sessions_over = asyncio.Event()
        async with asyncio.TaskGroup() as group:
            heartbeat = group.create_task(self._heartbeat_loop(sessions_over))
            async with asyncio.TaskGroup() as sessions:
                for connector, plan in self._session_schedule().items():
                    sessions.create_task(self._run_planned_sessions(connector, plan))
            await self._pause(self.settings.linger_after_sessions_s, self._shutdown)
            await self._drain()
            # The flag as well as the cancel: on Python 3.11 a cancel that lands just as a
            # Heartbeat's answer arrives can be swallowed by asyncio.wait_for (in the ocpp
            # library), and the loop would beat forever.
            sessions_over.set()
            heartbeat.cancel()
        if self._shutdown.is_set():
            self._finish(StationOutcome.STOPPED, "asked to stop")

    def _session_schedule(self) -> dict[_Connector, list[str]]:
        # Round-robin: session k goes to connector k mod n with idTag k mod len(tags).
        schedule: dict[_Connector, list[str]] = {c: [] for c in self._connectors.values()}
        tags = self.config.id_tags
        for k in range(self.settings.sessions_per_station):
            connector = self._connectors[k % self.config.connectors + 1]
            schedule[connector].append(tags[k % len(tags)])
        return schedule

    def request_shutdown(self) -> None:
        self._shutdown.set()
        self.stop_all(reason=StopReason.OTHER)

    def _finish(self, outcome: StationOutcome, detail: str) -> None:
        if self._outcome is StationOutcome.COMPLETED:  # keep the first failure
            self._outcome = outcome
            self._detail = detail

    def report(self) -> StationReport:
        return StationReport(
            station_id=self.station_id,
            outcome=self._outcome,
            sessions=tuple(self._sessions),
            messages_sent=dict(self._messages_sent),
            commands_received=dict(self._commands_received),
            errors=tuple(self._errors),
            http_status=self._http_status,
            detail=self._detail,
        )

    # -- boot and heartbeat -------------------------------------------------------------------

    async def _boot(self) -> bool:
        for _attempt in range(self.settings.boot_attempts):
            retry_s = await self._send_boot_notification()
            if self._registered.is_set():
                return True
            if await self._pause(retry_s, self._shutdown, self._registered):
                # Registered through a triggered BootNotification, or asked to stop.
                if not self._registered.is_set():
                    self._finish(StationOutcome.STOPPED, "asked to stop before boot was accepted")
                return self._registered.is_set()
        self._finish(StationOutcome.BOOT_REJECTED, "BootNotification never accepted")
        return False

    async def _send_boot_notification(self) -> int:
        """Sends BootNotification; returns the retry interval if it was not accepted."""
        serial = self.station_id if len(self.station_id) <= 25 else None
        try:
            response = await self._call(
                call.BootNotification(
                    charge_point_model=CHARGE_POINT_MODEL,
                    charge_point_vendor=CHARGE_POINT_VENDOR,
                    charge_point_serial_number=serial,
                    firmware_version=FIRMWARE_VERSION,
                )
            )
        except MessageFailed:
            return DEFAULT_BOOT_RETRY_S
        interval = int(response.interval)
        if response.status == RegistrationStatus.accepted:
            # HeartbeatInterval 0 would mean "no heartbeats": keep ours rather than flood.
            self._heartbeat_interval_s = interval if interval > 0 else self._heartbeat_interval_s
            self._registered.set()
            self._emit(EventKind.BOOT_ACCEPTED, detail=f"heartbeat {self._heartbeat_interval_s}s")
            return 0
        self._emit(EventKind.BOOT_NOT_ACCEPTED, detail=str(response.status))
        return interval if interval > 0 else DEFAULT_BOOT_RETRY_S

    async def _heartbeat_loop(self, over: asyncio.Event) -> None:
        while not over.is_set():
            simulated = self._clock.wall_seconds(self._heartbeat_interval_s)
            await asyncio.sleep(max(simulated, self.settings.min_heartbeat_wall_s))
            if not over.is_set():
                await self._notify(call.Heartbeat())

    # -- sessions -----------------------------------------------------------------------------

    async def _run_planned_sessions(self, connector: _Connector, id_tags: list[str]) -> None:
        for id_tag in id_tags:
            pause_s = connector.rng.randint(*self.settings.pause_between_sessions_s)
            if await self._pause(pause_s, self._shutdown):
                return
            while connector.busy:  # a remote start got there first
                await connector.freed.wait()
            if self._shutdown.is_set():
                return
            self._reserve(connector)
            await self._run_session(connector, id_tag=id_tag, origin=SessionOrigin.LOCAL)

    def _reserve(self, connector: _Connector) -> None:
        connector.busy = True
        connector.freed.clear()

    def _release(self, connector: _Connector) -> None:
        connector.busy = False
        connector.session = None
        connector.freed.set()

    async def _run_session(
        self, connector: _Connector, *, id_tag: str, origin: SessionOrigin
    ) -> None:
        """One session on a reserved connector, from the card (or remote start) to Available."""
        try:
            record = await self._session(connector, id_tag=id_tag, origin=origin)
            if record is not None:
                self._sessions.append(record)
        finally:
            self._release(connector)

    async def _session(
        self, connector: _Connector, *, id_tag: str, origin: SessionOrigin
    ) -> SessionRecord | None:
        number = connector.connector_id
        if origin is SessionOrigin.LOCAL:
            # AuthorizeRemoteTxRequests is false: only a card at the station is authorized.
            try:
                authorized = await self._call(call.Authorize(id_tag=id_tag))
            except MessageFailed:
                return SessionRecord(
                    connector_id=number, id_tag=id_tag, origin=origin, outcome=SessionOutcome.FAILED
                )
            status = str(authorized.id_tag_info["status"])
            if status != AuthorizationStatus.accepted:
                self._emit(EventKind.AUTHORIZATION_REJECTED, connector_id=number, detail=status)
                _log.info(
                    "simulator.authorization_rejected",
                    station_id=self.station_id,
                    connector_id=number,
                    id_tag=pseudonymize(id_tag),
                    status=status,
                )
                return SessionRecord(
                    connector_id=number,
                    id_tag=id_tag,
                    origin=origin,
                    outcome=SessionOutcome.AUTHORIZATION_REJECTED,
                )

        await self._send_status(number, ChargePointStatus.preparing)
        plan = plan_session(rng=connector.rng, settings=self.settings)
        model = VehicleChargeModel(
            plan=plan, station_max_power_w=self.config.max_power_w, meter=connector.meter
        )
        active = _ActiveSession(
            connector_id=number,
            id_tag=id_tag,
            origin=origin,
            started_at=self._clock.now(),
            model=model,
        )
        connector.session = active
        meter_start = model.start_register_wh
        try:
            started = await self._call(
                call.StartTransaction(
                    connector_id=number,
                    id_tag=id_tag,
                    meter_start=meter_start,
                    timestamp=format_timestamp(active.started_at),
                )
            )
        except MessageFailed:
            await self._send_status(number, ChargePointStatus.available)
            return SessionRecord(
                connector_id=number, id_tag=id_tag, origin=origin, outcome=SessionOutcome.FAILED
            )
        active.transaction_id = int(started.transaction_id)
        accepted = str(started.id_tag_info["status"]) == AuthorizationStatus.accepted
        self._emit(
            EventKind.SESSION_STARTED,
            connector_id=number,
            transaction_id=active.transaction_id,
            detail=plan.vehicle.name,
        )
        _log.info(
            "simulator.session_started",
            station_id=self.station_id,
            connector_id=number,
            transaction_id=active.transaction_id,
            id_tag=pseudonymize(id_tag),
            origin=origin.value,
            vehicle=plan.vehicle.name,
        )

        if accepted:
            await self._send_status(number, ChargePointStatus.charging)
            reason, stopped_at = await self._charge(connector, active)
            outcome = SessionOutcome.COMPLETED
        else:
            # StopTransactionOnInvalidId: a real charger ends the transaction at once.
            reason, stopped_at = StopReason.DE_AUTHORIZED, active.started_at
            outcome = SessionOutcome.DEAUTHORIZED

        meter_stop = connector.meter.register_wh
        try:
            await self._send_stop_transaction(
                active, meter_start=meter_start, meter_stop=meter_stop, reason=reason, at=stopped_at
            )
        except MessageFailed:
            outcome = SessionOutcome.FAILED
        self._emit(
            EventKind.SESSION_STOPPED,
            connector_id=number,
            transaction_id=active.transaction_id,
            energy_wh=meter_stop - meter_start,
            detail=reason.value,
        )
        _log.info(
            "simulator.session_stopped",
            station_id=self.station_id,
            connector_id=number,
            transaction_id=active.transaction_id,
            energy_wh=meter_stop - meter_start,
            reason=reason.value,
            outcome=outcome.value,
        )
        await self._send_status(number, ChargePointStatus.finishing)
        await self._send_status(number, ChargePointStatus.available)
        return SessionRecord(
            connector_id=number,
            id_tag=id_tag,
            origin=origin,
            outcome=outcome,
            transaction_id=active.transaction_id,
            meter_start_wh=meter_start,
            meter_stop_wh=meter_stop,
            started_at=active.started_at,
            stopped_at=stopped_at,
            stop_reason=reason,
            meter_values_sent=active.meter_values_sent,
        )

    async def _charge(
        self, connector: _Connector, active: _ActiveSession
    ) -> tuple[StopReason, datetime]:
        """Sample the meter every interval until the driver (or the CSMS) ends the session."""
        model = active.model
        while True:
            interval_s = self._sample_interval_s or connector.rng.randint(
                *self.settings.meter_interval_s
            )
            interrupted = await self._pause(interval_s, active.stop_requested)
            self._catch_up(active)
            await self._announce_suspension(active)
            if model.state is ChargeState.FINISHED:
                return model.plan.stop_reason, active.at(model.elapsed_s)
            if interrupted and active.stop_reason is not None:
                return active.stop_reason, active.at(model.elapsed_s)
            await self._send_meter_values(connector, active, context=ReadingContext.sample_periodic)

    def _catch_up(self, active: _ActiveSession) -> None:
        # The model follows the simulated clock, so energy always matches elapsed time; it
        # stops by itself when the session finishes between two samples.
        elapsed_s = int((self._clock.now() - active.started_at).total_seconds())
        if elapsed_s > active.model.elapsed_s:
            active.model.advance(seconds=elapsed_s - active.model.elapsed_s)

    async def _announce_suspension(self, active: _ActiveSession) -> None:
        full_at_s = active.model.full_at_s
        if full_at_s is None or active.suspension_announced:
            return
        active.suspension_announced = True
        if active.model.plan.idle_after_full_s == 0:
            return
        at = active.at(full_at_s)
        await self._send_status(active.connector_id, ChargePointStatus.suspended_ev, at=at)
        self._emit(
            EventKind.SESSION_SUSPENDED,
            connector_id=active.connector_id,
            transaction_id=active.transaction_id,
            energy_wh=active.model.delivered_wh,
            detail="battery full",
        )

    async def _send_meter_values(
        self, connector: _Connector, active: _ActiveSession, *, context: str
    ) -> None:
        model = active.model
        reading = read_meter(
            register_wh=model.register_wh,
            power_w=model.power_w if model.state is ChargeState.CHARGING else 0,
            phases=model.plan.vehicle.phases,
            soc_percent=model.soc_percent,
            rng=connector.rng,
        )
        sent = await self._notify(
            call.MeterValues(
                connector_id=connector.connector_id,
                transaction_id=active.transaction_id,
                meter_value=[
                    sampled_meter_value(
                        reading=reading, at=active.at(model.elapsed_s), context=context
                    )
                ],
            )
        )
        if sent:
            active.meter_values_sent += 1

    async def _send_stop_transaction(
        self,
        active: _ActiveSession,
        *,
        meter_start: int,
        meter_stop: int,
        reason: StopReason,
        at: datetime,
    ) -> None:
        await self._call(
            call.StopTransaction(
                meter_stop=meter_stop,
                timestamp=format_timestamp(at),
                transaction_id=active.transaction_id,
                reason=reason.value,
                # The tag that ended it: only when a card was presented at the station.
                id_tag=active.id_tag if reason is StopReason.LOCAL else None,
                transaction_data=[
                    register_meter_value(
                        register_wh=meter_start,
                        at=active.started_at,
                        context=ReadingContext.transaction_begin,
                    ),
                    register_meter_value(
                        register_wh=meter_stop, at=at, context=ReadingContext.transaction_end
                    ),
                ],
            )
        )

    async def _drain(self) -> None:
        """Wait for what commands started (remote sessions, triggered messages) to finish."""
        while True:
            if self._tasks:
                await asyncio.gather(*self._tasks, return_exceptions=True)
                continue
            busy = [c for c in self._connectors.values() if c.busy]
            if not busy:
                return
            await busy[0].freed.wait()

    # -- commands from the CSMS ---------------------------------------------------------------

    def command_received(self, action: str) -> None:
        self._commands_received[str(action)] += 1
        self._emit(EventKind.COMMAND_RECEIVED, detail=str(action))
        _log.info("simulator.command_received", station_id=self.station_id, action=str(action))

    def has_connector(self, connector_id: int) -> bool:
        return connector_id in self._connectors

    def reserve_remote_start(self, *, id_tag: str, connector_id: int | None) -> bool:
        if connector_id is None:
            free = [c for c in self._connectors.values() if not c.busy]
            connector = free[0] if free else None
        else:
            connector = self._connectors.get(connector_id)
        if connector is None or connector.busy or self._shutdown.is_set():
            return False
        self._reserve(connector)
        self._pending_remote_starts.append((connector, id_tag))
        return True

    def begin_reserved_remote_starts(self) -> None:
        while self._pending_remote_starts:
            connector, id_tag = self._pending_remote_starts.popleft()
            self.spawn(self._run_session(connector, id_tag=id_tag, origin=SessionOrigin.REMOTE))

    def stop_transaction(self, *, transaction_id: int, reason: StopReason) -> bool:
        for connector in self._connectors.values():
            active = connector.session
            if active is not None and active.transaction_id == transaction_id:
                active.request_stop(reason)
                return True
        return False

    def stop_connector(self, *, connector_id: int, reason: StopReason) -> None:
        connector = self._connectors.get(connector_id)
        if connector is not None and connector.session is not None:
            connector.session.request_stop(reason)

    def stop_all(self, *, reason: StopReason) -> None:
        for connector in self._connectors.values():
            if connector.session is not None:
                connector.session.request_stop(reason)

    def configuration(
        self, *, keys: Sequence[str] | None
    ) -> tuple[dict[str, tuple[bool, str]], list[str]]:
        sample_interval = self._sample_interval_s or self.settings.meter_interval_s[1]
        table: dict[str, tuple[bool, str]] = {
            _CONFIG_HEARTBEAT: (False, str(self._heartbeat_interval_s)),
            _CONFIG_SAMPLE_INTERVAL: (False, str(sample_interval)),
            "NumberOfConnectors": (True, str(self.config.connectors)),
            "AuthorizeRemoteTxRequests": (True, "false"),
            "StopTransactionOnInvalidId": (True, "true"),
            "MeterValuesSampledData": (True, _SAMPLED_MEASURANDS),
            "SupportedFeatureProfiles": (True, "Core,RemoteTrigger"),
        }
        if not keys:
            return table, []
        known = {key: table[key] for key in keys if key in table}
        return known, [key for key in keys if key not in table]

    def change_configuration(self, *, key: str, value: str) -> str:
        readonly = {name for name, (ro, _) in self.configuration(keys=None)[0].items() if ro}
        if key in readonly:
            return str(ConfigurationStatus.rejected)
        if key not in (_CONFIG_HEARTBEAT, _CONFIG_SAMPLE_INTERVAL):
            return str(ConfigurationStatus.not_supported)
        try:
            seconds = int(value)
        except ValueError:
            return str(ConfigurationStatus.rejected)
        if seconds < 1:
            return str(ConfigurationStatus.rejected)
        if key == _CONFIG_HEARTBEAT:
            self._heartbeat_interval_s = seconds
        else:
            self._sample_interval_s = seconds
        return str(ConfigurationStatus.accepted)

    def can_trigger(self, *, requested_message: str, connector_id: int | None) -> bool:
        if requested_message not in _TRIGGERABLE:
            return False
        return connector_id is None or connector_id == 0 or connector_id in self._connectors

    async def send_triggered(self, *, requested_message: str, connector_id: int | None) -> None:
        if requested_message == MessageTrigger.boot_notification:
            await self._send_boot_notification()
        elif requested_message == MessageTrigger.heartbeat:
            await self._notify(call.Heartbeat())
        elif requested_message == MessageTrigger.status_notification:
            numbers = (
                [connector_id] if connector_id is not None else range(self.config.connectors + 1)
            )
            for number in numbers:
                connector = self._connectors.get(number)
                status = connector.status if connector else ChargePointStatus.available
                await self._send_status(number, status)
        elif requested_message == MessageTrigger.meter_values:
            for connector in self._connectors.values():
                if connector_id in (None, 0, connector.connector_id):
                    await self._send_triggered_meter_values(connector)
        elif requested_message == MessageTrigger.firmware_status_notification:
            await self._notify(call.FirmwareStatusNotification(status=FirmwareStatus.idle))
        elif requested_message == MessageTrigger.diagnostics_status_notification:
            await self._notify(call.DiagnosticsStatusNotification(status=DiagnosticsStatus.idle))

    async def _send_triggered_meter_values(self, connector: _Connector) -> None:
        active = connector.session
        if active is not None and active.transaction_id is not None:
            self._catch_up(active)
            await self._send_meter_values(connector, active, context=ReadingContext.trigger)
            return
        value = register_meter_value(
            register_wh=connector.meter.register_wh,
            at=self._clock.now(),
            context=ReadingContext.trigger,
        )
        await self._notify(
            call.MeterValues(connector_id=connector.connector_id, meter_value=[value])
        )

    # -- plumbing -----------------------------------------------------------------------------

    async def _call(self, payload: Any) -> Any:
        """Send one CALL; a CALLERROR or a timeout is recorded and raised as MessageFailed."""
        action = type(payload).__name__
        cp = self._cp
        if cp is None:
            raise RuntimeError("not connected")
        self._messages_sent[action] += 1
        try:
            return await cp.call(payload, suppress=False)
        except (OCPPError, UnknownCallErrorCodeError, ValidationError) as exc:
            kind, detail = ErrorKind.CALL_ERROR, _describe_ocpp_error(exc)
        except TimeoutError:
            kind = ErrorKind.TIMEOUT
            detail = f"no answer within {self.settings.response_timeout_wall_s}s"
        at = self._clock.now()
        self._errors.append(MessageError(action=action, kind=kind, detail=detail, at=at))
        self._emit(EventKind.MESSAGE_FAILED, detail=f"{action}: {detail}")
        _log.warning(
            "simulator.message_failed",
            station_id=self.station_id,
            action=action,
            kind=kind.value,
            detail=_redact_id_tags(detail),
        )
        raise MessageFailed(action=action, kind=kind, detail=detail)

    async def _notify(self, payload: Any) -> bool:
        """A message whose failure does not end anything (status, meter values, heartbeat)."""
        try:
            await self._call(payload)
        except MessageFailed:
            return False
        return True

    async def _send_status(
        self, connector_id: int, status: str, *, at: datetime | None = None
    ) -> None:
        connector = self._connectors.get(connector_id)
        if connector is not None:
            connector.status = status
        await self._notify(
            call.StatusNotification(
                connector_id=connector_id,
                error_code=ChargePointErrorCode.no_error,
                status=status,
                timestamp=format_timestamp(at or self._clock.now()),
            )
        )

    async def _pause(self, simulated_s: float, *interrupts: asyncio.Event) -> bool:
        """Sleep ``simulated_s`` of simulated time; True when an interrupt cut it short."""
        wall_s = self._clock.wall_seconds(simulated_s)
        if any(event.is_set() for event in interrupts):
            return True
        if not interrupts:
            await asyncio.sleep(wall_s)
            return False
        waiters = [asyncio.ensure_future(event.wait()) for event in interrupts]
        try:
            done, _ = await asyncio.wait(
                waiters, timeout=wall_s, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            for waiter in waiters:
                waiter.cancel()
        return bool(done)

    def spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(self._guarded(work))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _guarded(self, work: Coroutine[Any, Any, None]) -> None:
        try:
            await work
        except (MessageFailed, ConnectionClosed):
            pass  # recorded already / the reader task reports the lost connection
        except Exception:
            _log.exception("simulator.command_task_failed", station_id=self.station_id)

    async def _cancel_tasks(self) -> None:
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def _emit(
        self,
        kind: EventKind,
        *,
        connector_id: int | None = None,
        transaction_id: int | None = None,
        energy_wh: int | None = None,
        detail: str = "",
    ) -> None:
        if self._on_event is None:
            return
        event = SimulationEvent(
            kind=kind,
            station_id=self.station_id,
            at=self._clock.now(),
            connector_id=connector_id,
            transaction_id=transaction_id,
            energy_wh=energy_wh,
            detail=detail,
        )
        try:
            self._on_event(event)
        except Exception:  # a broken progress display must not stop the stations
            _log.exception("simulator.on_event_failed", station_id=self.station_id)


def _describe_ocpp_error(exc: Exception) -> str:
    code = getattr(exc, "code", type(exc).__name__)
    description = getattr(exc, "description", str(exc))
    return f"{code}: {description}"


def _caused_by(error: BaseException, kind: type[BaseException]) -> bool:
    if isinstance(error, kind):
        return True
    if isinstance(error, BaseExceptionGroup):
        return error.subgroup(kind) is not None
    return False


# --------------------------------------------------------------------------------------------
# Entry point
# --------------------------------------------------------------------------------------------


async def run_simulation(
    *,
    url: str,
    stations: Sequence[SimulatedStationConfig],
    settings: SimulationSettings,
    on_event: Callable[[SimulationEvent], None] | None = None,
    stop: asyncio.Event | None = None,
) -> SimulationReport:
    """Run every station concurrently against the CSMS at ``url`` (e.g. ws://host:8080/ocpp).

    Returns when every station has done its sessions, failed to connect, or lost its
    connection. Setting ``stop`` ends running sessions (reason Other) and returns the report;
    cancelling the call closes every socket.
    """
    ids = [station.station_id for station in stations]
    if len(set(ids)) != len(ids):
        raise InvalidSimulationConfig("station ids must be unique")
    started_at = datetime.now(UTC)
    clock = ScaledClock(origin=started_at, time_scale=settings.time_scale)
    runners = [
        _Station(config=config, settings=settings, clock=clock, on_event=on_event)
        for config in stations
    ]
    _log.info(
        "simulator.started",
        url=url,
        stations=len(runners),
        sessions_per_station=settings.sessions_per_station,
        time_scale=settings.time_scale,
    )

    async def stop_when_asked(event: asyncio.Event) -> None:
        await event.wait()
        for runner in runners:
            runner.request_shutdown()

    watcher = asyncio.create_task(stop_when_asked(stop)) if stop is not None else None
    try:
        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(runner.run(url=url)) for runner in runners]
    finally:
        if watcher is not None:
            watcher.cancel()
            await asyncio.gather(watcher, return_exceptions=True)
    report = SimulationReport(
        stations=tuple(task.result() for task in tasks),
        started_at=started_at,
        finished_at=datetime.now(UTC),
    )
    _log.info(
        "simulator.finished",
        sessions_completed=report.sessions_completed,
        energy_wh=report.energy_wh,
        messages_sent=report.messages_sent,
    )
    return report
