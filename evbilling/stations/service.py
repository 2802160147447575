"""Station use cases: register a station with its EVSEs, read, move, switch its price display,
set its password, or keep the new one a station accepted as pending (the commands slice
sends it: ChangeConfiguration AuthorizationKey). EVSEs have their own module (`evse_service`).

Every function is keyword-only, takes the caller's `operator_id` and treats a station of
another operator exactly like a missing one (NotFound). Stations are addressed by id or by
identity (`StationKey`). Functions flush but never commit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from evbilling.infra.db.repository import DuplicateRow, OffsetPage, PageRequest
from evbilling.infra.db.updates import UNSET, Rules, Unset, update_fields, validate_fields
from evbilling.infra.secrets import (
    MAX_ROTATED_STATION_PASSWORD,
    MAX_STATION_PASSWORD,
    WeakPassword,
    check_station_password,
    generate_station_password,
    hash_secret_async,
)
from evbilling.infra.station_link import StationCommandPort
from evbilling.infra.validation import check_page, flag, int_in_range
from evbilling.kit.errors import Conflict, InvalidRequest, NotFound
from evbilling.locations.service import check_location
from evbilling.models import Evse, Station
from evbilling.stations.domain import (
    DEFAULT_MAX_POWER_W,
    MAX_CONNECTORS,
    MAX_POWER_W,
    MIN_CONNECTORS,
    MIN_POWER_W,
    StationIdentity,
    StationKey,
)
from evbilling.stations.repository import EvseRepository, StationRepository
from evbilling.tariffs.service import check_tariff


@dataclass(frozen=True, slots=True)
class StationState:
    """A station row with what the row does not hold: its EVSEs and whether it is connected
    to this server now. Every other attribute reads through to the row, so read schemas
    validate from it as from the row itself (the password hash is simply not one of their
    fields)."""

    row: Station
    evses: Sequence[Evse]
    connected: bool

    def __getattr__(self, name: str) -> Any:
        if name == "row":  # not set yet (copying, unpickling): no row to read through to
            raise AttributeError(name)
        return getattr(self.row, name)

    @property
    def password_pending(self) -> bool:
        """The station accepted a new password and has not logged in with it yet."""
        return self.row.pending_password_hash is not None


@dataclass(frozen=True, slots=True)
class CreatedStation:
    station: StationState
    password: str  # shown once; only its argon2 hash is stored


@dataclass(frozen=True, slots=True)
class StationPassword:
    station_id: int
    identity: str
    password: str  # shown once; only its argon2 hash is stored


def _rules(db: AsyncSession, *, operator_id: int) -> Rules:
    return {
        "location_id": lambda value: check_location(db, operator_id=operator_id, location_id=value),
        "tariff_id": lambda value: check_tariff(db, operator_id=operator_id, tariff_id=value),
        "pricing_display": lambda value: flag(value, field="pricing_display"),
    }


def _password(value: object, *, max_length: int = MAX_STATION_PASSWORD) -> str:
    if not isinstance(value, str):
        raise InvalidRequest("must be text", field="password")
    try:
        return check_station_password(value, max_length=max_length)
    except WeakPassword as exc:
        raise InvalidRequest(str(exc), field="password") from exc


def new_station_password(password: str | None) -> str:
    """A password to send a station (given, or generated): 16..20 printable ASCII characters,
    so its hexadecimal form fits AuthorizationKey's 40 digits."""
    if password is None:
        return generate_station_password()
    return _password(password, max_length=MAX_ROTATED_STATION_PASSWORD)


async def find_station(
    db: AsyncSession, *, operator_id: int, station: StationKey, for_update: bool = False
) -> Station:
    """The operator's station by identity, or by id (an int, or text of digits that is no
    identity); NotFound otherwise."""
    stations = StationRepository(db)
    row: Station | None = None
    key: int | None = None
    if isinstance(station, str):
        row = await stations.by_identity(
            identity=station, operator_id=operator_id, for_update=for_update
        )
        if row is None and station.isascii() and station.isdigit():
            key = int(station)
    else:
        key = station
    if row is None and key is not None:
        load = stations.get_for_update if for_update else stations.get
        row = await load(id=key, owner_id=operator_id)
    if row is None:
        raise NotFound(kind="station", key=station)
    return row


async def _state(db: AsyncSession, row: Station, *, commands: StationCommandPort) -> StationState:
    evses = await EvseRepository(db).for_stations(station_ids=[row.id])
    return StationState(row=row, evses=evses[row.id], connected=commands.is_connected(row.identity))


