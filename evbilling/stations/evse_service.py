"""EVSE use cases: add an EVSE to a station, read, list, change it. An EVSE belongs to the
operator that owns its station; another operator's is NotFound. Functions flush but never
commit."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from evbilling.infra.db.repository import DuplicateRow, OffsetPage, PageRequest, apply_changes
from evbilling.infra.db.updates import UNSET, Rules, Unset, validate_fields
from evbilling.infra.validation import check_page, int_in_range, optional_member, value_or_none
from evbilling.kit.errors import Conflict, InvalidRequest
from evbilling.models import Evse
from evbilling.stations.domain import (
    DEFAULT_MAX_POWER_W,
    MAX_CONNECTOR_ID,
    MAX_POWER_W,
    MIN_POWER_W,
    ConnectorStandard,
    EvseUid,
    PowerType,
    StationKey,
)
from evbilling.stations.repository import EvseRepository
from evbilling.stations.service import find_station
from evbilling.tariffs.service import check_tariff


def _rules(db: AsyncSession, *, operator_id: int) -> Rules:
    return {
        "max_power_w": lambda value: int_in_range(
            value, field="max_power_w", low=MIN_POWER_W, high=MAX_POWER_W
        ),
        "uid": lambda value: value_or_none(EvseUid, value, field="uid"),
        "connector_standard": lambda value: optional_member(
            value, ConnectorStandard, field="connector_standard"
        ),
        "power_type": lambda value: optional_member(value, PowerType, field="power_type"),
        "tariff_id": lambda value: check_tariff(db, operator_id=operator_id, tariff_id=value),
    }


async def _check_uid_free(evses: EvseRepository, *, uid: object, evse_id: int | None) -> None:
    """EVSE IDs are unique across stations; `evse_id` is the EVSE that may keep its own."""
    if uid is not None and await evses.uid_taken(uid=str(uid), except_id=evse_id):
        raise Conflict(f"EVSE ID {uid} is already in use")


async def list_evses(
    *,
    db: AsyncSession,
    operator_id: int,
    station: StationKey,
    page: PageRequest = PageRequest(),
) -> OffsetPage[Evse]:
    check_page(page)
    row = await find_station(db, operator_id=operator_id, station=station)
    return await EvseRepository(db).list_for_station(
        station_id=row.id, limit=page.limit, offset=page.offset
    )


async def get_evse(*, db: AsyncSession, operator_id: int, evse_id: int) -> Evse:
    row = await EvseRepository(db).get_owned(id=evse_id, owner_id=operator_id)
    return row


async def create_evse(
    *,
    db: AsyncSession,
    operator_id: int,
    station: StationKey,
    now: datetime,
    connector_id: int | None = None,
    max_power_w: int = DEFAULT_MAX_POWER_W,
    uid: str | None = None,
    connector_standard: str | None = None,
    power_type: str | None = None,
    tariff_id: int | None = None,
) -> Evse:
    """Add an EVSE to a station; without a connector id it takes the next free one."""
    row = await find_station(db, operator_id=operator_id, station=station, for_update=True)
    evses = EvseRepository(db)
    if connector_id is None:
        connector = await evses.highest_connector_id(station_id=row.id) + 1
    else:
        connector = int_in_range(connector_id, field="connector_id", low=1, high=MAX_CONNECTOR_ID)
    values = await validate_fields(
        {
            "max_power_w": max_power_w,
            "uid": uid,
            "connector_standard": connector_standard,
            "power_type": power_type,
            "tariff_id": tariff_id,
        },
        _rules(db, operator_id=operator_id),
    )
    if connector > MAX_CONNECTOR_ID:
        raise InvalidRequest(
            f"a station has at most {MAX_CONNECTOR_ID} connectors", field="connector_id"
        )
    if await evses.by_connector(station_id=row.id, connector_id=connector) is not None:
        raise Conflict(f"station {row.identity} already has connector {connector}")
    await _check_uid_free(evses, uid=values["uid"], evse_id=None)
    try:
        evse = evses.add(
            Evse(
                **values,
                station_id=row.id,
                connector_id=connector,
                created_at=now,
                updated_at=now,
            )
        )
        await evses.flush()
    except DuplicateRow as exc:
        raise Conflict(f"station {row.identity} connector {connector} or EVSE ID exists") from exc
    return evse


async def update_evse(
    *,
    db: AsyncSession,
    operator_id: int,
    evse_id: int,
    now: datetime,
    max_power_w: int | Unset = UNSET,
    uid: str | Unset | None = UNSET,
    connector_standard: str | Unset | None = UNSET,
    power_type: str | Unset | None = UNSET,
    tariff_id: int | Unset | None = UNSET,
) -> Evse:
    evses = EvseRepository(db)
    row = await evses.get_owned_for_update(id=evse_id, owner_id=operator_id)
    given: dict[str, object] = {
        "max_power_w": max_power_w,
        "uid": uid,
        "connector_standard": connector_standard,
        "power_type": power_type,
        "tariff_id": tariff_id,
    }
    changes = await validate_fields(given, _rules(db, operator_id=operator_id))
    if "uid" in changes:
        await _check_uid_free(evses, uid=changes["uid"], evse_id=row.id)
    if apply_changes(row, changes):
        row.updated_at = now
        try:
            await evses.flush()
        except DuplicateRow as exc:
            raise Conflict(f"EVSE ID {row.uid} is already in use") from exc
    return row
