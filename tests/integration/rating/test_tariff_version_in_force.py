"""The version of a tariff that prices a charge is the one in force when the charge started
(SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import datetime, timedelta

from evbilling.infra.context import ServiceContext
from evbilling.kit import FixedClock
from evbilling.rating import resolution
from evbilling.tariffs import service as tariffs
from tests.integration.arrange import START, add_station, add_tariff, simple


async def publish(context: ServiceContext, operator_id: int, tariff_id: int, price: str) -> None:
    async with context.unit_of_work() as db:
        await tariffs.update_tariff(
            db=db,
            operator_id=operator_id,
            tariff_id=tariff_id,
            ocpi=simple(price=price),
            now=context.clock.now(),
        )
        await db.commit()


async def version_at(
    context: ServiceContext, operator_id: int, station_id: int, at: datetime
) -> int | None:
    async with context.unit_of_work() as db:
        snapshot = await resolution.resolve_tariff(
            db=db,
            operator_id=operator_id,
            station_id=station_id,
            evse_id=None,
            driver_id=None,
            at=at,
        )
    return None if snapshot is None else snapshot.version


class TestVersionInForce:
    async def test_a_start_reported_late_gets_the_version_in_force_at_the_start(
        self, context: ServiceContext, operator_id: int, clock: FixedClock
    ) -> None:
        # Arrange: version 1 at 09:00, 2 at 11:00, 3 at 13:00 (the operator's clock).
        tariff_id = await add_tariff(context, operator_id, price="0.35", is_default=True)
        station = (await add_station(context, operator_id)).station.id
        for hours, price in ((2, "0.42"), (4, "0.50")):
            clock.current = START + timedelta(hours=hours)
            await publish(context, operator_id, tariff_id, price)

        # Act
        versions = [
            await version_at(context, operator_id, station, START + timedelta(hours=hours))
            for hours in (1, 2, 3, 5)
        ]

        # Assert: a version is in force from its publication (inclusive).
        assert versions == [1, 2, 2, 3]

    async def test_the_snapshot_carries_that_versions_document(
        self, context: ServiceContext, operator_id: int, clock: FixedClock
    ) -> None:
        # Arrange
        tariff_id = await add_tariff(context, operator_id, price="0.35", is_default=True)
        station = (await add_station(context, operator_id)).station.id
        clock.current = START + timedelta(hours=2)
        await publish(context, operator_id, tariff_id, "0.42")

        # Act
        async with context.unit_of_work() as db:
            snapshot = await resolution.resolve_tariff(
                db=db,
                operator_id=operator_id,
                station_id=station,
                evse_id=None,
                driver_id=None,
                at=START + timedelta(hours=1),
            )

        # Assert
        assert snapshot is not None
        assert (snapshot.version, snapshot.tariff_id) == (1, tariff_id)
        assert '"price": 0.35' in snapshot.ocpi_json
        assert "0.42" not in snapshot.ocpi_json

    async def test_a_tariff_published_after_the_start_prices_it_with_its_first_version(
        self, context: ServiceContext, operator_id: int, clock: FixedClock
    ) -> None:
        # Arrange
        tariff_id = await add_tariff(context, operator_id, is_default=True)
        station = (await add_station(context, operator_id)).station.id
        clock.current = START + timedelta(hours=1)
        await publish(context, operator_id, tariff_id, "0.42")

        # Act / Assert
        earlier = START - timedelta(days=1)
        assert await version_at(context, operator_id, station, earlier) == 1

    async def test_each_level_uses_its_own_version_at_the_start(
        self, context: ServiceContext, operator_id: int, clock: FixedClock
    ) -> None:
        # Arrange: the station's tariff gained a version that is only valid from tomorrow;
        # the version in force at the start has no window, so the station's tariff wins.
        default = await add_tariff(context, operator_id, name="Default", is_default=True)
        at_station = await add_tariff(context, operator_id, name="Station")
        station = (await add_station(context, operator_id, tariff_id=at_station)).station.id
        clock.current = START + timedelta(hours=2)
        async with context.unit_of_work() as db:
            await tariffs.update_tariff(
                db=db,
                operator_id=operator_id,
                tariff_id=at_station,
                ocpi={**simple(), "start_date_time": "2026-03-03T00:00:00Z"},
                now=context.clock.now(),
            )
            await db.commit()

        async def winner(at: datetime) -> int | None:
            async with context.unit_of_work() as db:
                snapshot = await resolution.resolve_tariff(
                    db=db,
                    operator_id=operator_id,
                    station_id=station,
                    evse_id=None,
                    driver_id=None,
                    at=at,
                )
            return None if snapshot is None else snapshot.tariff_id

        # Act / Assert: before version 2 the station's; after it (not valid yet) the default.
        assert await winner(START + timedelta(hours=1)) == at_station
        assert await winner(START + timedelta(hours=3)) == default
