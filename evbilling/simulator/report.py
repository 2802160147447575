"""What a simulation reports: per session, per station and overall, and the progress events
a live display can follow (they carry no idTags)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from evbilling.simulator.errors import ErrorKind
from evbilling.simulator.power import StopReason


class SessionOrigin(StrEnum):
    LOCAL = "local"  # a driver presented a card at the station
    REMOTE = "remote"  # RemoteStartTransaction from the CSMS


class SessionOutcome(StrEnum):
    COMPLETED = "completed"
    AUTHORIZATION_REJECTED = "authorization_rejected"  # Authorize not Accepted: no transaction
    DEAUTHORIZED = "deauthorized"  # StartTransaction idTagInfo not Accepted: stopped at once
    FAILED = "failed"  # a transaction message got a CALLERROR or no answer


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
