"""A connector of a simulated station and the session charging on it."""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from ocpp.v16.enums import ChargePointStatus

from evbilling.simulator.meter import EnergyMeter
from evbilling.simulator.power import StopReason, VehicleChargeModel
from evbilling.simulator.report import SessionOrigin


@dataclass(slots=True, eq=False)
class ActiveSession:
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
class Connector:
    """Busy from the moment a session is decided (card or remote start) until Available."""

    connector_id: int
    meter: EnergyMeter
    rng: random.Random
    status: str = ChargePointStatus.available
    busy: bool = False
    freed: asyncio.Event = field(default_factory=asyncio.Event)
    session: ActiveSession | None = None

    def reserve(self) -> None:
        self.busy = True
        self.freed.clear()

    def release(self) -> None:
        self.busy = False
        self.session = None
        self.freed.set()


def used_connector(*, number: int, station_id: str, seed: int | None) -> Connector:
    """Connector ``number`` of a charger in service: its register is in the megawatt-hours."""
    # One generator per connector, seeded by name, so a seeded run draws the same cars and
    # intervals whatever order the connectors' tasks happen to interleave in.
    name = f"{seed}/{station_id}/connector-{number}"
    rng = random.Random() if seed is None else random.Random(name)
    meter = EnergyMeter(initial_wh=rng.randint(100_000, 9_000_000))
    return Connector(connector_id=number, meter=meter, rng=rng)
