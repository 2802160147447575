"""A test charger built on the `ocpp` library's client-side ChargePoint."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from ocpp.routing import on as ocpp_on
from ocpp.v16 import ChargePoint, call, call_result
from ocpp.v16.enums import Action
from websockets.asyncio.client import ClientConnection

from evbilling.kit import FixedClock
from tests.functional.conftest import LiveServer, connect

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)

Handler = Callable[..., Any]


def on(action: str) -> Callable[[Handler], Handler]:
    """The ocpp library's @on, typed."""
    decorator: Callable[[Handler], Handler] = ocpp_on(action)
    return decorator


def ts(minutes: float = 0) -> str:
    """An OCPP timestamp `minutes` after the test's reference instant."""
    return (T0 + timedelta(minutes=minutes)).isoformat().replace("+00:00", "Z")


class TestCharger(ChargePoint):  # type: ignore[misc]
    """Answers the CSMS's commands the way a cooperative charger does, and records them.

    Its clock and the server's agree, as they do in the field: a transaction message stamped
    `minutes` after T0 is received then (the server's test clock moves forward to it; the
    server distrusts station timestamps ahead of its own clock, docs/sessions.md)."""

    __test__ = False

    def __init__(
        self, identity: str, connection: ClientConnection, *, clock: FixedClock | None = None
    ) -> None:
        super().__init__(identity, connection, response_timeout=10)
        self.received: list[tuple[str, dict[str, Any]]] = []
        self.data_transfers: list[dict[str, Any]] = []
        self._clock = clock

    def stamp(self, minutes: float) -> str:
        """The timestamp `minutes` after T0, with the server's clock moved up to it."""
        moment = T0 + timedelta(minutes=minutes)
        if self._clock is not None and self._clock.current < moment:
            self._clock.current = moment
        return ts(minutes)

    @on(Action.reset)
    def on_reset(self, type: str) -> call_result.Reset:
        self.received.append(("Reset", {"type": type}))
        return call_result.Reset(status="Accepted")

    @on(Action.remote_start_transaction)
    def on_remote_start(self, id_tag: str, **kwargs: Any) -> call_result.RemoteStartTransaction:
        self.received.append(("RemoteStartTransaction", {"id_tag": id_tag, **kwargs}))
        return call_result.RemoteStartTransaction(status="Accepted")

    @on(Action.remote_stop_transaction)
    def on_remote_stop(self, transaction_id: int) -> call_result.RemoteStopTransaction:
        self.received.append(("RemoteStopTransaction", {"transaction_id": transaction_id}))
        return call_result.RemoteStopTransaction(status="Accepted")

    @on(Action.unlock_connector)
    def on_unlock(self, connector_id: int) -> call_result.UnlockConnector:
        return call_result.UnlockConnector(status="Unlocked")

    @on(Action.change_availability)
    def on_availability(self, connector_id: int, type: str) -> call_result.ChangeAvailability:
        return call_result.ChangeAvailability(status="Scheduled")

    @on(Action.get_configuration)
    def on_get_configuration(self, key: list[str] | None = None) -> Any:
        return call_result.GetConfiguration(
            configuration_key=[{"key": "HeartbeatInterval", "readonly": False, "value": "300"}],
            unknown_key=[k for k in (key or []) if k != "HeartbeatInterval"],
        )

    @on(Action.change_configuration)
    def on_change_configuration(self, key: str, value: str) -> Any:
        return call_result.ChangeConfiguration(status="Accepted")

    @on(Action.trigger_message)
    def on_trigger(self, requested_message: str, **kwargs: Any) -> Any:
        return call_result.TriggerMessage(status="Accepted")

    @on(Action.data_transfer)
    def on_data_transfer(self, vendor_id: str, **kwargs: Any) -> Any:
        self.data_transfers.append({"vendor_id": vendor_id, **kwargs})
        return call_result.DataTransfer(status="Accepted")

    @on(Action.clear_cache)
    def on_clear_cache(self) -> Any:
        return call_result.ClearCache(status="Accepted")

    async def boot(self) -> Any:
        return await self.call(
            call.BootNotification(charge_point_vendor="Acme", charge_point_model="Volt 22")
        )

    async def start_tx(self, id_tag: str = "04A1B2C3D4", *, connector_id: int = 1,
                    meter_start: int = 1000, minutes: float = 0) -> Any:  # fmt: skip
        return await self.call(
            call.StartTransaction(
                connector_id=connector_id, id_tag=id_tag, meter_start=meter_start,
                timestamp=self.stamp(minutes),
            )
        )  # fmt: skip

    async def meter(self, transaction_id: int, wh: int, *, minutes: float,
                    connector_id: int = 1, unit: str = "Wh") -> Any:  # fmt: skip
        return await self.call(
            call.MeterValues(
                connector_id=connector_id, transaction_id=transaction_id,
                meter_value=[{
                    "timestamp": self.stamp(minutes),
                    "sampledValue": [
                        {"value": str(wh), "measurand": "Energy.Active.Import.Register",
                         "unit": unit, "context": "Sample.Periodic"},
                        {"value": "11000", "measurand": "Power.Active.Import", "unit": "W"},
                        {"value": "16.1", "measurand": "Current.Import", "phase": "L1",
                         "unit": "A"},
                    ],
                }],
            )
        )  # fmt: skip

    async def stop_tx(self, transaction_id: int, meter_stop: int, *, minutes: float,
                   id_tag: str | None = "04A1B2C3D4") -> Any:  # fmt: skip
        return await self.call(
            call.StopTransaction(
                transaction_id=transaction_id, meter_stop=meter_stop,
                timestamp=self.stamp(minutes),
                id_tag=id_tag, reason="Local",
            )
        )  # fmt: skip


@asynccontextmanager
async def charger(server: LiveServer, identity: str = "CP-1") -> AsyncIterator[TestCharger]:
    connection = await connect(server, identity)
    station = TestCharger(identity, connection, clock=server.clock)
    task = asyncio.create_task(station.start())
    try:
        yield station
    finally:
        task.cancel()
        await connection.close()


async def raw_call(connection: ClientConnection, frame: str | bytes) -> list[Any]:
    """Send a frame as-is and return the decoded answer."""
    await connection.send(frame)
    answer = await asyncio.wait_for(connection.recv(), timeout=10)
    result: list[Any] = orjson.loads(answer)
    return result
