"""A session paid from the wallet: reserved at Authorize, attached at StartTransaction (the
spending limit and the payment kind), settled exactly at the end; released when no session
came."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from evbilling.infra.context import ServiceContext
from evbilling.kit import FixedClock
from evbilling.models import ChargingSession, WalletReservation
from evbilling.wallets import service as wallets
from evbilling.wallets.domain import Reservation
from tests.integration.payments.support import add_site, complete_session, start_session
from tests.integration.wallets.support import (
    book_sale,
    eur,
    receivable,
    trial_balance_is_zero,
    wallet_state,
)


async def funded_site(
    context: ServiceContext, operator_id: int, amount: str = "20", identity: str = "CP-1"
) -> tuple[int, int, int]:
    """A priced station and a driver with `amount` EUR in the wallet: (station, driver, wallet)."""
    station_id, driver_id = await add_site(context, operator_id, identity=identity)
    async with context.unit_of_work() as db:
        await wallets.credit_goodwill(
            db=db,
            operator_id=operator_id,
            driver_id=driver_id,
            amount=eur(amount),
            reason="welcome",
            actor="tests",
            now=context.clock.now(),
        )
        wallet = await wallets.get_wallet(db=db, operator_id=operator_id, driver_id=driver_id)
        await db.commit()
    assert wallet is not None
    return station_id, driver_id, wallet.wallet_id


async def reserve(
    context: ServiceContext,
    operator_id: int,
    *,
    driver_id: int,
    station_id: int,
    wanted: str = "15",
    margin: str = "1",
) -> Reservation | None:
    async with context.unit_of_work() as db:
        reservation = await wallets.reserve_for_session(
            db=db,
            operator_id=operator_id,
            driver_id=driver_id,
            station_id=station_id,
            wanted=eur(wanted),
            margin=eur(margin),
            now=context.clock.now(),
        )
        await db.commit()
    return reservation


async def session_with_reservation(
    context: ServiceContext, operator_id: int, *, station_id: int, driver_id: int
) -> int:
    session_id = await start_session(
        context, operator_id=operator_id, station_id=station_id, driver_id=driver_id
    )
    async with context.unit_of_work() as db:
        attached = await wallets.attach_reservation(
            db=db,
            driver_id=driver_id,
            station_id=station_id,
            session_id=session_id,
            now=context.clock.now(),
        )
        await db.commit()
    assert attached
    return session_id


async def settle(context: ServiceContext, session_id: int, total: str) -> str:
    await complete_session(context, session_id=session_id, total=total)
    priced = await book_sale(context, session_id)
    async with context.unit_of_work() as db:
        posted = await wallets.settle_reservation(
            db=db, session_id=session_id, total=priced, now=context.clock.now()
        )
        await db.commit()
    return str(posted.amount)


class TestAWalletSession:
    async def test_settles_exactly_what_the_session_cost(
        self, context: ServiceContext, operator_id: int
    ) -> None:
        station_id, driver_id, wallet_id = await funded_site(context, operator_id, "20")

        reservation = await reserve(
            context, operator_id, driver_id=driver_id, station_id=station_id
        )
        assert reservation is not None
        assert reservation.amount == eur("15")
        reserved = await wallet_state(context, wallet_id)
        assert (reserved.available, reserved.reserved) == (500, 1500)
        assert reserved.cache_matches_ledger

        session_id = await session_with_reservation(
            context, operator_id, station_id=station_id, driver_id=driver_id
        )
        async with context.unit_of_work() as db:
            session = await db.get_one(ChargingSession, session_id)
            assert session.spending_limit_minor == 1400
            assert session.payment_kind == "wallet"
            assert session.payment_reason == "wallet; spending limit EUR 14.00"

        assert await settle(context, session_id, "9.52") == "9.52"

        state = await wallet_state(context, wallet_id)
        assert (state.available, state.reserved, state.ledger_balance) == (1048, 0, 1048)
        assert state.cache_matches_ledger
        assert await receivable(context, driver_id) == 0
        assert await trial_balance_is_zero(context)

    async def test_a_total_above_the_reservation_stays_owed(
        self, context: ServiceContext, operator_id: int
    ) -> None:
        station_id, driver_id, wallet_id = await funded_site(context, operator_id, "20")
        await reserve(context, operator_id, driver_id=driver_id, station_id=station_id, wanted="5")
        session_id = await session_with_reservation(
            context, operator_id, station_id=station_id, driver_id=driver_id
        )

        assert await settle(context, session_id, "7.00") == "5.00"

        state = await wallet_state(context, wallet_id)
        assert (state.available, state.reserved) == (1500, 0)
        assert state.cache_matches_ledger
        assert await receivable(context, driver_id) == 200
        assert await trial_balance_is_zero(context)

    async def test_settling_twice_posts_once(
        self, context: ServiceContext, operator_id: int
    ) -> None:
        station_id, driver_id, wallet_id = await funded_site(context, operator_id)
        await reserve(context, operator_id, driver_id=driver_id, station_id=station_id)
        session_id = await session_with_reservation(
            context, operator_id, station_id=station_id, driver_id=driver_id
        )
        assert await settle(context, session_id, "3.00") == "3.00"

        async with context.unit_of_work() as db:
            again = await wallets.settle_reservation(
                db=db, session_id=session_id, total=eur("3.00"), now=context.clock.now()
            )
            await db.commit()

        assert again == eur("3.00")
        assert (await wallet_state(context, wallet_id)).available == 1700


class TestReserving:
    async def test_reuses_the_live_reservation_at_the_same_station(
        self, context: ServiceContext, operator_id: int
    ) -> None:
        station_id, driver_id, wallet_id = await funded_site(context, operator_id)
        first = await reserve(context, operator_id, driver_id=driver_id, station_id=station_id)

        again = await reserve(context, operator_id, driver_id=driver_id, station_id=station_id)

        assert first is not None
        assert again is not None
        assert again.reservation_id == first.reservation_id
        assert (await wallet_state(context, wallet_id)).reserved == 1500

    async def test_refuses_a_balance_that_does_not_cover_the_margin(
        self, context: ServiceContext, operator_id: int
    ) -> None:
        station_id, driver_id, wallet_id = await funded_site(context, operator_id, "1")

        refused = await reserve(
            context, operator_id, driver_id=driver_id, station_id=station_id, margin="1"
        )

        assert refused is None
        state = await wallet_state(context, wallet_id)
        assert (state.available, state.reserved) == (100, 0)

    async def test_reserves_only_what_is_available(
        self, context: ServiceContext, operator_id: int
    ) -> None:
        station_id, driver_id, wallet_id = await funded_site(context, operator_id, "6")

        reservation = await reserve(
            context, operator_id, driver_id=driver_id, station_id=station_id
        )

        assert reservation is not None
        assert reservation.amount == eur("6")
        assert reservation.spending_limit == eur("5")
        assert (await wallet_state(context, wallet_id)).available == 0

    async def test_without_a_reservation_attach_changes_nothing(
        self, context: ServiceContext, operator_id: int
    ) -> None:
        station_id, driver_id = await add_site(context, operator_id)
        session_id = await start_session(
            context, operator_id=operator_id, station_id=station_id, driver_id=driver_id
        )
        async with context.unit_of_work() as db:
            attached = await wallets.attach_reservation(
                db=db,
                driver_id=driver_id,
                station_id=station_id,
                session_id=session_id,
                now=context.clock.now(),
            )
            session = await db.get_one(ChargingSession, session_id)
            assert session.payment_kind is None
            assert session.spending_limit_minor is None
        assert attached is False


class TestReleasing:
    async def test_release_gives_everything_back(
        self, context: ServiceContext, operator_id: int
    ) -> None:
        station_id, driver_id, wallet_id = await funded_site(context, operator_id)
        reservation = await reserve(
            context, operator_id, driver_id=driver_id, station_id=station_id
        )
        assert reservation is not None

        async with context.unit_of_work() as db:
            await wallets.release_reservation(
                db=db, reservation_id=reservation.reservation_id, now=context.clock.now()
            )
            await wallets.release_reservation(
                db=db, reservation_id=reservation.reservation_id, now=context.clock.now()
            )
            await db.commit()

        state = await wallet_state(context, wallet_id)
        assert (state.available, state.reserved) == (2000, 0)
        assert state.cache_matches_ledger
        assert await trial_balance_is_zero(context)

    async def test_the_sweep_releases_reservations_no_session_took(
        self, context: ServiceContext, operator_id: int, clock: FixedClock
    ) -> None:
        station_id, driver_id, wallet_id = await funded_site(context, operator_id)
        await reserve(context, operator_id, driver_id=driver_id, station_id=station_id)
        clock.advance(seconds=660)
        other_station, other_driver, other_wallet = await funded_site(
            context, operator_id, identity="CP-2"
        )
        await reserve(context, operator_id, driver_id=other_driver, station_id=other_station)

        async with context.unit_of_work() as db:
            released = await wallets.sweep_unattached(
                db=db, older_than=clock.now() - timedelta(minutes=10), now=clock.now()
            )
            await db.commit()
            statuses = sorted(
                (row.wallet_id, row.status)
                for row in (await db.execute(select(WalletReservation))).scalars()
            )

        assert released == 1
        assert statuses == [(wallet_id, "released"), (other_wallet, "live")]
        assert (await wallet_state(context, wallet_id)).available == 2000
