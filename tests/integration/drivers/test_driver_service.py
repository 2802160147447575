"""Driver and driver group use cases on a migrated database (SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest

from evbilling.drivers import service as drivers
from evbilling.drivers.schemas import DriverGroupRead
from evbilling.infra.context import ServiceContext
from evbilling.kit.errors import InvalidRequest, NotFound
from tests.integration.arrange import (
    add_driver,
    add_group,
    add_operator,
    add_tariff,
)


class TestDriverGroupService:
    async def test_creates_updates_and_lists_groups(
        self, context: ServiceContext, operator_id: int
    ) -> None:
        # Arrange
        tariff_id = await add_tariff(context, operator_id)

        # Act
        group_id = await add_group(context, operator_id, tariff_id=tariff_id)
        async with context.unit_of_work() as db:
            updated = await drivers.update_driver_group(
                db=db,
                operator_id=operator_id,
                group_id=group_id,
                name="Night shift",
                tariff_id=None,
                now=context.clock.now(),
            )
            await db.commit()
        async with context.unit_of_work() as db:
            page = await drivers.list_driver_groups(db=db, operator_id=operator_id)
            read = await drivers.get_driver_group(db=db, operator_id=operator_id, group_id=group_id)

        # Assert
        assert (updated.name, updated.tariff_id) == ("Night shift", None)
        assert DriverGroupRead.model_validate(read) == DriverGroupRead.model_validate(updated)
        assert [DriverGroupRead.model_validate(row) for row in page.rows] == [
            DriverGroupRead.model_validate(updated)
        ]

    async def test_assigns_drivers_to_a_group_of_the_same_operator_only(
        self, context: ServiceContext, operator_id: int
    ) -> None:
        # Arrange
        other_operator = await add_operator(context)
        mine = await add_group(context, operator_id)
        theirs = await add_group(context, other_operator)
        driver_id = await add_driver(context, operator_id, group_id=mine)

        # Act / Assert
        async with context.unit_of_work() as db:
            driver = await drivers.get_driver(db=db, operator_id=operator_id, driver_id=driver_id)
            assert driver.group_id == mine
            with pytest.raises(InvalidRequest) as raised:
                await drivers.update_driver(
                    db=db,
                    operator_id=operator_id,
                    driver_id=driver_id,
                    group_id=theirs,
                    now=context.clock.now(),
                )
            assert raised.value.field == "group_id"
            with pytest.raises(NotFound):
                await drivers.get_driver_group(db=db, operator_id=operator_id, group_id=theirs)

    async def test_refuses_a_tariff_of_another_operator(
        self, context: ServiceContext, operator_id: int
    ) -> None:
        other_operator = await add_operator(context)
        foreign_tariff = await add_tariff(context, other_operator)

        async with context.unit_of_work() as db:
            with pytest.raises(InvalidRequest) as raised:
                await drivers.create_driver_group(
                    db=db,
                    operator_id=operator_id,
                    name="Fleet",
                    tariff_id=foreign_tariff,
                    now=context.clock.now(),
                )
        assert raised.value.field == "tariff_id"


class TestDriverService:
    async def test_creates_and_updates_a_driver(
        self, context: ServiceContext, operator_id: int
    ) -> None:
        # Arrange
        driver_id = await add_driver(context, operator_id)

        # Act
        async with context.unit_of_work() as db:
            updated = await drivers.update_driver(
                db=db,
                operator_id=operator_id,
                driver_id=driver_id,
                email=None,
                name="Ada King",
                now=context.clock.now(),
            )
            await db.commit()

        # Assert
        assert (updated.name, updated.email) == ("Ada King", None)

    @pytest.mark.parametrize("email", ["ada", "ada@", "@example.com", "ada @example.com"])
    async def test_rejects_malformed_email(
        self, context: ServiceContext, operator_id: int, email: str
    ) -> None:
        async with context.unit_of_work() as db:
            with pytest.raises(InvalidRequest) as raised:
                await drivers.create_driver(
                    db=db, operator_id=operator_id, name="Ada", email=email, now=context.clock.now()
                )
        assert raised.value.field == "email"
