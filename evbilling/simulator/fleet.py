"""Many simulated stations against one CSMS: station configs from the command line's options,
and the concurrent run that returns the simulation's report."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta

from evbilling.infra.logging import get_logger
from evbilling.simulator.clock import ScaledClock
from evbilling.simulator.errors import InvalidSimulationConfig
from evbilling.simulator.power import RAMP_UP_S, TRICKLE_POWER_W
from evbilling.simulator.report import SimulationEvent, SimulationReport
from evbilling.simulator.settings import SimulatedStationConfig, SimulationSettings
from evbilling.simulator.station import SimulatedStation

_log = get_logger(__name__)


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


# However long the plan, simulated time never starts further back than this.
MAX_ORIGIN_SHIFT = timedelta(days=365)


def simulated_origin(
    *, wall_now: datetime, stations: Sequence[SimulatedStationConfig], settings: SimulationSettings
) -> datetime:
    """Where simulated time starts. At wall speed, now. Faster than the wall, early enough that
    the planned sessions end by the time the run does: a CSMS never gets a timestamp ahead of
    its clock (evbilling replaces those with its receive time, docs/sessions.md)."""
    if settings.time_scale <= 1 or not stations:
        return wall_now
    span_s = max(_planned_span_s(station, settings) for station in stations)
    shift = timedelta(seconds=span_s * (1 - 1 / settings.time_scale))
    return wall_now - min(shift, MAX_ORIGIN_SHIFT)


def _planned_span_s(station: SimulatedStationConfig, settings: SimulationSettings) -> float:
    """An upper bound of one station's planned simulated time: its busiest connector's
    sessions, each charged at no less than the trickle power, then the linger."""
    sessions = math.ceil(settings.sessions_per_station / station.connectors)
    slowest_w = min(TRICKLE_POWER_W, station.max_power_w)
    per_session_s = (
        settings.pause_between_sessions_s[1]
        + RAMP_UP_S
        + settings.session_energy_wh[1] * 3600 / slowest_w
        + settings.idle_after_full_s[1]
    )
    return sessions * per_session_s + settings.linger_after_sessions_s


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
    clock = ScaledClock(
        origin=simulated_origin(wall_now=started_at, stations=stations, settings=settings),
        time_scale=settings.time_scale,
    )
    runners = [
        SimulatedStation(config=config, settings=settings, clock=clock, on_event=on_event)
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
