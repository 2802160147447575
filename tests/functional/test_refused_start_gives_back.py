"""A start the station is refused gives back at once what its Authorize secured, over a real
WebSocket with the `ocpp` library as the charger (docs/payment-choice.md): a driver already
charging at connector 1 authorizes again and starts at connector 2; the start is answered
ConcurrentTx, and the second wallet reservation, postpaid exposure or card hold is released
in the same transaction instead of tying up the balance, the credit or the card until the
unused-hold sweep. The first session keeps its own (both databases)."""

from __future__ import annotations

from pathlib import Path
from typing import TypeVar

from ocpp.v16 import call
from sqlalchemy import select

from evbilling.infra.context import ServiceContext
from evbilling.kit import FixedClock
from evbilling.models import Job, Payment, PostpaidExposure, WalletReservation
from evbilling.payments.card_flow import RELEASE_KIND
from evbilling.postpaid import credit
from tests.factories import create_station, create_tariff, create_token
from tests.functional.card_flow_arrange import sandbox_and_server, save_card
from tests.functional.charger import TestCharger, charger
from tests.functional.payment_choice_arrange import (
    driver_of,
    eur,
    fleet_account,
    fund_wallet,
    prefer,
    wallet_available,
)

Row = TypeVar("Row", Job, Payment, PostpaidExposure, WalletReservation)

CARD = "04C0FFEE01"
SUCCESS = "4242424242424242"
HOLD = 912  # 0.30/kWh + 1.00 with 20 % VAT at 22 kW, sized like every card hold


async def priced_station(context: ServiceContext, operator_id: int) -> None:
    tariff = await create_tariff(context, operator_id=operator_id)
    await create_station(context, operator_id=operator_id, tariff_id=tariff)


async def wallet_driver_at_a_priced_station(context: ServiceContext, operator_id: int) -> int:
    """A priced station and the card's driver, who pays from a wallet holding 25.00."""
    await priced_station(context, operator_id)
    driver_id = await driver_of(context, await create_token(context, operator_id=operator_id,
                                                            uid=CARD))  # fmt: skip
    await prefer(context, operator_id, driver_id, "wallet")
    await fund_wallet(context, operator_id, driver_id, "25.00")
    return driver_id


async def charging_then_again(station: TestCharger) -> tuple[str, str, str]:
    """Authorize and start at connector 1, then Authorize and start at connector 2 with the
    same card: the three statuses after the first Authorize."""
    await station.call(call.Authorize(id_tag=CARD))
    first = await station.start_tx(CARD, connector_id=1, meter_start=0, minutes=0)
    again = await station.call(call.Authorize(id_tag=CARD))
    second = await station.start_tx(CARD, connector_id=2, meter_start=0, minutes=1)
    return (
        first.id_tag_info["status"],
        again.id_tag_info["status"],
        second.id_tag_info["status"],
    )


async def rows_of(context: ServiceContext, model: type[Row]) -> list[Row]:
    async with context.unit_of_work() as db:
        return list((await db.execute(select(model).order_by(model.id))).scalars())


class TestARefusedStartGivesBack:
    async def test_the_second_wallet_reservation(
        self, context: ServiceContext, operator_id: int, clock: FixedClock, tmp_path: Path
    ) -> None:
        driver_id = await wallet_driver_at_a_priced_station(context, operator_id)
        async with sandbox_and_server(context, clock, tmp_path) as (_, server):
            async with charger(server) as station:
                statuses = await charging_then_again(station)
                available = await wallet_available(context, operator_id, driver_id)

        first, second = await rows_of(context, WalletReservation)
        assert statuses == ("Accepted", "Accepted", "ConcurrentTx")
        assert (first.status, first.session_id is not None) == ("live", True)
        assert (second.status, second.session_id, second.posted_minor) == ("released", None, 0)
        assert available == eur("25.00") - eur("9.12")

    async def test_the_second_postpaid_exposure(
        self, context: ServiceContext, operator_id: int, clock: FixedClock, tmp_path: Path
    ) -> None:
        await priced_station(context, operator_id)
        token_id = await create_token(context, operator_id=operator_id, uid=CARD, driver_name=None)
        account_id = await fleet_account(context, operator_id, token_id, limit="100.00")
        async with sandbox_and_server(context, clock, tmp_path) as (_, server):
            async with charger(server) as station:
                statuses = await charging_then_again(station)
                async with context.unit_of_work() as db:
                    left = await credit.check_credit(
                        db=db, account_id=account_id, wanted=eur("0"), now=clock.now()
                    )

        first, second = await rows_of(context, PostpaidExposure)
        assert statuses == ("Accepted", "Accepted", "ConcurrentTx")
        assert (first.status, first.session_id is not None) == ("attached", True)
        assert (second.status, second.session_id) == ("released", None)
        assert left.available == eur("100.00") - eur("1.20")  # the first one's start fee so far

    async def test_the_second_card_hold(
        self, context: ServiceContext, operator_id: int, clock: FixedClock, tmp_path: Path
    ) -> None:
        await priced_station(context, operator_id)
        await create_token(context, operator_id=operator_id, uid=CARD)
        async with sandbox_and_server(context, clock, tmp_path) as (sandbox, server):
            await save_card(context, sandbox, operator_id=operator_id, number=SUCCESS, uid=CARD)
            async with charger(server) as station:
                statuses = await charging_then_again(station)

        first, second = await rows_of(context, Payment)
        releases = [job for job in await rows_of(context, Job) if job.kind == RELEASE_KIND]
        assert statuses == ("Accepted", "Accepted", "ConcurrentTx")
        assert (first.status, first.session_id is not None) == ("authorized", True)
        assert (second.authorized_minor, second.session_id) == (HOLD, None)
        assert [job.payload for job in releases] == [{"hold_id": second.id}]

    async def test_and_a_retry_once_the_first_session_ended_secures_afresh(
        self, context: ServiceContext, operator_id: int, clock: FixedClock, tmp_path: Path
    ) -> None:
        await wallet_driver_at_a_priced_station(context, operator_id)
        async with sandbox_and_server(context, clock, tmp_path) as (_, server):
            async with charger(server) as station:
                await station.call(call.Authorize(id_tag=CARD))
                first = await station.start_tx(CARD, connector_id=1, meter_start=0, minutes=0)
                refused = await station.start_tx(CARD, connector_id=2, meter_start=0, minutes=1)
                await station.stop_tx(first.transaction_id, 0, minutes=2, id_tag=CARD)
                retried = await station.start_tx(CARD, connector_id=2, meter_start=0, minutes=3)

        reservations = await rows_of(context, WalletReservation)
        assert (refused.id_tag_info["status"], retried.id_tag_info["status"]) == (
            "ConcurrentTx",
            "Accepted",
        )
        assert [(row.status, row.session_id is not None) for row in reservations] == [
            ("live", True),  # the first session's, settled by its completion job (not run here)
            ("released", False),  # the refused start's
            ("live", True),  # the retry's, secured afresh
        ]
