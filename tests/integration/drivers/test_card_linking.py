"""Linking RFID cards to drivers with one-time codes (SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from evbilling.drivers import linking
from evbilling.drivers import service as drivers
from evbilling.drivers.domain import TokenStatus, TokenType
from evbilling.infra.context import ServiceContext
from evbilling.kit import FixedClock
from evbilling.kit.errors import InvalidRequest, NotFound
from evbilling.models import RfidLinkCode, Token
from tests.integration.arrange import add_driver, add_operator

UID = "04A2B3C4"


async def offer(context: ServiceContext, operator_id: int, uid: str = UID) -> str | None:
    async with context.unit_of_work() as db:
        issued = await linking.offer_link_code(
            db=db, operator_id=operator_id, station_id=None, uid=uid, now=context.clock.now()
        )
        await db.commit()
    return issued.code if issued is not None else None


async def link(
    context: ServiceContext, operator_id: int, driver_id: int, code: str, uid: str = UID
) -> linking.LinkResult:
    async with context.unit_of_work() as db:
        result = await linking.link_card(
            db=db,
            operator_id=operator_id,
            driver_id=driver_id,
            uid=uid,
            code=code,
            now=context.clock.now(),
        )
        await db.commit()
    return result


async def token_of(context: ServiceContext, uid: str = UID) -> Token | None:
    async with context.unit_of_work() as db:
        return (await db.execute(select(Token).where(Token.uid == uid))).scalar_one_or_none()


async def add_token(
    context: ServiceContext, operator_id: int, *, driver_id: int | None, **fields: object
) -> int:
    async with context.unit_of_work() as db:
        token = await drivers.create_token(
            db=db,
            operator_id=operator_id,
            uid=UID,
            driver_id=driver_id,
            now=context.clock.now(),
            **fields,  # type: ignore[arg-type]
        )
        await db.commit()
        return token.id


def wrong(code: str) -> str:
    return str((int(code) + 1) % 10**linking.LINK_CODE_DIGITS).zfill(linking.LINK_CODE_DIGITS)


class TestOfferLinkCode:
    async def test_issues_a_code_for_an_unknown_card_stored_only_as_a_digest(
        self, context: ServiceContext, operator_id: int
    ) -> None:
        code = await offer(context, operator_id, uid="04a2b3c4")

        assert code is not None
        assert len(code) == linking.LINK_CODE_DIGITS
        assert code.isdigit()
        async with context.unit_of_work() as db:
            row = (await db.execute(select(RfidLinkCode))).scalar_one()
        assert row.uid == UID
        assert code not in (row.code_digest, row.salt)
        assert row.expires_at == context.clock.now() + linking.LINK_CODE_TTL

    async def test_issues_no_second_code_while_one_is_live_and_a_new_one_after_expiry(
        self, context: ServiceContext, operator_id: int, clock: FixedClock
    ) -> None:
        assert await offer(context, operator_id) is not None

        again = await offer(context, operator_id)
        clock.advance(seconds=linking.LINK_CODE_TTL.total_seconds() + 1)
        later = await offer(context, operator_id)

        assert again is None
        assert later is not None

    @pytest.mark.parametrize(
        "fields",
        [
            {"linked": True},
            {"status": TokenStatus.BLOCKED},
            {"type": TokenType.APP},
        ],
        ids=["linked", "blocked", "app-token"],
    )
    async def test_issues_nothing_for_a_linked_blocked_or_non_rfid_token(
        self, context: ServiceContext, operator_id: int, fields: dict[str, object]
    ) -> None:
        driver_id = await add_driver(context, operator_id)
        given = dict(fields)  # the parameter is shared by both databases' runs
        linked = given.pop("linked", False)
        await add_token(context, operator_id, driver_id=driver_id if linked else None, **given)

        assert await offer(context, operator_id) is None


class TestLinkCard:
    async def test_links_an_unknown_card_with_its_code_and_spends_the_code(
        self, context: ServiceContext, operator_id: int
    ) -> None:
        driver_id = await add_driver(context, operator_id)
        code = await offer(context, operator_id)
        assert code is not None

        linked = await link(context, operator_id, driver_id, f"{code[:4]} {code[4:]}")
        replay = await link(context, operator_id, driver_id, code)

        assert linked.token is not None
        assert linked.token.driver_id == driver_id
        assert linked.token.type == TokenType.RFID.value
        assert replay.refused

    async def test_links_a_known_unlinked_card(
        self, context: ServiceContext, operator_id: int
    ) -> None:
        driver_id = await add_driver(context, operator_id)
        token_id = await add_token(context, operator_id, driver_id=None)
        code = await offer(context, operator_id)
        assert code is not None

        linked = await link(context, operator_id, driver_id, code)

        assert linked.token is not None
        assert linked.token.id == token_id
        stored = await token_of(context)
        assert stored is not None
        assert stored.driver_id == driver_id

    async def test_refuses_a_wrong_code_and_counts_the_attempt_until_the_code_is_dead(
        self, context: ServiceContext, operator_id: int
    ) -> None:
        driver_id = await add_driver(context, operator_id)
        code = await offer(context, operator_id)
        assert code is not None

        tries = [
            await link(context, operator_id, driver_id, wrong(code))
            for _ in range(linking.MAX_LINK_ATTEMPTS)
        ]
        right_too_late = await link(context, operator_id, driver_id, code)

        assert all(result.refused for result in tries)
        assert right_too_late.refused
        assert await token_of(context) is None

    async def test_refuses_an_expired_code(
        self, context: ServiceContext, operator_id: int, clock: FixedClock
    ) -> None:
        driver_id = await add_driver(context, operator_id)
        code = await offer(context, operator_id)
        assert code is not None
        clock.advance(seconds=linking.LINK_CODE_TTL.total_seconds())

        result = await link(context, operator_id, driver_id, code)

        assert result.refused
        assert await token_of(context) is None

    async def test_refuses_to_take_over_a_card_of_another_driver(
        self, context: ServiceContext, operator_id: int
    ) -> None:
        owner = await add_driver(context, operator_id)
        thief = await add_driver(context, operator_id)
        code = await offer(context, operator_id)
        assert code is not None
        assert (await link(context, operator_id, owner, code)).token is not None
        # An operator could have assigned it meanwhile too: a code is never enough.
        async with context.unit_of_work() as db:
            db.add(
                RfidLinkCode(
                    operator_id=operator_id,
                    uid=UID,
                    salt="s",
                    code_digest=linking._digest("s", "12345678"),
                    attempts=0,
                    max_attempts=5,
                    expires_at=context.clock.now() + linking.LINK_CODE_TTL,
                    created_at=context.clock.now(),
                )
            )
            await db.commit()

        with pytest.raises(linking.CardOfAnotherDriver):
            await link(context, operator_id, thief, "12345678")

        stored = await token_of(context)
        assert stored is not None
        assert stored.driver_id == owner

    async def test_a_code_of_another_operator_links_nothing(
        self, context: ServiceContext, operator_id: int
    ) -> None:
        other = await add_operator(context)
        driver_id = await add_driver(context, operator_id)
        code = await offer(context, other)
        assert code is not None

        result = await link(context, operator_id, driver_id, code)

        assert result.refused
        assert await token_of(context) is None

    @pytest.mark.parametrize("code", ["", "abc", "1" * 40, "12\x0034"])
    async def test_refuses_a_code_that_is_not_digits(
        self, context: ServiceContext, operator_id: int, code: str
    ) -> None:
        driver_id = await add_driver(context, operator_id)

        with pytest.raises(InvalidRequest):
            await link(context, operator_id, driver_id, code)


class TestUnlinkCard:
    async def test_unlinking_clears_the_driver_and_blocks_the_card(
        self, context: ServiceContext, operator_id: int
    ) -> None:
        driver_id = await add_driver(context, operator_id)
        token_id = await add_token(context, operator_id, driver_id=driver_id)

        async with context.unit_of_work() as db:
            await linking.unlink_card(
                db=db,
                operator_id=operator_id,
                driver_id=driver_id,
                token_id=token_id,
                now=context.clock.now(),
            )
            await db.commit()

        stored = await token_of(context)
        assert stored is not None
        assert (stored.driver_id, stored.status) == (None, TokenStatus.BLOCKED.value)

    async def test_refuses_another_drivers_card_as_not_found(
        self, context: ServiceContext, operator_id: int
    ) -> None:
        owner = await add_driver(context, operator_id)
        other = await add_driver(context, operator_id)
        token_id = await add_token(context, operator_id, driver_id=owner)

        with pytest.raises(NotFound):
            async with context.unit_of_work() as db:
                await linking.unlink_card(
                    db=db,
                    operator_id=operator_id,
                    driver_id=other,
                    token_id=token_id,
                    now=context.clock.now(),
                )

        stored = await token_of(context)
        assert stored is not None
        assert stored.driver_id == owner
