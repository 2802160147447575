"""Location use cases on a migrated database (SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest

from evbilling.infra.context import ServiceContext
from evbilling.infra.db.repository import PageRequest
from evbilling.kit import FixedClock
from evbilling.kit.errors import InvalidRequest
from evbilling.locations import service as locations
from tests.integration.arrange import (
    add_location,
    add_operator,
    add_tariff,
)


class TestLocationService:
    async def test_creates_reads_and_partially_updates(
        self, context: ServiceContext, operator_id: int, clock: FixedClock
    ) -> None:
        # Arrange
        location_id = await add_location(context, operator_id)
        clock.advance(seconds=5)

        # Act
        async with context.unit_of_work() as db:
            await locations.update_location(
                db=db,
                operator_id=operator_id,
                location_id=location_id,
                city="Berlin",
                country=None,
                now=clock.now(),
            )
            await db.commit()
        async with context.unit_of_work() as db:
            read = await locations.get_location(
                db=db, operator_id=operator_id, location_id=location_id
            )

        # Assert
        assert (read.name, read.city, read.country) == ("Depot", "Berlin", None)
        assert read.time_zone == "Europe/Berlin"
        assert read.updated_at == clock.now()

    @pytest.mark.parametrize(
        ("field", "value"),
        [
            ("time_zone", "Mars/Olympus"),
            ("time_zone", "../etc/passwd"),
            ("country", "de"),
            ("country", "DE"),
            ("name", ""),
            ("tariff_id", 999),
        ],
    )
    async def test_rejects_invalid_fields(
        self, context: ServiceContext, operator_id: int, field: str, value: object
    ) -> None:
        # Arrange
        values: dict[str, object] = {"name": "Depot", "time_zone": "UTC", field: value}

        # Act / Assert
        async with context.unit_of_work() as db:
            with pytest.raises(InvalidRequest) as raised:
                await locations.create_location(
                    db=db,
                    operator_id=operator_id,
                    now=context.clock.now(),
                    **values,  # type: ignore[arg-type]
                )
        assert raised.value.field == field

    async def test_refuses_a_tariff_of_another_operator(
        self, context: ServiceContext, operator_id: int
    ) -> None:
        # Arrange
        other_operator = await add_operator(context)
        foreign_tariff = await add_tariff(context, other_operator)
        location_id = await add_location(context, operator_id)

        # Act / Assert
        async with context.unit_of_work() as db:
            with pytest.raises(InvalidRequest) as raised:
                await locations.update_location(
                    db=db,
                    operator_id=operator_id,
                    location_id=location_id,
                    tariff_id=foreign_tariff,
                    now=context.clock.now(),
                )
        assert raised.value.field == "tariff_id"

    async def test_lists_only_own_locations_with_total(
        self, context: ServiceContext, operator_id: int
    ) -> None:
        # Arrange
        other_operator = await add_operator(context)
        await add_location(context, other_operator)
        mine = [await add_location(context, operator_id) for _ in range(3)]

        # Act
        async with context.unit_of_work() as db:
            page = await locations.list_locations(
                db=db, operator_id=operator_id, page=PageRequest(limit=2, offset=1)
            )

        # Assert
        assert [location.id for location in page.rows] == mine[1:]
        assert (page.total, page.limit, page.offset) == (3, 2, 1)
