"""One simulated OCPP 1.6J charging station: connects (HTTP Basic auth, OCPP security profile
1), boots, reports its connectors, beats, runs its sessions and answers the CSMS's commands,
then reports what happened. One station's failure never ends the other stations' run."""

from __future__ import annotations

import asyncio
import base64
from collections import Counter
from collections.abc import Callable, Coroutine
from typing import Any
from urllib.parse import quote

from ocpp.v16 import call
from ocpp.v16.enums import (
    ChargePointStatus,
    DiagnosticsStatus,
    FirmwareStatus,
    MessageTrigger,
    RegistrationStatus,
)
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus, InvalidURI
from websockets.typing import Subprotocol

from evbilling.infra.logging import get_logger
from evbilling.simulator.channel import StationChannel
from evbilling.simulator.clock import ScaledClock, pause
from evbilling.simulator.commands import SimulatedChargePoint
from evbilling.simulator.configuration import StationConfiguration
from evbilling.simulator.errors import MessageFailed
from evbilling.simulator.power import StopReason
from evbilling.simulator.report import EventKind, SimulationEvent, StationOutcome, StationReport
from evbilling.simulator.sessions import ConnectorSessions
from evbilling.simulator.settings import SimulatedStationConfig, SimulationSettings

_log = get_logger(__name__)

OCPP16_SUBPROTOCOL = Subprotocol("ocpp1.6")
CHARGE_POINT_VENDOR = "evbilling"
CHARGE_POINT_MODEL = "SIM-AC"
FIRMWARE_VERSION = "sim-1.0"
# Used when BootNotification answers Pending/Rejected with interval 0 (the spec leaves it open).
DEFAULT_BOOT_RETRY_S = 60


