"""A station's pending password: kept beside the current one after a rotation the station
accepted, promoted by the station's first login with it, never resurrected by a race."""

from __future__ import annotations

from sqlalchemy import select

from evbilling.charging.station_events import promote_pending_password, station_login
from evbilling.infra.context import ServiceContext
from evbilling.infra.secrets import hash_secret
from evbilling.kit import FixedClock
from evbilling.models import Station
from evbilling.stations import service as stations
from tests.factories import create_station


async def keep_pending(
    context: ServiceContext, operator_id: int, station_id: int, hash_: str
) -> None:
    async with context.unit_of_work() as db:
        await stations.set_pending_password(
            db=db,
            operator_id=operator_id,
            station_id=station_id,
            password_hash=hash_,
            now=context.clock.now(),
        )
        await db.commit()


async def promote(context: ServiceContext, pending_hash: str) -> bool:
    async with context.unit_of_work() as db:
        login = await station_login(db=db, identity="CP-1")
        assert login is not None
        promoted = await promote_pending_password(
            db=db, station=login.station, pending_hash=pending_hash, now=context.clock.now()
        )
        await db.commit()
    return promoted


async def row(context: ServiceContext) -> Station:
    async with context.unit_of_work() as db:
        return (await db.execute(select(Station))).scalar_one()


class TestPendingPassword:
    async def test_login_reads_both_hashes(self, context: ServiceContext, operator_id: int) -> None:
        station_id = await create_station(context, operator_id=operator_id)
        await keep_pending(context, operator_id, station_id, "pending-hash")

        async with context.unit_of_work() as db:
            login = await station_login(db=db, identity="CP-1")

        assert login is not None
        assert login.station.id == station_id
        assert login.password_hash == (await row(context)).password_hash
        assert login.pending_password_hash == "pending-hash"

    async def test_promotion_makes_the_pending_password_the_only_one(
        self, context: ServiceContext, operator_id: int, clock: FixedClock
    ) -> None:
        # Arrange
        station_id = await create_station(context, operator_id=operator_id)
        pending = hash_secret("the-new-password-20c")
        await keep_pending(context, operator_id, station_id, pending)
        clock.advance(seconds=90)

        # Act
        promoted = await promote(context, pending)

        # Assert
        after = await row(context)
        assert promoted
        assert (after.password_hash, after.pending_password_hash) == (pending, None)
        assert after.password_changed_at == clock.now()

    async def test_a_newer_rotation_is_not_overwritten_by_a_login_with_the_older_one(
        self, context: ServiceContext, operator_id: int
    ) -> None:
        # Arrange
        station_id = await create_station(context, operator_id=operator_id)
        before = await row(context)
        await keep_pending(context, operator_id, station_id, "older")
        await keep_pending(context, operator_id, station_id, "newer")

        # Act
        promoted = await promote(context, "older")

        # Assert
        after = await row(context)
        assert not promoted
        assert (after.password_hash, after.pending_password_hash) == (
            before.password_hash,
            "newer",
        )

    async def test_a_second_login_racing_the_first_is_accepted(
        self, context: ServiceContext, operator_id: int
    ) -> None:
        station_id = await create_station(context, operator_id=operator_id)
        await keep_pending(context, operator_id, station_id, "pending")

        first = await promote(context, "pending")
        second = await promote(context, "pending")

        assert first
        assert second
        assert (await row(context)).password_hash == "pending"

    async def test_setting_a_password_directly_drops_the_pending_one(
        self, context: ServiceContext, operator_id: int
    ) -> None:
        station_id = await create_station(context, operator_id=operator_id)
        await keep_pending(context, operator_id, station_id, "pending")

        async with context.unit_of_work() as db:
            await stations.set_station_password(
                db=db, operator_id=operator_id, station="CP-1", now=context.clock.now()
            )
            await db.commit()

        assert (await row(context)).pending_password_hash is None
