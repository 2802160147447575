"""A station's connectors and the charging sessions on them: planned ones (a driver's card at
the station) and remote ones (RemoteStartTransaction), from Authorize to Available, each
reported as a SessionRecord."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Coroutine, Iterator
from datetime import datetime
from typing import Any

from ocpp.v16 import call
from ocpp.v16.enums import (
    AuthorizationStatus,
    ChargePointErrorCode,
    ChargePointStatus,
    ReadingContext,
)

from evbilling.simulator.channel import StationChannel
from evbilling.simulator.clock import ScaledClock, pause
from evbilling.simulator.configuration import StationConfiguration
from evbilling.simulator.connector import ActiveSession, Connector, used_connector
from evbilling.simulator.errors import MessageFailed
from evbilling.simulator.meter import (
    format_timestamp,
    read_meter,
    register_meter_value,
    sampled_meter_value,
)
from evbilling.simulator.power import ChargeState, StopReason, VehicleChargeModel, plan_session
from evbilling.simulator.report import EventKind, SessionOrigin, SessionOutcome, SessionRecord
from evbilling.simulator.settings import SimulatedStationConfig, SimulationSettings


class ConnectorSessions:
    """Runs sessions on the connectors; stops them when the driver, the CSMS or a reset asks."""

    def __init__(
        self,
        *,
        config: SimulatedStationConfig,
        settings: SimulationSettings,
        clock: ScaledClock,
        channel: StationChannel,
        configuration: StationConfiguration,
        shutdown: asyncio.Event,
    ) -> None:
        self._config = config
        self._settings = settings
        self._clock = clock
        self._channel = channel
        self._configuration = configuration
        self._shutdown = shutdown
        self._connectors = {
            number: used_connector(number=number, station_id=config.station_id, seed=settings.seed)
            for number in range(1, config.connectors + 1)
        }
        self._pending_remote_starts: deque[tuple[Connector, str]] = deque()
        self.records: list[SessionRecord] = []

    def has_connector(self, connector_id: int) -> bool:
        return connector_id in self._connectors

    def first_busy(self) -> Connector | None:
        return next((c for c in self._connectors.values() if c.busy), None)

    # -- planned sessions -----------------------------------------------------------------

    def schedule(self) -> dict[Connector, list[str]]:
        """Round-robin over the connectors that take planned sessions (not `remote_only`):
        session k goes to the (k mod n)-th of them with idTag k mod len(tags)."""
        planned = [
            c for number, c in self._connectors.items() if number not in self._config.remote_only
        ]
        schedule: dict[Connector, list[str]] = {c: [] for c in planned}
        tags = self._config.id_tags
        for k in range(self._settings.sessions_per_station):
            schedule[planned[k % len(planned)]].append(tags[k % len(tags)])
        return schedule

    async def run_planned(self, connector: Connector, id_tags: list[str]) -> None:
        for id_tag in id_tags:
            pause_s = connector.rng.randint(*self._settings.pause_between_sessions_s)
            if await pause(self._clock, pause_s, self._shutdown):
                return
            while connector.busy:  # a remote start got there first
                await connector.freed.wait()
            if self._shutdown.is_set():
                return
            connector.reserve()
            await self._run_session(connector, id_tag=id_tag, origin=SessionOrigin.LOCAL)

    # -- remote starts and stops ----------------------------------------------------------

    def reserve_remote_start(self, *, id_tag: str, connector_id: int | None) -> bool:
        if connector_id is None:
            free = [c for c in self._connectors.values() if not c.busy]
            connector = free[0] if free else None
        else:
            connector = self._connectors.get(connector_id)
        if connector is None or connector.busy or self._shutdown.is_set():
            return False
        connector.reserve()
        self._pending_remote_starts.append((connector, id_tag))
        return True

    def reserved_remote_starts(self) -> Iterator[Coroutine[Any, Any, None]]:
        """The sessions of the accepted remote starts, to run once the answer went out."""
        while self._pending_remote_starts:
            connector, id_tag = self._pending_remote_starts.popleft()
            yield self._run_session(connector, id_tag=id_tag, origin=SessionOrigin.REMOTE)

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

    # -- one session ----------------------------------------------------------------------

    async def _run_session(
        self, connector: Connector, *, id_tag: str, origin: SessionOrigin
    ) -> None:
        """One session on a reserved connector, from the card (or remote start) to Available."""
        try:
            record = await self._session(connector, id_tag=id_tag, origin=origin)
            if record is not None:
                self.records.append(record)
        finally:
            connector.release()

    async def _session(
        self, connector: Connector, *, id_tag: str, origin: SessionOrigin
    ) -> SessionRecord | None:
        number = connector.connector_id
        if origin is SessionOrigin.LOCAL:
            # AuthorizeRemoteTxRequests is false: only a card at the station is authorized.
            try:
                authorized = await self._channel.call(call.Authorize(id_tag=id_tag))
            except MessageFailed:
                return SessionRecord(
                    connector_id=number, id_tag=id_tag, origin=origin, outcome=SessionOutcome.FAILED
                )
            status = str(authorized.id_tag_info["status"])
            if status != AuthorizationStatus.accepted:
                self._channel.emit(
                    EventKind.AUTHORIZATION_REJECTED, connector_id=number, detail=status
                )
                self._channel.log.info(
                    "simulator.authorization_rejected",
                    connector_id=number,
                    id_tag=id_tag,
                    status=status,
                )
                return SessionRecord(
                    connector_id=number,
                    id_tag=id_tag,
                    origin=origin,
                    outcome=SessionOutcome.AUTHORIZATION_REJECTED,
                )

        await self.send_status(number, ChargePointStatus.preparing)
        plan = plan_session(rng=connector.rng, settings=self._settings)
        model = VehicleChargeModel(
            plan=plan, station_max_power_w=self._config.max_power_w, meter=connector.meter
        )
        active = ActiveSession(
            connector_id=number,
            id_tag=id_tag,
            origin=origin,
            started_at=self._clock.now(),
            model=model,
        )
        connector.session = active
        meter_start = model.start_register_wh
        try:
            started = await self._channel.call(
                call.StartTransaction(
                    connector_id=number,
                    id_tag=id_tag,
                    meter_start=meter_start,
                    timestamp=format_timestamp(active.started_at),
                )
            )
        except MessageFailed:
            await self.send_status(number, ChargePointStatus.available)
            return SessionRecord(
                connector_id=number, id_tag=id_tag, origin=origin, outcome=SessionOutcome.FAILED
            )
        active.transaction_id = int(started.transaction_id)
        accepted = str(started.id_tag_info["status"]) == AuthorizationStatus.accepted
        self._channel.emit(
            EventKind.SESSION_STARTED,
            connector_id=number,
            transaction_id=active.transaction_id,
            detail=plan.vehicle.name,
        )
        self._channel.log.info(
            "simulator.session_started",
            connector_id=number,
            transaction_id=active.transaction_id,
            id_tag=id_tag,
            origin=origin.value,
            vehicle=plan.vehicle.name,
        )

        if accepted:
            await self.send_status(number, ChargePointStatus.charging)
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
        self._channel.emit(
            EventKind.SESSION_STOPPED,
            connector_id=number,
            transaction_id=active.transaction_id,
            energy_wh=meter_stop - meter_start,
            detail=reason.value,
        )
        self._channel.log.info(
            "simulator.session_stopped",
            connector_id=number,
            transaction_id=active.transaction_id,
            energy_wh=meter_stop - meter_start,
            reason=reason.value,
            outcome=outcome.value,
        )
        await self.send_status(number, ChargePointStatus.finishing)
        await self.send_status(number, ChargePointStatus.available)
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
        self, connector: Connector, active: ActiveSession
    ) -> tuple[StopReason, datetime]:
        """Sample the meter every interval until the driver (or the CSMS) ends the session."""
        model = active.model
        while True:
            interval_s = self._configuration.sample_interval_s or connector.rng.randint(
                *self._settings.meter_interval_s
            )
            interrupted = await pause(self._clock, interval_s, active.stop_requested)
            self._catch_up(active)
            await self._announce_suspension(active)
            if model.state is ChargeState.FINISHED:
                return model.plan.stop_reason, active.at(model.elapsed_s)
            if interrupted and active.stop_reason is not None:
                return active.stop_reason, active.at(model.elapsed_s)
            await self._send_meter_values(connector, active, context=ReadingContext.sample_periodic)

    def _catch_up(self, active: ActiveSession) -> None:
        # The model follows the simulated clock, so energy always matches elapsed time; it
        # stops by itself when the session finishes between two samples.
        elapsed_s = int((self._clock.now() - active.started_at).total_seconds())
        if elapsed_s > active.model.elapsed_s:
            active.model.advance(seconds=elapsed_s - active.model.elapsed_s)

    async def _announce_suspension(self, active: ActiveSession) -> None:
        full_at_s = active.model.full_at_s
        if full_at_s is None or active.suspension_announced:
            return
        active.suspension_announced = True
        if active.model.plan.idle_after_full_s == 0:
            return
        at = active.at(full_at_s)
        await self.send_status(active.connector_id, ChargePointStatus.suspended_ev, at=at)
        self._channel.emit(
            EventKind.SESSION_SUSPENDED,
            connector_id=active.connector_id,
            transaction_id=active.transaction_id,
            energy_wh=active.model.delivered_wh,
            detail="battery full",
        )

    async def _send_meter_values(
        self, connector: Connector, active: ActiveSession, *, context: str
    ) -> None:
        model = active.model
        reading = read_meter(
            register_wh=model.register_wh,
            power_w=model.power_w if model.state is ChargeState.CHARGING else 0,
            phases=model.plan.vehicle.phases,
            soc_percent=model.soc_percent,
            rng=connector.rng,
        )
        sent = await self._channel.notify(
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
        active: ActiveSession,
        *,
        meter_start: int,
        meter_stop: int,
        reason: StopReason,
        at: datetime,
    ) -> None:
        await self._channel.call(
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

    # -- status and triggered messages ----------------------------------------------------

    async def send_status(
        self, connector_id: int, status: str, *, at: datetime | None = None
    ) -> None:
        connector = self._connectors.get(connector_id)
        if connector is not None:
            connector.status = status
        await self._channel.notify(
            call.StatusNotification(
                connector_id=connector_id,
                error_code=ChargePointErrorCode.no_error,
                status=status,
                timestamp=format_timestamp(at or self._clock.now()),
            )
        )

    async def send_triggered_status(self, *, connector_id: int | None) -> None:
        """The current status of one connector (0: the station), or of all with the station."""
        numbers = [connector_id] if connector_id is not None else range(self._config.connectors + 1)
        for number in numbers:
            connector = self._connectors.get(number)
            status = connector.status if connector else ChargePointStatus.available
            await self.send_status(number, status)

    async def send_triggered_meter_values(self, *, connector_id: int | None) -> None:
        """Meter values of one connector or of all (None or 0)."""
        for connector in self._connectors.values():
            if connector_id in (None, 0, connector.connector_id):
                await self._send_triggered_meter_values(connector)

    async def _send_triggered_meter_values(self, connector: Connector) -> None:
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
        await self._channel.notify(
            call.MeterValues(connector_id=connector.connector_id, meter_value=[value])
        )
