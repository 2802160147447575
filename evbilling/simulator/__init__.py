"""The OCPP 1.6J charging-station simulator behind `evbilling simulate`: a demo driver and a
load generator for the CSMS. A client: it imports none of evbilling's server-side slices.

Each simulated station connects over WebSocket (subprotocol ``ocpp1.6``, HTTP Basic auth as in
OCPP security profile 1), boots, reports its connectors and runs charging sessions whose meter
readings come from a small pure vehicle model: ramp-up, constant power, taper above ~80 % SoC,
then SuspendedEV once the battery is full. Time is simulated: messages carry simulated
timestamps that advance ``time_scale`` times faster than the wall; faster than the wall, they
start in the past, so that the planned sessions end by wall-clock now (``simulated_origin``).

Rooms: ``settings`` (what to simulate), the pure model ``power`` / ``meter`` / ``clock``,
``report`` (what a run reports), ``station`` (one station's client) with ``sessions``,
``commands`` (calls the CSMS makes), ``configuration``, ``channel`` and ``wire_log``;
``fleet`` (``run_simulation``, ``stations_from_options``) and ``cli`` (the command).
"""

from evbilling.simulator.clock import ScaledClock
from evbilling.simulator.errors import (
    ErrorKind,
    InvalidSimulationConfig,
    MessageFailed,
    MeterWouldRunBackwards,
)
from evbilling.simulator.fleet import (
    rotated,
    run_simulation,
    simulated_origin,
    stations_from_options,
)
from evbilling.simulator.meter import (
    EnergyMeter,
    MeterReading,
    format_timestamp,
    read_meter,
    register_meter_value,
    sampled_meter_value,
)
from evbilling.simulator.power import (
    RAMP_UP_S,
    TRICKLE_POWER_W,
    VEHICLES,
    ChargeState,
    SessionPlan,
    StopReason,
    VehicleChargeModel,
    VehicleProfile,
    charging_power_w,
    plan_session,
)
from evbilling.simulator.report import (
    EventKind,
    MessageError,
    SessionOrigin,
    SessionOutcome,
    SessionRecord,
    SimulationEvent,
    SimulationReport,
    StationOutcome,
    StationReport,
)
from evbilling.simulator.settings import SimulatedStationConfig, SimulationSettings

__all__ = [
    "RAMP_UP_S",
    "TRICKLE_POWER_W",
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
    "rotated",
    "run_simulation",
    "sampled_meter_value",
    "simulated_origin",
    "stations_from_options",
]
