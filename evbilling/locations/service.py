"""Location use cases. Every function is keyword-only, takes the caller's `operator_id` and
treats a location of another operator exactly like a missing one (NotFound); a tariff of
another operator in a request is InvalidRequest on `tariff_id`. Functions flush but never
commit."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from evbilling.infra.db.repository import OffsetPage, PageRequest
from evbilling.infra.db.updates import (
    UNSET,
    Rules,
    Unset,
    check_reference,
    update_fields,
    validate_fields,
)
from evbilling.infra.validation import (
    MAX_NAME_LENGTH,
    check_page,
    optional_text,
    record_id,
    required_text,
    value_or_none,
)
from evbilling.locations.domain import (
    MAX_ADDRESS_LENGTH,
    MAX_CITY_LENGTH,
    MAX_POSTAL_CODE_LENGTH,
    CountryCode,
    TimeZone,
)
from evbilling.locations.repository import LocationRepository
from evbilling.models import Location
from evbilling.tariffs.service import check_tariff


def _rules(db: AsyncSession, *, operator_id: int) -> Rules:
    return {
        "name": lambda value: required_text(value, field="name", max_length=MAX_NAME_LENGTH),
        "address": lambda value: optional_text(
            value, field="address", max_length=MAX_ADDRESS_LENGTH
        ),
        "city": lambda value: optional_text(value, field="city", max_length=MAX_CITY_LENGTH),
        "postal_code": lambda value: optional_text(
            value, field="postal_code", max_length=MAX_POSTAL_CODE_LENGTH
        ),
        "country": lambda value: value_or_none(CountryCode, value, field="country"),
        "time_zone": lambda value: str(TimeZone.parse(value)),
        "tariff_id": lambda value: check_tariff(db, operator_id=operator_id, tariff_id=value),
    }


async def check_location(db: AsyncSession, *, operator_id: int, location_id: object) -> int:
    """A location a station is placed at: one of this operator's."""
    # Never null: a station always has a location.
    location = record_id(location_id, field="location_id")
    await check_reference(
        LocationRepository(db), location, owner_id=operator_id, field="location_id", kind="location"
    )
    return location


async def create_location(
    *,
    db: AsyncSession,
    operator_id: int,
    name: str,
    time_zone: str,
    now: datetime,
    address: str | None = None,
    city: str | None = None,
    postal_code: str | None = None,
    country: str | None = None,
    tariff_id: int | None = None,
) -> Location:
    values = await validate_fields(
        {
            "name": name,
            "address": address,
            "city": city,
            "postal_code": postal_code,
            "country": country,
            "time_zone": time_zone,
            "tariff_id": tariff_id,
        },
        _rules(db, operator_id=operator_id),
    )
    locations = LocationRepository(db)
    row = locations.add(Location(**values, operator_id=operator_id, created_at=now, updated_at=now))
    await locations.flush()
    return row


async def get_location(*, db: AsyncSession, operator_id: int, location_id: int) -> Location:
    row = await LocationRepository(db).get_owned(id=location_id, owner_id=operator_id)
    return row


async def list_locations(
    *, db: AsyncSession, operator_id: int, page: PageRequest = PageRequest()
) -> OffsetPage[Location]:
    check_page(page)
    return await LocationRepository(db).list(
        operator_id=operator_id, limit=page.limit, offset=page.offset
    )


async def update_location(
    *,
    db: AsyncSession,
    operator_id: int,
    location_id: int,
    now: datetime,
    name: str | Unset = UNSET,
    address: str | Unset | None = UNSET,
    city: str | Unset | None = UNSET,
    postal_code: str | Unset | None = UNSET,
    country: str | Unset | None = UNSET,
    time_zone: str | Unset = UNSET,
    tariff_id: int | Unset | None = UNSET,
) -> Location:
    locations = LocationRepository(db)
    row = await locations.get_owned_for_update(id=location_id, owner_id=operator_id)
    given: dict[str, object] = {
        "name": name,
        "address": address,
        "city": city,
        "postal_code": postal_code,
        "country": country,
        "time_zone": time_zone,
        "tariff_id": tariff_id,
    }
    if await update_fields(row, given=given, rules=_rules(db, operator_id=operator_id), now=now):
        await locations.flush()
    return row
