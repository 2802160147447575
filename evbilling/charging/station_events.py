"""What stations report about themselves: login, boot, heartbeat, connector status.

Each function is one OCPP message's work inside the caller's transaction; the OCPP edge
commits before it answers the station.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from evbilling.charging.repository import ChargingRepository
from evbilling.infra.logging import get_logger
from evbilling.kit import EVBillingError
from evbilling.stations.repository import StationRepository

log = get_logger(__name__)

# Connectors a station may report beyond its registered EVSEs are created on first sight with
# this power limit; operators correct it through the API.
DEFAULT_MAX_POWER_W = 22_000
MAX_CONNECTOR_ID = 32


class UnknownConnector(EVBillingError):
    """The connector id is outside what a station can have."""


@dataclass(frozen=True, slots=True)
class StationRef:
    id: int
    operator_id: int
    identity: str
    # Shows running and final costs on its display (OCA California pricing messages).
    pricing_display: bool = False


@dataclass(frozen=True, slots=True)
class StationInfo:
    vendor: str
    model: str
    serial_number: str | None = None
    firmware_version: str | None = None
    iccid: str | None = None
    imsi: str | None = None
    meter_type: str | None = None
    meter_serial_number: str | None = None


@dataclass(frozen=True, slots=True)
class StationCredentials:
    """What a station may log in with: its current password and, after a rotation it
    accepted, the new one it has not logged in with yet (argon2 hashes)."""

    station: StationRef
    password_hash: str
    pending_password_hash: str | None


async def station_login(*, db: AsyncSession, identity: str) -> StationCredentials | None:
    """The station and its password hashes, for authentication at the WebSocket upgrade."""
    login = await ChargingRepository(db).station_login(identity)
    if login is None or login.password_hash is None:
        return None  # unknown, or no password set yet: it cannot connect
    station = StationRef(
        id=login.id,
        operator_id=login.operator_id,
        identity=login.identity,
        pricing_display=login.pricing_display,
    )
    return StationCredentials(
        station=station,
        password_hash=login.password_hash,
        pending_password_hash=login.pending_password_hash,
    )


async def promote_pending_password(
    *, db: AsyncSession, station: StationRef, pending_hash: str, now: datetime
) -> bool:
    """The station logged in with its pending password: from now on that is its password and
    the previous one no longer works (one unit of work). False when a newer rotation has
    replaced that pending password meanwhile: the login is then refused."""
    promoted = await StationRepository(db).promote_pending_password(
        station_id=station.id, pending_hash=pending_hash, now=now
    )
    if promoted:
        log.info("station.password_promoted", station=station.identity)
    return promoted


async def record_boot(
    *, db: AsyncSession, station: StationRef, info: StationInfo, now: datetime
) -> None:
    row = await ChargingRepository(db).station(station.id)
    if row is None:  # deleted while connected
        raise UnknownConnector(f"station {station.identity} no longer exists")
    row.vendor = info.vendor
    row.model = info.model
    row.serial_number = info.serial_number
    row.firmware_version = info.firmware_version
    row.iccid = info.iccid
    row.imsi = info.imsi
    row.meter_type = info.meter_type
    row.meter_serial_number = info.meter_serial_number
    row.registration_status = "Accepted"
    row.last_boot_at = now
    row.last_heartbeat_at = now
    row.updated_at = now
    await db.flush()


async def record_heartbeat(*, db: AsyncSession, station: StationRef, now: datetime) -> None:
    await ChargingRepository(db).touch_heartbeat(station_id=station.id, now=now)


async def evse_for(
    repo: ChargingRepository, *, station: StationRef, connector_id: int, now: datetime
) -> int:
    """The EVSE id of a station's connector, created on first sight."""
    if not 1 <= connector_id <= MAX_CONNECTOR_ID:
        raise UnknownConnector(f"connectorId must be 1..{MAX_CONNECTOR_ID}, got {connector_id}")
    evse = await repo.evse(station_id=station.id, connector_id=connector_id)
    if evse is None:
        evse = await repo.add_evse(
            station_id=station.id,
            connector_id=connector_id,
            max_power_w=DEFAULT_MAX_POWER_W,
            now=now,
        )
        log.info("evse.discovered", station=station.identity, connector_id=connector_id)
    return evse.id


async def record_status(
    *,
    db: AsyncSession,
    station: StationRef,
    connector_id: int,
    status: str,
    error_code: str,
    timestamp: datetime | None,
    info: str | None,
    vendor_id: str | None,
    vendor_error_code: str | None,
    now: datetime,
) -> None:
    """Keep the full history (parking and idle time are billed from it) and the latest state."""
    repo = ChargingRepository(db)
    at = timestamp or now
    if connector_id != 0:
        await evse_for(repo, station=station, connector_id=connector_id, now=now)
        evse = await repo.evse(station_id=station.id, connector_id=connector_id)
        if evse is not None and (evse.status_at is None or evse.status_at <= at):
            evse.status = status
            evse.error_code = error_code
            evse.status_at = at
            evse.updated_at = now
    elif connector_id < 0:
        raise UnknownConnector("connectorId must not be negative")
    await repo.add_status_event(
        station_id=station.id,
        connector_id=connector_id,
        status=status,
        error_code=error_code,
        info=info,
        vendor_id=vendor_id,
        vendor_error_code=vendor_error_code,
        timestamp=at,
        received_at=now,
    )
