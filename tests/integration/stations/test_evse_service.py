"""EVSE use cases on a migrated database (SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest

from evbilling.infra.context import ServiceContext
from evbilling.kit.errors import Conflict, InvalidRequest, NotFound
from evbilling.stations import evse_service as evses
from tests.integration.arrange import (
    add_operator,
    add_station,
)


class TestEvseService:
    async def test_adds_the_next_free_connector(
        self, context: ServiceContext, operator_id: int
    ) -> None:
        # Arrange
        await add_station(context, operator_id, connectors=2)

        # Act
        async with context.unit_of_work() as db:
            evse = await evses.create_evse(
                db=db,
                operator_id=operator_id,
                station="CP-1",
                uid="de*abc*e1234",
                power_type="DC",
                connector_standard="IEC_62196_T2_COMBO",
                max_power_w=150_000,
                now=context.clock.now(),
            )
            await db.commit()

        # Assert
        assert evse.connector_id == 3
        assert evse.uid == "DE*ABC*E1234"
        assert (evse.power_type, evse.max_power_w) == ("DC", 150_000)

    async def test_rejects_a_duplicate_connector_with_conflict(
        self, context: ServiceContext, operator_id: int
    ) -> None:
        # Arrange
        await add_station(context, operator_id, connectors=2)

        # Act / Assert
        async with context.unit_of_work() as db:
            with pytest.raises(Conflict):
                await evses.create_evse(
                    db=db,
                    operator_id=operator_id,
                    station="CP-1",
                    connector_id=2,
                    now=context.clock.now(),
                )

    async def test_rejects_a_duplicate_evse_id_with_conflict(
        self, context: ServiceContext, operator_id: int
    ) -> None:
        # Arrange
        created = await add_station(context, operator_id, connectors=2)
        first, second = created.station.evses
        async with context.unit_of_work() as db:
            await evses.update_evse(
                db=db,
                operator_id=operator_id,
                evse_id=first.id,
                uid="DE*ABC*E1",
                now=context.clock.now(),
            )
            await db.commit()

        # Act / Assert
        async with context.unit_of_work() as db:
            with pytest.raises(Conflict):
                await evses.update_evse(
                    db=db,
                    operator_id=operator_id,
                    evse_id=second.id,
                    uid="de*abc*e1",
                    now=context.clock.now(),
                )

    @pytest.mark.parametrize(
        ("field", "value"),
        [
            ("max_power_w", 0),
            ("max_power_w", 1_000_001),
            ("uid", "not an evse id"),
            ("power_type", "AC_2_PHASE"),
            ("connector_standard", "SCHUKO"),
        ],
    )
    async def test_rejects_invalid_updates(
        self, context: ServiceContext, operator_id: int, field: str, value: object
    ) -> None:
        # Arrange
        created = await add_station(context, operator_id)
        changes: dict[str, object] = {field: value}

        # Act / Assert
        async with context.unit_of_work() as db:
            with pytest.raises(InvalidRequest) as raised:
                await evses.update_evse(
                    db=db,
                    operator_id=operator_id,
                    evse_id=created.station.evses[0].id,
                    now=context.clock.now(),
                    **changes,  # type: ignore[arg-type]
                )
        assert raised.value.field == field

    async def test_evse_of_another_operator_is_not_found(
        self, context: ServiceContext, operator_id: int
    ) -> None:
        # Arrange
        other_operator = await add_operator(context)
        created = await add_station(context, other_operator)

        # Act / Assert
        async with context.unit_of_work() as db:
            with pytest.raises(NotFound):
                await evses.get_evse(
                    db=db, operator_id=operator_id, evse_id=created.station.evses[0].id
                )
            with pytest.raises(NotFound):
                await evses.list_evses(db=db, operator_id=operator_id, station="CP-1")