async def create_station(
    *,
    db: AsyncSession,
    operator_id: int,
    identity: str,
    location_id: int,
    now: datetime,
    commands: StationCommandPort,
    tariff_id: int | None = None,
    password: str | None = None,
    connectors: int = 1,
    max_power_w: int = DEFAULT_MAX_POWER_W,
    pricing_display: bool = False,
) -> CreatedStation:
    """Register a station and its EVSEs (connector ids 1..connectors). The password (given or
    generated) is returned once and stored only as an argon2 hash."""
    identity = StationIdentity.parse(identity)
    connectors = int_in_range(
        connectors, field="connectors", low=MIN_CONNECTORS, high=MAX_CONNECTORS
    )
    max_power_w = int_in_range(max_power_w, field="max_power_w", low=MIN_POWER_W, high=MAX_POWER_W)
    plain = generate_station_password() if password is None else _password(password)
    values = await validate_fields(
        {"pricing_display": pricing_display, "location_id": location_id, "tariff_id": tariff_id},
        _rules(db, operator_id=operator_id),
    )
    stations = StationRepository(db)
    if await stations.identity_taken(identity=identity):
        raise Conflict(f"station identity {identity!r} is already registered")
    try:
        row = stations.add(
            Station(
                **values,
                operator_id=operator_id,
                identity=identity,
                password_hash=await hash_secret_async(plain),
                password_changed_at=now,
                created_at=now,
                updated_at=now,
            )
        )
        await stations.flush()
    except DuplicateRow as exc:
        raise Conflict(f"station identity {identity!r} is already registered") from exc
    evse_repository = EvseRepository(db)
    evses = [
        evse_repository.add(
            Evse(
                station_id=row.id,
                connector_id=connector_id,
                max_power_w=max_power_w,
                created_at=now,
                updated_at=now,
            )
        )
        for connector_id in range(1, connectors + 1)
    ]
    await evse_repository.flush()
    state = StationState(row=row, evses=evses, connected=commands.is_connected(row.identity))
    return CreatedStation(station=state, password=plain)


async def get_station(
    *, db: AsyncSession, operator_id: int, station: StationKey, commands: StationCommandPort
) -> StationState:
    row = await find_station(db, operator_id=operator_id, station=station)
    return await _state(db, row, commands=commands)


async def list_stations(
    *,
    db: AsyncSession,
    operator_id: int,
    commands: StationCommandPort,
    location_id: int | None = None,
    page: PageRequest = PageRequest(),
) -> OffsetPage[StationState]:
    check_page(page)
    found = await StationRepository(db).list(
        operator_id=operator_id, location_id=location_id, limit=page.limit, offset=page.offset
    )
    evses = await EvseRepository(db).for_stations(station_ids=[row.id for row in found.rows])
    return OffsetPage(
        rows=[
            StationState(
                row=row, evses=evses[row.id], connected=commands.is_connected(row.identity)
            )
            for row in found.rows
        ],
        total=found.total,
        limit=found.limit,
        offset=found.offset,
    )


async def update_station(
    *,
    db: AsyncSession,
    operator_id: int,
    station: StationKey,
    now: datetime,
    commands: StationCommandPort,
    location_id: int | Unset = UNSET,
    tariff_id: int | Unset | None = UNSET,
    pricing_display: bool | Unset = UNSET,
) -> StationState:
    """Move a station, (un)assign its tariff or switch its price display. The identity is
    fixed: it is the station's login name and part of its configured URL; register a new
    station to change it."""
    row = await find_station(db, operator_id=operator_id, station=station, for_update=True)
    given: dict[str, object] = {
        "location_id": location_id,
        "tariff_id": tariff_id,
        "pricing_display": pricing_display,
    }
    if await update_fields(row, given=given, rules=_rules(db, operator_id=operator_id), now=now):
        await StationRepository(db).flush()
    return await _state(db, row, commands=commands)


async def set_station_password(
    *,
    db: AsyncSession,
    operator_id: int,
    station: StationKey,
    now: datetime,
    password: str | None = None,
) -> StationPassword:
    """Replace the station's Basic-auth password at once, without asking the station (it is
    being set up, or was reset to factory settings); the new one (given or generated) is
    returned once, and the previous one and any pending one stop working. A connected station
    is better rotated (`commands.rotation`): its old password keeps working until it has
    logged in with the new one."""
    plain = generate_station_password() if password is None else _password(password)
    row = await find_station(db, operator_id=operator_id, station=station, for_update=True)
    row.password_hash = await hash_secret_async(plain)
    row.pending_password_hash = None
    row.password_changed_at = now
    row.updated_at = now
    await StationRepository(db).flush()
    return StationPassword(station_id=row.id, identity=row.identity, password=plain)


async def set_pending_password(
    *, db: AsyncSession, operator_id: int, station_id: int, password_hash: str, now: datetime
) -> None:
    """Keep a password the station accepted (or may have) beside its current one, until it
    logs in with it (`charging.station_events.promote_pending_password`). A newer one
    replaces an older pending one."""
    row = await find_station(db, operator_id=operator_id, station=station_id, for_update=True)
    row.pending_password_hash = password_hash
    row.updated_at = now
    await StationRepository(db).flush()
