"""A minimal CSMS written with the ocpp library's server side, for testing the simulator.

It records every CALL each station sends, in order, so tests can check the OCPP 1.6 message
sequence and that the energy figures add up the way billing needs them to.
"""

from __future__ import annotations

import asyncio
import base64
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any, TypeVar

from ocpp.exceptions import InternalError
from ocpp.routing import on as ocpp_on
from ocpp.v16 import ChargePoint, call_result
from ocpp.v16.enums import Action
from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from evbilling.simulator import SimulatedStationConfig, SimulationSettings

PASSWORD = "s3cret-station-pass"
GOOD_TAG = "04A1B2C3D4"
OTHER_TAG = "04FFEE0011"
INVALID_TAG = "DEADBEEF00"
BLOCKED_TAG = "B10CKED001"
MAX_POWER_W = 22_000

_Handler = TypeVar("_Handler", bound=Callable[..., Any])


def _on(action: str) -> Callable[[_Handler], _Handler]:
    decorator: Callable[[_Handler], _Handler] = ocpp_on(action)
    return decorator


@dataclass(frozen=True, slots=True)
class ReceivedCall:
    action: str
    payload: dict[str, Any]  # snake_case, as the ocpp library hands it to handlers


@dataclass(slots=True)
class FakeCentralSystem:
    """Accepts known stations with the right Basic password; answers like a permissive CSMS."""

    passwords: dict[str, str] = field(default_factory=dict)
    invalid_tags: frozenset[str] = frozenset({INVALID_TAG})
    blocked_at_start_tags: frozenset[str] = frozenset({BLOCKED_TAG})
    failing_actions: frozenset[str] = frozenset()
    # Actions whose first CALL is answered only after this many seconds (to force a timeout).
    slow_first: dict[str, float] = field(default_factory=dict)
    boot_statuses: list[str] = field(default_factory=list)  # popped per boot; then Accepted
    heartbeat_interval_s: int = 300
    calls: dict[str, list[ReceivedCall]] = field(default_factory=lambda: defaultdict(list))
    connected: dict[str, FakeCsmsChargePoint] = field(default_factory=dict)
    subprotocols: dict[str, str | None] = field(default_factory=dict)
    url: str = ""
    next_transaction_id: int = 1000
    activity: asyncio.Event = field(default_factory=asyncio.Event)

    def process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        station_id = request.path.rsplit("/", 1)[-1]
        password = self.passwords.get(station_id)
        if password is None:
            return connection.respond(HTTPStatus.NOT_FOUND, "unknown station\n")
        expected = "Basic " + base64.b64encode(f"{station_id}:{password}".encode()).decode()
        if request.headers.get("Authorization") != expected:
            return connection.respond(HTTPStatus.UNAUTHORIZED, "bad credentials\n")
        return None

    async def handler(self, connection: ServerConnection) -> None:
        station_id = connection.request.path.rsplit("/", 1)[-1] if connection.request else ""
        self.subprotocols[station_id] = connection.subprotocol
        charge_point = FakeCsmsChargePoint(station_id, connection, csms=self)
        self.connected[station_id] = charge_point
        try:
            await charge_point.start()
        except ConnectionClosed:
            pass

    def record(self, station_id: str, action: str, payload: dict[str, Any]) -> None:
        self.calls[station_id].append(ReceivedCall(action=action, payload=payload))
        self.activity.set()
        if action in self.failing_actions:
            raise InternalError(description=f"{action} refused by the test")

    def of(self, station_id: str, action: str) -> list[dict[str, Any]]:
        return [c.payload for c in self.calls[station_id] if c.action == action]

    async def wait_until(self, check: Callable[[], bool], *, timeout_s: float = 10.0) -> None:
        """Wait for the stations to have sent what ``check`` looks for."""
        async with asyncio.timeout(timeout_s):
            while True:
                self.activity.clear()  # before checking, so no CALL slips in unnoticed
                if check():
                    return
                await self.activity.wait()


