"""What to simulate: the stations (id, password, connectors, power, idTags) and how they
behave (sessions, simulated time, intervals, timeouts)."""

from __future__ import annotations

from dataclasses import dataclass

from evbilling.simulator.errors import InvalidSimulationConfig

_ID_TAG_MAX_LENGTH = 20  # OCPP 1.6 IdToken is CiString20


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
    # Connectors that charge only when the CSMS starts them (RemoteStartTransaction): kept
    # free of the planned sessions, for an app or ad-hoc payer to start.
    remote_only: frozenset[int] = frozenset()

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
        if not self.remote_only <= set(range(1, self.connectors + 1)):
            raise InvalidSimulationConfig(f"no such connectors: {sorted(self.remote_only)}")
        if len(self.remote_only) == self.connectors:
            raise InvalidSimulationConfig("a station needs a connector for planned sessions")


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