class SimulatedStation:
    """One station's run, from connecting to its report; the `CommandedStation` of its
    ChargePoint. Every log line goes through a logger bound to the station id."""

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
        self.log = _log.bind(station_id=config.station_id)
        self.configuration = StationConfiguration(
            connectors=config.connectors,
            heartbeat_interval_s=settings.heartbeat_interval_s,
            default_sample_interval_s=settings.meter_interval_s[1],
        )
        self._clock = clock
        self._channel = StationChannel(
            station_id=config.station_id,
            response_timeout_wall_s=settings.response_timeout_wall_s,
            clock=clock,
            on_event=on_event,
            log=self.log,
        )
        self._shutdown = asyncio.Event()
        self._sessions = ConnectorSessions(
            config=config,
            settings=settings,
            clock=clock,
            channel=self._channel,
            configuration=self.configuration,
            shutdown=self._shutdown,
        )
        self._registered = asyncio.Event()
        self._tasks: set[asyncio.Task[None]] = set()
        self._commands_received: Counter[str] = Counter()
        self._outcome = StationOutcome.COMPLETED
        self._http_status: int | None = None
        self._detail = ""

    @property
    def station_id(self) -> str:
        return self.config.station_id

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
                    self._channel.emit(EventKind.CONNECTION_FAILED, detail=self._detail)
                else:
                    await self._run_connected(connection)
        except InvalidStatus as exc:
            self._http_status = exc.response.status_code
            self._finish(StationOutcome.CONNECTION_REFUSED, f"HTTP {self._http_status}")
            self._channel.emit(EventKind.CONNECTION_REFUSED, detail=self._detail)
        except (OSError, TimeoutError, InvalidHandshake, InvalidURI) as exc:
            self._finish(StationOutcome.CONNECTION_FAILED, f"{type(exc).__name__}: {exc}")
            self._channel.emit(EventKind.CONNECTION_FAILED, detail=self._detail)
        except Exception as exc:  # one station's bug must not end the other stations' run
            self.log.exception("simulator.station_failed")
            self._finish(StationOutcome.FAILED, f"{type(exc).__name__}: {exc}")
        finally:
            await self._cancel_tasks()
        if self._outcome is not StationOutcome.COMPLETED:
            self.log.warning(
                "simulator.station_ended", outcome=self._outcome.value, detail=self._detail
            )
        return self.report()

    def _auth_headers(self) -> dict[str, str]:
        if self.config.password is None:
            return {}
        # OCPP security profile 1: HTTP Basic with the station id as the user name.
        credentials = f"{self.station_id}:{self.config.password}".encode()
        return {"Authorization": "Basic " + base64.b64encode(credentials).decode("ascii")}

    async def _run_connected(self, connection: ClientConnection) -> None:
        charge_point = SimulatedChargePoint(
            station=self,
            connection=connection,
            response_timeout_wall_s=self.settings.response_timeout_wall_s,
        )
        self._channel.charge_point = charge_point
        self._channel.emit(EventKind.CONNECTED)
        self.log.info("simulator.connected")
        reader = asyncio.create_task(charge_point.start(), name=f"ocpp-reader-{self.station_id}")
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
                self._channel.emit(EventKind.DISCONNECTED, detail=self._detail)
            else:
                raise failure

    async def _operate(self) -> None:
        if not await self._boot():
            return
        for number in range(self.config.connectors + 1):
            await self._sessions.send_status(number, ChargePointStatus.available)
        sessions_over = asyncio.Event()
        async with asyncio.TaskGroup() as group:
            heartbeat = group.create_task(self._heartbeat_loop(sessions_over))
            async with asyncio.TaskGroup() as sessions:
                for connector, id_tags in self._sessions.schedule().items():
                    sessions.create_task(self._sessions.run_planned(connector, id_tags))
            await pause(self._clock, self.settings.linger_after_sessions_s, self._shutdown)
            await self._drain()
            # The flag as well as the cancel: on Python 3.11 a cancel that lands just as a
            # Heartbeat's answer arrives can be swallowed by asyncio.wait_for (in the ocpp
            # library), and the loop would beat forever.
            sessions_over.set()
            heartbeat.cancel()
        if self._shutdown.is_set():
            self._finish(StationOutcome.STOPPED, "asked to stop")

    async def _drain(self) -> None:
        """Wait for what commands started (remote sessions, triggered messages) to finish."""
        while True:
            if self._tasks:
                await asyncio.gather(*self._tasks, return_exceptions=True)
                continue
            busy = self._sessions.first_busy()
            if busy is None:
                return
            await busy.freed.wait()

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
            sessions=tuple(self._sessions.records),
            messages_sent=dict(self._channel.messages_sent),
            commands_received=dict(self._commands_received),
            errors=tuple(self._channel.errors),
            http_status=self._http_status,
            detail=self._detail,
        )

    # -- boot and heartbeat -------------------------------------------------------------------

    async def _boot(self) -> bool:
        for _attempt in range(self.settings.boot_attempts):
            retry_s = await self._send_boot_notification()
            if self._registered.is_set():
                return True
            if await pause(self._clock, retry_s, self._shutdown, self._registered):
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
            response = await self._channel.call(
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
            if interval > 0:
                self.configuration.heartbeat_interval_s = interval
            self._registered.set()
            self._channel.emit(
                EventKind.BOOT_ACCEPTED,
                detail=f"heartbeat {self.configuration.heartbeat_interval_s}s",
            )
            return 0
        self._channel.emit(EventKind.BOOT_NOT_ACCEPTED, detail=str(response.status))
        return interval if interval > 0 else DEFAULT_BOOT_RETRY_S

    async def _heartbeat_loop(self, over: asyncio.Event) -> None:
        while not over.is_set():
            simulated = self._clock.wall_seconds(self.configuration.heartbeat_interval_s)
            await asyncio.sleep(max(simulated, self.settings.min_heartbeat_wall_s))
            if not over.is_set():
                await self._channel.notify(call.Heartbeat())

    # -- CommandedStation: what the CSMS's commands act on ------------------------------------

    def command_received(self, action: str) -> None:
        self._commands_received[str(action)] += 1
        self._channel.emit(EventKind.COMMAND_RECEIVED, detail=str(action))
        self.log.info("simulator.command_received", action=str(action))

    def has_connector(self, connector_id: int) -> bool:
        return self._sessions.has_connector(connector_id)

    def reserve_remote_start(self, *, id_tag: str, connector_id: int | None) -> bool:
        return self._sessions.reserve_remote_start(id_tag=id_tag, connector_id=connector_id)

    def begin_reserved_remote_starts(self) -> None:
        for session in self._sessions.reserved_remote_starts():
            self._spawn(session)

    def stop_transaction(self, *, transaction_id: int, reason: StopReason) -> bool:
        return self._sessions.stop_transaction(transaction_id=transaction_id, reason=reason)

    def stop_connector(self, *, connector_id: int, reason: StopReason) -> None:
        self._sessions.stop_connector(connector_id=connector_id, reason=reason)

    def stop_all(self, *, reason: StopReason) -> None:
        self._sessions.stop_all(reason=reason)

    def trigger(self, *, requested_message: str, connector_id: int | None) -> None:
        self._spawn(
            self._send_triggered(requested_message=requested_message, connector_id=connector_id)
        )

    async def _send_triggered(self, *, requested_message: str, connector_id: int | None) -> None:
        if requested_message == MessageTrigger.boot_notification:
            await self._send_boot_notification()
        elif requested_message == MessageTrigger.heartbeat:
            await self._channel.notify(call.Heartbeat())
        elif requested_message == MessageTrigger.status_notification:
            await self._sessions.send_triggered_status(connector_id=connector_id)
        elif requested_message == MessageTrigger.meter_values:
            await self._sessions.send_triggered_meter_values(connector_id=connector_id)
        elif requested_message == MessageTrigger.firmware_status_notification:
            await self._channel.notify(call.FirmwareStatusNotification(status=FirmwareStatus.idle))
        elif requested_message == MessageTrigger.diagnostics_status_notification:
            await self._channel.notify(
                call.DiagnosticsStatusNotification(status=DiagnosticsStatus.idle)
            )

    # -- background work started by commands --------------------------------------------------

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(self._guarded(work))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _guarded(self, work: Coroutine[Any, Any, None]) -> None:
        try:
            await work
        except (MessageFailed, ConnectionClosed):
            pass  # recorded already / the reader task reports the lost connection
        except Exception:
            self.log.exception("simulator.command_task_failed")

    async def _cancel_tasks(self) -> None:
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def _caused_by(error: BaseException, kind: type[BaseException]) -> bool:
    if isinstance(error, kind):
        return True
    if isinstance(error, BaseExceptionGroup):
        return error.subgroup(kind) is not None
    return False
