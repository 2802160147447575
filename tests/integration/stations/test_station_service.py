"""Station use cases on a migrated database (SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from evbilling.infra.context import ServiceContext
from evbilling.infra.secrets import verify_secret
from evbilling.kit import FixedClock
from evbilling.kit.errors import Conflict, InvalidRequest, NotFound
from evbilling.models import Evse, Station
from evbilling.stations import service as stations
from evbilling.stations.schemas import StationRead
from tests.integration.arrange import (
    OFFLINE,
    ConnectedStations,
    add_location,
    add_operator,
    add_station,
)


class TestStationService:
    async def test_creates_evses_and_stores_only_an_argon2_hash(
        self, context: ServiceContext, operator_id: int
    ) -> None:
        # Act
        created = await add_station(context, operator_id, identity="CP-1", connectors=3)

        # Assert
        assert [evse.connector_id for evse in created.station.evses] == [1, 2, 3]
        assert {evse.max_power_w for evse in created.station.evses} == {22_000}
        assert 16 <= len(created.password) <= 40
        async with context.unit_of_work() as db:
            row = (await db.execute(select(Station))).scalar_one()
        assert row.password_hash is not None
        assert row.password_hash.startswith("$argon2id$")
        assert created.password not in row.password_hash
        assert verify_secret(secret=created.password, secret_hash=row.password_hash)
        assert "password_hash" not in StationRead.model_fields

    async def test_uses_the_given_password(self, context: ServiceContext, operator_id: int) -> None:
        # Act
        created = await add_station(context, operator_id, password="correct-horse-battery")

        # Assert
        assert created.password == "correct-horse-battery"

    async def test_switches_the_price_display(
        self, context: ServiceContext, operator_id: int
    ) -> None:
        # Arrange
        location_id = await add_location(context, operator_id)

        # Act
        async with context.unit_of_work() as db:
            created = await stations.create_station(
                db=db,
                operator_id=operator_id,
                identity="CP-1",
                location_id=location_id,
                pricing_display=True,
                now=context.clock.now(),
                commands=OFFLINE,
            )
            # The service returns the live row, which the update below changes.
            created_with = created.station.pricing_display
            updated = await stations.update_station(
                db=db,
                operator_id=operator_id,
                station="CP-1",
                pricing_display=False,
                now=context.clock.now(),
                commands=OFFLINE,
            )
            await db.commit()

        # Assert
        assert (created_with, updated.pricing_display) == (True, False)
        assert (
            await add_station(context, operator_id, identity="CP-2")
        ).station.pricing_display is False

    async def test_rejects_duplicate_identity_with_conflict(
        self, context: ServiceContext, operator_id: int
    ) -> None:
        # Arrange: identities are global, they name the WebSocket URL.
        other_operator = await add_operator(context)
        await add_station(context, other_operator, identity="CP-1")

        # Act / Assert
        with pytest.raises(Conflict):
            await add_station(context, operator_id, identity="CP-1")

    @pytest.mark.parametrize(
        "identity", ["", "CP/1", "CP 1", "CP?1", "é", "x" * 49, "CP-9\n", "CP-9\x00"]
    )
    async def test_rejects_identities_outside_unreserved_url_characters(
        self, context: ServiceContext, operator_id: int, identity: str
    ) -> None:
        with pytest.raises(InvalidRequest) as raised:
            await add_station(context, operator_id, identity=identity)
        assert raised.value.field == "identity"

    @pytest.mark.parametrize("password", ["too-short", "x" * 41, "sixteen chars\x00ok"])
    async def test_rejects_passwords_outside_security_profile_1(
        self, context: ServiceContext, operator_id: int, password: str
    ) -> None:
        with pytest.raises(InvalidRequest) as raised:
            await add_station(context, operator_id, password=password)
        assert raised.value.field == "password"

    async def test_validation_failure_changes_nothing(
        self, context: ServiceContext, operator_id: int
    ) -> None:
        # Arrange
        location_id = await add_location(context, operator_id)

        # Act
        with pytest.raises(InvalidRequest):
            await add_station(context, operator_id, location_id=location_id, connectors=9)

        # Assert
        async with context.unit_of_work() as db:
            assert (await db.execute(select(Station))).first() is None
            assert (await db.execute(select(Evse))).first() is None

    async def test_setting_the_password_replaces_the_hash(
        self, context: ServiceContext, operator_id: int, clock: FixedClock
    ) -> None:
        # Arrange
        created = await add_station(context, operator_id)
        clock.advance(seconds=30)

        # Act
        async with context.unit_of_work() as db:
            rotated = await stations.set_station_password(
                db=db, operator_id=operator_id, station="CP-1", now=clock.now()
            )
            await db.commit()

        # Assert
        assert rotated.password != created.password
        async with context.unit_of_work() as db:
            row = (await db.execute(select(Station))).scalar_one()
        assert row.password_hash is not None
        assert verify_secret(secret=rotated.password, secret_hash=row.password_hash)
        assert not verify_secret(secret=created.password, secret_hash=row.password_hash)
        assert row.password_changed_at == clock.now()

    async def test_reports_connection_state_from_the_command_port(
        self, context: ServiceContext, operator_id: int
    ) -> None:
        # Arrange
        await add_station(context, operator_id, identity="CP-1")

        # Act
        async with context.unit_of_work() as db:
            online = await stations.get_station(
                db=db, operator_id=operator_id, station="CP-1", commands=ConnectedStations("CP-1")
            )
            offline = await stations.get_station(
                db=db, operator_id=operator_id, station="CP-1", commands=OFFLINE
            )

        # Assert
        assert online.connected is True
        assert offline.connected is False

    async def test_addresses_a_station_by_identity_before_id(
        self, context: ServiceContext, operator_id: int
    ) -> None:
        # Arrange: station 1 is called "2", station 2 is called "CP-2".
        first = await add_station(context, operator_id, identity="2")
        second = await add_station(context, operator_id, identity="CP-2")

        # Act
        async with context.unit_of_work() as db:
            by_identity = await stations.get_station(
                db=db, operator_id=operator_id, station="2", commands=OFFLINE
            )
            by_numeric_text = await stations.get_station(
                db=db, operator_id=operator_id, station=str(first.station.id), commands=OFFLINE
            )
            by_id = await stations.get_station(
                db=db, operator_id=operator_id, station=second.station.id, commands=OFFLINE
            )

        # Assert
        assert by_identity.id == first.station.id
        assert by_numeric_text.id == first.station.id
        assert by_id.identity == "CP-2"

    async def test_lists_by_location_with_evses(
        self, context: ServiceContext, operator_id: int
    ) -> None:
        # Arrange
        north = await add_location(context, operator_id)
        south = await add_location(context, operator_id)
        await add_station(context, operator_id, identity="N-1", location_id=north, connectors=2)
        await add_station(context, operator_id, identity="S-1", location_id=south)
        await add_station(context, operator_id, identity="N-2", location_id=north)

        # Act
        async with context.unit_of_work() as db:
            page = await stations.list_stations(
                db=db, operator_id=operator_id, commands=OFFLINE, location_id=north
            )

        # Assert
        assert [(s.identity, len(s.evses)) for s in page.rows] == [("N-1", 2), ("N-2", 1)]
        assert page.total == 2

    async def test_station_of_another_operator_is_not_found(
        self, context: ServiceContext, operator_id: int
    ) -> None:
        # Arrange
        other_operator = await add_operator(context)
        created = await add_station(context, other_operator, identity="THEIRS")

        # Act / Assert
        async with context.unit_of_work() as db:
            for key in (created.station.id, "THEIRS"):
                with pytest.raises(NotFound):
                    await stations.get_station(
                        db=db, operator_id=operator_id, station=key, commands=OFFLINE
                    )
            with pytest.raises(NotFound):
                await stations.set_station_password(
                    db=db, operator_id=operator_id, station="THEIRS", now=context.clock.now()
                )

    async def test_refuses_a_location_of_another_operator(
        self, context: ServiceContext, operator_id: int
    ) -> None:
        # Arrange
        other_operator = await add_operator(context)
        foreign_location = await add_location(context, other_operator)

        # Act / Assert
        with pytest.raises(InvalidRequest) as raised:
            await add_station(context, operator_id, location_id=foreign_location)
        assert raised.value.field == "location_id"
