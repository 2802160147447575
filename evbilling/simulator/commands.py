"""The calls the CSMS makes to a simulated station (remote start and stop, reset, unlock,
availability, configuration, trigger, cache, data transfer), answered the way a cooperative
OCPP 1.6 charger answers them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final, Protocol, TypeVar

from ocpp.routing import after as ocpp_after
from ocpp.routing import on as ocpp_on
from ocpp.v16 import ChargePoint, call_result
from ocpp.v16.datatypes import KeyValue
from ocpp.v16.enums import (
    Action,
    AvailabilityStatus,
    ClearCacheStatus,
    DataTransferStatus,
    MessageTrigger,
    RemoteStartStopStatus,
    ResetStatus,
    ResetType,
    TriggerMessageStatus,
    UnlockStatus,
)
from websockets.asyncio.client import ClientConnection

from evbilling.simulator.configuration import StationConfiguration
from evbilling.simulator.power import StopReason
from evbilling.simulator.wire_log import WIRE_LOGGER

_Handler = TypeVar("_Handler", bound=Callable[..., Any])


def _on(action: str) -> Callable[[_Handler], _Handler]:
    """``ocpp.routing.on`` with a type, so mypy keeps the handlers' signatures."""
    decorator: Callable[[_Handler], _Handler] = ocpp_on(action)
    return decorator


def _after(action: str) -> Callable[[_Handler], _Handler]:
    decorator: Callable[[_Handler], _Handler] = ocpp_after(action)
    return decorator


class CommandedStation(Protocol):
    """What the commands act on (`evbilling.simulator.station.SimulatedStation`)."""

    @property
    def station_id(self) -> str: ...

    @property
    def configuration(self) -> StationConfiguration: ...

    def command_received(self, action: str) -> None: ...

    def has_connector(self, connector_id: int) -> bool: ...

    def reserve_remote_start(self, *, id_tag: str, connector_id: int | None) -> bool: ...

    def begin_reserved_remote_starts(self) -> None: ...

    def stop_transaction(self, *, transaction_id: int, reason: StopReason) -> bool: ...

    def stop_connector(self, *, connector_id: int, reason: StopReason) -> None: ...

    def stop_all(self, *, reason: StopReason) -> None: ...

    def trigger(self, *, requested_message: str, connector_id: int | None) -> None:
        """Send the requested message in the background."""
        ...


class SimulatedChargePoint(ChargePoint):  # type: ignore[misc]  # ocpp ships no type hints
    """Translates CSMS commands into calls on the station, which holds the behaviour.

    Replies go out first; anything the command causes (a session, a triggered message) runs in
    an ``@after`` hook, because the reader task must stay free to receive the answers to it.
    """

    def __init__(
        self,
        *,
        station: CommandedStation,
        connection: ClientConnection,
        response_timeout_wall_s: float,
    ) -> None:
        super().__init__(
            station.station_id,
            connection,
            response_timeout=response_timeout_wall_s,
            logger=WIRE_LOGGER,
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
        known, unknown = self._station.configuration.read(keys=key)
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
            status=self._station.configuration.change(key=key, value=value)
        )

    @_on(Action.trigger_message)
    def on_trigger_message(
        self, requested_message: str, connector_id: int | None = None, **_: Any
    ) -> Any:
        self._station.command_received(Action.trigger_message)
        if requested_message not in TRIGGERABLE:
            status = TriggerMessageStatus.not_implemented
        elif self._can_trigger(requested_message=requested_message, connector_id=connector_id):
            status = TriggerMessageStatus.accepted
        else:  # a connector the station does not have
            status = TriggerMessageStatus.rejected
        return call_result.TriggerMessage(status=status)

    @_after(Action.trigger_message)
    def after_trigger_message(
        self, requested_message: str, connector_id: int | None = None, **_: Any
    ) -> None:
        if self._can_trigger(requested_message=requested_message, connector_id=connector_id):
            self._station.trigger(requested_message=requested_message, connector_id=connector_id)

    def _can_trigger(self, *, requested_message: str, connector_id: int | None) -> bool:
        if requested_message not in TRIGGERABLE:
            return False
        return (
            connector_id is None or connector_id == 0 or self._station.has_connector(connector_id)
        )

    @_on(Action.clear_cache)
    def on_clear_cache(self, **_: Any) -> Any:
        self._station.command_received(Action.clear_cache)
        return call_result.ClearCache(status=ClearCacheStatus.accepted)

    @_on(Action.data_transfer)
    def on_data_transfer(self, vendor_id: str, **_: Any) -> Any:
        self._station.command_received(Action.data_transfer)
        return call_result.DataTransfer(status=DataTransferStatus.unknown_vendor_id)


TRIGGERABLE: Final[frozenset[str]] = frozenset(
    {
        MessageTrigger.boot_notification,
        MessageTrigger.heartbeat,
        MessageTrigger.status_notification,
        MessageTrigger.meter_values,
        MessageTrigger.firmware_status_notification,
        MessageTrigger.diagnostics_status_notification,
    }
)
