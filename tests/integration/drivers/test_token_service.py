"""Token use cases on a migrated database (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from evbilling.drivers import service as drivers
from evbilling.drivers.domain import TokenStatus, TokenType
from evbilling.infra.context import ServiceContext
from evbilling.infra.db.repository import PageRequest
from evbilling.kit.errors import Conflict, InvalidRequest
from evbilling.models import Token
from tests.integration.arrange import (
    add_driver,
    add_operator,
)


class TestTokenService:
    async def test_normalises_the_uid_and_stores_expiry_in_utc(
        self, context: ServiceContext, operator_id: int
    ) -> None:
        # Arrange
        driver_id = await add_driver(context, operator_id)
        expiry = datetime(2027, 1, 1, 1, 0, tzinfo=timezone(timedelta(hours=1)))

        # Act
        async with context.unit_of_work() as db:
            token = await drivers.create_token(
                db=db,
                operator_id=operator_id,
                uid=" 04a2b3c4 ",
                driver_id=driver_id,
                expires_at=expiry,
                type=TokenType.RFID,
                now=context.clock.now(),
            )
            await db.commit()

        # Assert
        assert token.uid == "04A2B3C4"
        assert token.status == TokenStatus.ACTIVE
        async with context.unit_of_work() as db:
            row = (await db.execute(select(Token))).scalar_one()
        assert row.expires_at == datetime(2027, 1, 1, tzinfo=UTC)
        assert row.uid == "04A2B3C4"

    async def test_rejects_a_duplicate_uid_in_any_case_with_conflict(
        self, context: ServiceContext, operator_id: int
    ) -> None:
        # Arrange
        async with context.unit_of_work() as db:
            await drivers.create_token(
                db=db, operator_id=operator_id, uid="04A2B3C4", now=context.clock.now()
            )
            await db.commit()

        # Act / Assert
        async with context.unit_of_work() as db:
            with pytest.raises(Conflict):
                await drivers.create_token(
                    db=db, operator_id=operator_id, uid="04a2b3c4", now=context.clock.now()
                )

    async def test_same_uid_may_exist_at_another_operator(
        self, context: ServiceContext, operator_id: int
    ) -> None:
        # Arrange
        other_operator = await add_operator(context)
        async with context.unit_of_work() as db:
            await drivers.create_token(
                db=db, operator_id=other_operator, uid="04A2B3C4", now=context.clock.now()
            )
            await db.commit()

        # Act
        async with context.unit_of_work() as db:
            token = await drivers.create_token(
                db=db, operator_id=operator_id, uid="04A2B3C4", now=context.clock.now()
            )

        # Assert
        assert token.uid == "04A2B3C4"

    @pytest.mark.parametrize(
        ("field", "value"),
        [
            ("uid", ""),
            ("uid", "X" * 21),
            ("uid", "CAFÉ"),
            ("expires_at", datetime(2027, 1, 1)),  # noqa: DTZ001 - the naive datetime is the point
            ("driver_id", 999),
            ("status", "lost"),
        ],
    )
    async def test_rejects_invalid_fields(
        self, context: ServiceContext, operator_id: int, field: str, value: object
    ) -> None:
        # Arrange
        values: dict[str, object] = {"uid": "04A2B3C4", field: value}

        # Act / Assert
        async with context.unit_of_work() as db:
            with pytest.raises(InvalidRequest) as raised:
                await drivers.create_token(
                    db=db,
                    operator_id=operator_id,
                    now=context.clock.now(),
                    **values,  # type: ignore[arg-type]
                )
        assert raised.value.field == field

    async def test_filters_by_driver_status_and_uid(
        self, context: ServiceContext, operator_id: int
    ) -> None:
        # Arrange
        driver_id = await add_driver(context, operator_id)
        async with context.unit_of_work() as db:
            for uid, driver, status in [
                ("AA01", driver_id, TokenStatus.ACTIVE),
                ("AA02", driver_id, TokenStatus.BLOCKED),
                ("AA03", None, TokenStatus.ACTIVE),
            ]:
                await drivers.create_token(
                    db=db,
                    operator_id=operator_id,
                    uid=uid,
                    driver_id=driver,
                    status=status,
                    now=context.clock.now(),
                )
            await db.commit()

        # Act
        async with context.unit_of_work() as db:
            of_driver = await drivers.list_tokens(
                db=db, operator_id=operator_id, driver_id=driver_id
            )
            blocked = await drivers.list_tokens(
                db=db, operator_id=operator_id, status=TokenStatus.BLOCKED
            )
            by_uid = await drivers.list_tokens(db=db, operator_id=operator_id, uid="aa03")

        # Assert
        assert [t.uid for t in of_driver.rows] == ["AA01", "AA02"]
        assert [t.uid for t in blocked.rows] == ["AA02"]
        assert [t.uid for t in by_uid.rows] == ["AA03"]

    async def test_blocks_a_token(self, context: ServiceContext, operator_id: int) -> None:
        # Arrange
        async with context.unit_of_work() as db:
            token = await drivers.create_token(
                db=db, operator_id=operator_id, uid="04A2B3C4", now=context.clock.now()
            )
            await db.commit()

        # Act
        async with context.unit_of_work() as db:
            updated = await drivers.update_token(
                db=db,
                operator_id=operator_id,
                token_id=token.id,
                status=TokenStatus.BLOCKED,
                now=context.clock.now(),
            )
            await db.commit()

        # Assert
        assert updated.status == "blocked"

    @pytest.mark.parametrize(("limit", "offset"), [(0, 0), (501, 0), (10, -1)])
    async def test_rejects_page_outside_limits(
        self, context: ServiceContext, operator_id: int, limit: int, offset: int
    ) -> None:
        async with context.unit_of_work() as db:
            with pytest.raises(InvalidRequest):
                await drivers.list_tokens(
                    db=db, operator_id=operator_id, page=PageRequest(limit=limit, offset=offset)
                )
