"""Which tariff prices a charge, on a migrated database (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from evbilling.drivers import service as drivers
from evbilling.infra.context import ServiceContext
from evbilling.kit.errors import NotFound
from evbilling.locations import service as locations
from evbilling.rating import resolution
from evbilling.stations import evse_service as evses
from evbilling.stations import service as stations
from evbilling.tariffs import service as tariffs
from tests.integration.arrange import (
    OFFLINE,
    START,
    add_driver,
    add_group,
    add_location,
    add_operator,
    add_station,
    add_tariff,
    simple,
)


class TestResolveTariff:
    async def test_follows_precedence_driver_group_evse_station_location_default(
        self, context: ServiceContext, operator_id: int
    ) -> None:
        # Arrange: a tariff at every level, then remove them from the top down.
        default = await add_tariff(context, operator_id, name="Default", is_default=True)
        at_location = await add_tariff(context, operator_id, name="Location")
        at_station = await add_tariff(context, operator_id, name="Station")
        at_evse = await add_tariff(context, operator_id, name="EVSE")
        for_group = await add_tariff(context, operator_id, name="Group")
        for_driver = await add_tariff(context, operator_id, name="Driver")
        location_id = await add_location(context, operator_id, tariff_id=at_location)
        created = await add_station(
            context, operator_id, location_id=location_id, tariff_id=at_station
        )
        station_id = created.station.id
        evse_id = created.station.evses[0].id
        group_id = await add_group(context, operator_id, tariff_id=for_group)
        driver_id = await add_driver(context, operator_id, tariff_id=for_driver, group_id=group_id)
        async with context.unit_of_work() as db:
            await evses.update_evse(
                db=db,
                operator_id=operator_id,
                evse_id=evse_id,
                tariff_id=at_evse,
                now=context.clock.now(),
            )
            await db.commit()

        async def resolved() -> int | None:
            async with context.unit_of_work() as db:
                snapshot = await resolution.resolve_tariff(
                    db=db,
                    operator_id=operator_id,
                    station_id=station_id,
                    evse_id=evse_id,
                    driver_id=driver_id,
                    at=START,
                )
            return None if snapshot is None else snapshot.tariff_id

        async def clear(update: Any, **key: object) -> None:
            async with context.unit_of_work() as db:
                await update(
                    db=db,
                    operator_id=operator_id,
                    tariff_id=None,
                    now=context.clock.now(),
                    **key,
                )
                await db.commit()

        # Act / Assert
        assert await resolved() == for_driver
        await clear(drivers.update_driver, driver_id=driver_id)
        assert await resolved() == for_group
        await clear(drivers.update_driver_group, group_id=group_id)
        assert await resolved() == at_evse
        await clear(evses.update_evse, evse_id=evse_id)
        assert await resolved() == at_station
        await clear(stations.update_station, station=station_id, commands=OFFLINE)
        assert await resolved() == at_location
        await clear(locations.update_location, location_id=location_id)
        assert await resolved() == default
        async with context.unit_of_work() as db:
            await tariffs.update_tariff(
                db=db,
                operator_id=operator_id,
                tariff_id=default,
                is_default=False,
                now=context.clock.now(),
            )
            await db.commit()
        assert await resolved() is None

    async def test_passes_over_tariffs_outside_their_validity_window(
        self, context: ServiceContext, operator_id: int
    ) -> None:
        # Arrange: the driver's tariff starts tomorrow, the station's ended yesterday.
        default = await add_tariff(context, operator_id, name="Default", is_default=True)
        future = await add_tariff(
            context, operator_id, ocpi={**simple(), "start_date_time": "2026-03-03T00:00:00Z"}
        )
        past = await add_tariff(
            context, operator_id, ocpi={**simple(), "end_date_time": "2026-03-02T09:00:00Z"}
        )
        created = await add_station(context, operator_id, tariff_id=past)
        driver_id = await add_driver(context, operator_id, tariff_id=future)

        async def resolved(at: datetime) -> int | None:
            async with context.unit_of_work() as db:
                snapshot = await resolution.resolve_tariff(
                    db=db,
                    operator_id=operator_id,
                    station_id=created.station.id,
                    evse_id=None,
                    driver_id=driver_id,
                    at=at,
                )
            return None if snapshot is None else snapshot.tariff_id

        # Act / Assert: end_date_time is exclusive, start_date_time inclusive.
        assert await resolved(START) == default
        assert await resolved(START - timedelta(microseconds=1)) == past
        assert await resolved(datetime(2026, 3, 3, tzinfo=UTC)) == future

    async def test_returns_the_current_version_as_a_snapshot(
        self, context: ServiceContext, operator_id: int
    ) -> None:
        # Arrange
        tariff_id = await add_tariff(context, operator_id, price="0.35", is_default=True)
        created = await add_station(context, operator_id)
        async with context.unit_of_work() as db:
            updated = await tariffs.update_tariff(
                db=db,
                operator_id=operator_id,
                tariff_id=tariff_id,
                ocpi=simple(price="0.42"),
                now=context.clock.now(),
            )
            await db.commit()

        # Act
        async with context.unit_of_work() as db:
            snapshot = await resolution.resolve_tariff(
                db=db,
                operator_id=operator_id,
                station_id=created.station.id,
                evse_id=None,
                driver_id=None,
                at=START,
            )
            zone = await resolution.station_time_zone(
                db=db, operator_id=operator_id, station_id=created.station.id
            )

        # Assert
        assert snapshot == resolution.TariffSnapshot(
            tariff_id=tariff_id,
            version=2,
            name="Standard",
            currency="EUR",
            ocpi_json=updated.ocpi_json,
        )
        assert zone == "Europe/Berlin"

    async def test_evse_of_another_station_is_not_found(
        self, context: ServiceContext, operator_id: int
    ) -> None:
        # Arrange
        first = await add_station(context, operator_id, identity="CP-1")
        second = await add_station(context, operator_id, identity="CP-2")

        # Act / Assert
        async with context.unit_of_work() as db:
            with pytest.raises(NotFound) as raised:
                await resolution.resolve_tariff(
                    db=db,
                    operator_id=operator_id,
                    station_id=first.station.id,
                    evse_id=second.station.evses[0].id,
                    driver_id=None,
                    at=START,
                )
        assert raised.value.kind == "evse"

    async def test_station_of_another_operator_is_not_found(
        self, context: ServiceContext, operator_id: int
    ) -> None:
        # Arrange
        other_operator = await add_operator(context)
        created = await add_station(context, other_operator)

        # Act / Assert
        async with context.unit_of_work() as db:
            with pytest.raises(NotFound):
                await resolution.resolve_tariff(
                    db=db,
                    operator_id=operator_id,
                    station_id=created.station.id,
                    evse_id=None,
                    driver_id=None,
                    at=START,
                )
            with pytest.raises(NotFound):
                await resolution.station_time_zone(
                    db=db, operator_id=operator_id, station_id=created.station.id
                )
