"""The credit limit at authorization: outstanding + open exposure + wanted <= limit."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import delete, func, select

from evbilling.infra.context import ServiceContext
from evbilling.models import ChargingSession, PostpaidExposure
from evbilling.money import Money
from evbilling.postpaid import credit, received, service
from evbilling.postpaid.domain import CreditDecision
from tests.integration.postpaid.support import (
    Site,
    accrue,
    charged_session,
    postpaid_site,
)


def eur(text: str) -> Money:
    return Money.of(text, "EUR")


async def check(context: ServiceContext, site: Site, wanted: str) -> CreditDecision:
    async with context.unit_of_work() as db:
        return await credit.check_credit(
            db=db, account_id=site.account_id, wanted=eur(wanted), now=context.clock.now()
        )


async def expose(context: ServiceContext, site: Site, amount: str) -> int | None:
    async with context.unit_of_work() as db:
        found = await credit.open_exposure(
            db=db,
            account_id=site.account_id,
            driver_id=site.driver_id,
            station_id=site.station.id,
            amount=eur(amount),
            now=context.clock.now(),
        )
        await db.commit()
        return found


async def live_exposures(context: ServiceContext, account_id: int) -> int:
    async with context.unit_of_work() as db:
        return int(
            await db.scalar(
                select(func.count())
                .select_from(PostpaidExposure)
                .where(
                    PostpaidExposure.account_id == account_id,
                    PostpaidExposure.status.in_(["open", "attached"]),
                )
            )
            or 0
        )


class TestCheckCredit:
    async def test_accepts_exactly_the_limit_and_refuses_a_cent_more(
        self, context: ServiceContext, operator_id: int
    ) -> None:
        site = await postpaid_site(context, operator_id, limit="50.00")

        assert (await check(context, site, "50.00")).accepted
        refused = await check(context, site, "50.01")

        assert not refused.accepted
        assert refused.reason == "credit limit reached"
        assert refused.available_minor == 5000

    async def test_counts_what_is_owed_and_what_open_sessions_may_cost(
        self, context: ServiceContext, operator_id: int
    ) -> None:
        site = await postpaid_site(context, operator_id, limit="10.00")
        session_id = await charged_session(context, site, wh=10_000)  # 4.64
        await accrue(context, session_id)
        assert await expose(context, site, "3.00") is not None

        decision = await check(context, site, "2.37")

        assert not decision.accepted
        assert decision.available_minor == 1000 - 464 - 300
        assert (await check(context, site, "2.36")).accepted

    async def test_an_overpayment_is_credit_for_later_sessions(
        self, context: ServiceContext, operator_id: int
    ) -> None:
        site = await postpaid_site(context, operator_id, limit="10.00")
        async with context.unit_of_work() as db:
            await received.mark_bank_transfer(
                db=db,
                operator_id=operator_id,
                account_id=site.account_id,
                amount=eur("5.00"),
                reference="ADVANCE-1",
                now=context.clock.now(),
            )
            await db.commit()

        assert (await check(context, site, "15.00")).accepted
        assert not (await check(context, site, "15.01")).accepted

    @pytest.mark.parametrize("status", ["suspended", "closed"])
    async def test_refuses_an_account_that_is_not_active(
        self, context: ServiceContext, operator_id: int, status: str
    ) -> None:
        site = await postpaid_site(context, operator_id)
        async with context.unit_of_work() as db:
            await service.update_account(
                db=db,
                operator_id=operator_id,
                account_id=site.account_id,
                status=status,
                now=context.clock.now(),
            )
            await db.commit()

        decision = await check(context, site, "1.00")

        assert not decision.accepted
        assert decision.reason == f"account is {status}"
        assert await expose(context, site, "1.00") is None
        assert await live_exposures(context, site.account_id) == 0

    async def test_refuses_another_currency(
        self, context: ServiceContext, operator_id: int
    ) -> None:
        site = await postpaid_site(context, operator_id)
        async with context.unit_of_work() as db:
            decision = await credit.check_credit(
                db=db,
                account_id=site.account_id,
                wanted=Money.of("1.00", "CHF"),
                now=context.clock.now(),
            )

        assert not decision.accepted


class TestExposure:
    async def test_a_refused_start_records_nothing(
        self, context: ServiceContext, operator_id: int
    ) -> None:
        site = await postpaid_site(context, operator_id, limit="5.00")

        assert await expose(context, site, "5.01") is None

        assert await live_exposures(context, site.account_id) == 0

    async def test_a_retried_start_reuses_its_exposure(
        self, context: ServiceContext, operator_id: int
    ) -> None:
        site = await postpaid_site(context, operator_id, limit="5.00")
        first = await expose(context, site, "4.00")

        assert await expose(context, site, "4.00") == first
        assert await live_exposures(context, site.account_id) == 1

    async def test_attaching_pays_the_session_postpaid_with_the_credit_left(
        self, context: ServiceContext, operator_id: int
    ) -> None:
        from tests.integration.charging.lifecycle_arrange import start

        site = await postpaid_site(context, operator_id, limit="20.00")
        await expose(context, site, "6.00")
        started = await start(context, site.station, card=site.card, at=context.clock.now())
        assert started.session_id is not None

        async with context.unit_of_work() as db:
            attached = await credit.attach_exposure(
                db=db,
                account_id=site.account_id,
                station_id=site.station.id,
                session_id=started.session_id,
                now=context.clock.now(),
            )
            await db.commit()

        assert attached
        async with context.unit_of_work() as db:
            session = await db.get_one(ChargingSession, started.session_id)
        assert session.payment_kind == "postpaid"
        assert session.spending_limit_minor == 2000
        assert f"postpaid account {site.account_id}" in (session.payment_reason or "")

    async def test_accrual_releases_the_exposure(
        self, context: ServiceContext, operator_id: int
    ) -> None:
        from tests.integration.charging.lifecycle_arrange import meter, start, stop
        from tests.integration.charging.payment_arrange import connector_status

        site = await postpaid_site(context, operator_id, limit="20.00")
        await expose(context, site, "6.00")
        now = context.clock.now()
        started = await start(context, site.station, card=site.card, at=now)
        assert started.session_id is not None
        async with context.unit_of_work() as db:
            await credit.attach_exposure(
                db=db,
                account_id=site.account_id,
                station_id=site.station.id,
                session_id=started.session_id,
                now=now,
            )
            await db.commit()
        from datetime import timedelta

        end = now + timedelta(minutes=40)
        await meter(context, site.station, transaction_id=started.transaction_id, wh=10_000, at=end)
        await stop(context, site.station, transaction_id=started.transaction_id, wh=10_000, at=end)
        await connector_status(context, site.station, status="Available", at=end)

        await accrue(context, started.session_id)

        assert await live_exposures(context, site.account_id) == 0
        assert (await check(context, site, "15.36")).accepted
        assert not (await check(context, site, "15.37")).accepted


class TestConcurrentStarts:
    @pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
    async def test_two_starts_at_once_do_not_both_pass_a_limit_only_one_fits(
        self, context: ServiceContext, operator_id: int
    ) -> None:
        site = await postpaid_site(context, operator_id, limit="10.00")
        gate = asyncio.Event()

        async def start_by(driver_id: int | None) -> int | None:
            async with context.unit_of_work() as db:
                await db.execute(select(1))  # both transactions open before either decides
                await gate.wait()
                found = await credit.open_exposure(
                    db=db,
                    account_id=site.account_id,
                    driver_id=driver_id,
                    station_id=site.station.id,
                    amount=eur("6.00"),
                    now=context.clock.now(),
                )
                await asyncio.sleep(0)
                await db.commit()
                return found

        for _ in range(5):
            async with context.unit_of_work() as db:
                await db.execute(delete(PostpaidExposure))
                await db.commit()
            gate.clear()
            # Two drivers of the fleet (no reuse of each other's exposure).
            racing = [asyncio.create_task(start_by(driver)) for driver in (site.driver_id, None)]
            await asyncio.sleep(0.01)
            gate.set()
            results = await asyncio.gather(*racing)

            assert sorted(result is None for result in results) == [False, True]
            assert await live_exposures(context, site.account_id) == 1
