"""Several sessions of one postpaid account at once share its credit (docs/postpaid.md): each
session still charging may cost what it cost so far plus an equal part of the credit left,
shared again whenever one starts or one is accrued, so together they never pass the limit.
The credit decision counts sessions at what they cost so far (both databases)."""

from __future__ import annotations

from sqlalchemy import select

from evbilling.infra.context import ServiceContext
from evbilling.models import ChargingSession
from evbilling.money import Money
from evbilling.postpaid import credit, service
from tests.factories import create_token
from tests.integration.charging.lifecycle_arrange import start, stop
from tests.integration.postpaid.support import Site, accrue, postpaid_site

SECOND_CARD = "04F1EE7002"
START_FEE = 107  # 1.00 per session at 7 % VAT: what a session costs as soon as it starts


def eur(text: str) -> Money:
    return Money.of(text, "EUR")


async def second_card(context: ServiceContext, operator_id: int, site: Site) -> None:
    token_id = await create_token(context, operator_id=operator_id, uid=SECOND_CARD)
    async with context.unit_of_work() as db:
        await service.link_token(
            db=db, operator_id=operator_id, account_id=site.account_id, token_id=token_id,
            now=context.clock.now(),
        )  # fmt: skip
        await db.commit()


async def start_on_account(
    context: ServiceContext, site: Site, *, card: str, connector_id: int
) -> tuple[int, int]:
    """Authorize (the credit checked, an exposure opened), start and attach: the session's
    id and OCPP transaction id."""
    now = context.clock.now()
    async with context.unit_of_work() as db:
        exposure = await credit.open_exposure(
            db=db, account_id=site.account_id, driver_id=None, station_id=site.station.id,
            amount=eur("6.00"), now=now,
        )  # fmt: skip
        await db.commit()
    assert exposure is not None, "the credit check refused the start"
    started = await start(context, site.station, card=card, at=now, connector_id=connector_id)
    assert started.session_id is not None
    async with context.unit_of_work() as db:
        assert await credit.attach_exposure(
            db=db, account_id=site.account_id, station_id=site.station.id,
            session_id=started.session_id, now=now,
        )  # fmt: skip
        await db.commit()
    return started.session_id, started.transaction_id


async def limits(context: ServiceContext) -> list[int | None]:
    async with context.unit_of_work() as db:
        rows = await db.execute(
            select(ChargingSession.spending_limit_minor).order_by(ChargingSession.id)
        )
        return list(rows.scalars())


async def available(context: ServiceContext, site: Site) -> int:
    async with context.unit_of_work() as db:
        view = await service.view_account(
            db=db, operator_id=site.station.operator_id, account_id=site.account_id,
            now=context.clock.now(),
        )  # fmt: skip
    return view.available_minor


class TestSeveralSessionsAtOnce:
    async def test_the_first_session_may_use_the_whole_credit(
        self, context: ServiceContext, operator_id: int
    ) -> None:
        site = await postpaid_site(context, operator_id, limit="20.00")

        await start_on_account(context, site, card=site.card, connector_id=1)

        assert await limits(context) == [2000]
        assert await available(context, site) == 2000 - START_FEE

    async def test_a_second_session_halves_what_is_left_between_them(
        self, context: ServiceContext, operator_id: int
    ) -> None:
        site = await postpaid_site(context, operator_id, limit="20.00")
        await second_card(context, operator_id, site)
        await start_on_account(context, site, card=site.card, connector_id=1)

        await start_on_account(context, site, card=SECOND_CARD, connector_id=2)

        free = 2000 - 2 * START_FEE
        assert await limits(context) == [START_FEE + free // 2] * 2
        assert sum(limit or 0 for limit in await limits(context)) <= 2000
        assert await available(context, site) == free

    async def test_an_accrued_session_gives_its_part_back_to_those_still_charging(
        self, context: ServiceContext, operator_id: int
    ) -> None:
        site = await postpaid_site(context, operator_id, limit="20.00")
        await second_card(context, operator_id, site)
        await start_on_account(context, site, card=site.card, connector_id=1)
        second, transaction_id = await start_on_account(
            context, site, card=SECOND_CARD, connector_id=2
        )

        now = context.clock.now()
        await stop(context, site.station, transaction_id=transaction_id, wh=0, at=now)
        await accrue(context, second)

        first_limit, second_limit = await limits(context)
        # The second owes its start fee; the first may now use all the rest.
        assert first_limit == 2000 - START_FEE
        assert second_limit == START_FEE + (2000 - 2 * START_FEE) // 2  # unchanged: it ended
        assert await available(context, site) == 2000 - 2 * START_FEE

    async def test_the_credit_check_counts_running_sessions_at_what_they_cost_so_far(
        self, context: ServiceContext, operator_id: int
    ) -> None:
        site = await postpaid_site(context, operator_id, limit="20.00")
        await start_on_account(context, site, card=site.card, connector_id=1)

        async with context.unit_of_work() as db:
            fits = await credit.check_credit(
                db=db, account_id=site.account_id, wanted=eur("18.93"), now=context.clock.now()
            )
            too_much = await credit.check_credit(
                db=db, account_id=site.account_id, wanted=eur("18.94"), now=context.clock.now()
            )

        assert (fits.accepted, too_much.accepted) == (True, False)