class FakeCsmsChargePoint(ChargePoint):  # type: ignore[misc]  # ocpp ships no type hints
    def __init__(self, station_id: str, connection: ServerConnection, *, csms: FakeCentralSystem):
        super().__init__(station_id, connection)
        self.csms = csms

    @_on(Action.boot_notification)
    def on_boot_notification(self, **payload: Any) -> Any:
        self.csms.record(self.id, "BootNotification", payload)
        if self.csms.boot_statuses:
            status = self.csms.boot_statuses.pop(0)
            return call_result.BootNotification(current_time=_now(), interval=1, status=status)
        return call_result.BootNotification(
            current_time=_now(), interval=self.csms.heartbeat_interval_s, status="Accepted"
        )

    @_on(Action.heartbeat)
    def on_heartbeat(self, **payload: Any) -> Any:
        self.csms.record(self.id, "Heartbeat", payload)
        return call_result.Heartbeat(current_time=_now())

    @_on(Action.status_notification)
    def on_status_notification(self, **payload: Any) -> Any:
        self.csms.record(self.id, "StatusNotification", payload)
        return call_result.StatusNotification()

    @_on(Action.authorize)
    def on_authorize(self, id_tag: str, **payload: Any) -> Any:
        self.csms.record(self.id, "Authorize", {"id_tag": id_tag, **payload})
        status = "Invalid" if id_tag in self.csms.invalid_tags else "Accepted"
        return call_result.Authorize(id_tag_info={"status": status})

    @_on(Action.start_transaction)
    def on_start_transaction(self, id_tag: str, **payload: Any) -> Any:
        self.csms.record(self.id, "StartTransaction", {"id_tag": id_tag, **payload})
        self.csms.next_transaction_id += 1
        status = "Blocked" if id_tag in self.csms.blocked_at_start_tags else "Accepted"
        return call_result.StartTransaction(
            transaction_id=self.csms.next_transaction_id, id_tag_info={"status": status}
        )

    @_on(Action.meter_values)
    async def on_meter_values(self, **payload: Any) -> Any:
        self.csms.record(self.id, "MeterValues", payload)
        delay_s = self.csms.slow_first.pop("MeterValues", 0.0)
        if delay_s:
            await asyncio.sleep(delay_s)
        return call_result.MeterValues()

    @_on(Action.stop_transaction)
    def on_stop_transaction(self, **payload: Any) -> Any:
        self.csms.record(self.id, "StopTransaction", payload)
        return call_result.StopTransaction(id_tag_info={"status": "Accepted"})


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


# -- building simulations against it ----------------------------------------------------


def sim_settings(**overrides: Any) -> SimulationSettings:
    values: dict[str, Any] = {
        "sessions_per_station": 2,
        "time_scale": 5_000.0,
        "meter_interval_s": (10, 60),
        "session_energy_wh": (2_000, 6_000),
        "pause_between_sessions_s": (0, 30),
        "idle_after_full_s": (60, 300),
        "seed": 7,
        "min_heartbeat_wall_s": 0.05,
        "response_timeout_wall_s": 5.0,
    }
    values.update(overrides)
    return SimulationSettings(**values)


def sim_station(station_id: str, *tags: str, connectors: int = 1) -> SimulatedStationConfig:
    return SimulatedStationConfig(
        station_id=station_id,
        password=PASSWORD,
        connectors=connectors,
        max_power_w=MAX_POWER_W,
        id_tags=tags or (GOOD_TAG,),
    )


def call_token(received: ReceivedCall) -> str:
    """A compact name for a CALL: StatusNotification carries its connector and status."""
    if received.action == "StatusNotification":
        return f"Status:{received.payload['connector_id']}:{received.payload['status']}"
    return received.action


def registers_of(meter_value: dict[str, Any]) -> list[int]:
    return [
        int(sample["value"])
        for sample in meter_value["sampled_value"]
        if sample.get("measurand") == "Energy.Active.Import.Register"
    ]


def samples_of(meter_value: dict[str, Any], measurand: str) -> list[dict[str, Any]]:
    return [s for s in meter_value["sampled_value"] if s.get("measurand") == measurand]
