"""How each session is paid, chosen at Authorize and settled at completion, over real
WebSockets with the `ocpp` library as the charger (docs/payment-choice.md): a wallet driver is
Blocked on too low a balance and otherwise settled exactly from the wallet; a fleet card
accrues to its postpaid account and is Blocked over its credit limit; a token linked to
nobody follows the operator's policy (refused, free, a fixed fee). The route and its reason
are kept on every session (both databases)."""

from __future__ import annotations

from pathlib import Path

import pytest
from ocpp.v16 import call
from pydantic import SecretStr

from evbilling.config import Settings
from evbilling.infra.context import ServiceContext
from evbilling.infra.jobs import JobWorker
from evbilling.kit import FixedClock
from evbilling.ledger.domain import AccountRef
from evbilling.main import job_registry
from tests.factories import create_station, create_tariff, create_token
from tests.functional.card_flow_arrange import sandbox_and_server
from tests.functional.charger import charger
from tests.functional.payment_choice_arrange import (
    balance,
    balanced,
    charge_and_leave,
    charge_of,
    driver_of,
    eur,
    fleet_account,
    fund_wallet,
    only_session,
    prefer,
    set_policy,
    wallet_available,
)

SECRET = SecretStr("a-test-secret-of-at-least-32-characters")
CARD = "04C0FFEE01"
# 0.30/kWh + 1.00, 20 % VAT at 22 kW: sized like a card hold, 9.12 with a margin of 0.20.
# 10 kWh cost 10 x 0.36 + 1.20 = 4.80.
WH = 10_000


@pytest.fixture
async def priced_station(context: ServiceContext, operator_id: int) -> None:
    tariff = await create_tariff(context, operator_id=operator_id)
    await create_station(context, operator_id=operator_id, tariff_id=tariff)


def worker_for(context: ServiceContext, database_url: str, provider: object) -> JobWorker:
    settings = Settings(database_url=database_url, api_key_secret=SECRET)
    registry = job_registry(settings=settings, provider=provider)  # type: ignore[arg-type]
    return JobWorker(context=context, registry=registry)


async def drain(worker: JobWorker) -> None:
    """Run due jobs (the schedules' and `session.completed`) until none is left."""
    for _ in range(10):
        if not await worker.run_once():
            return


@pytest.mark.usefixtures("priced_station")
class TestWalletSessions:
    async def test_refuses_a_balance_too_low_to_cover_the_margin(
        self, context: ServiceContext, operator_id: int, clock: FixedClock, tmp_path: Path
    ) -> None:
        driver_id = await driver_of(context, await create_token(context, operator_id=operator_id,
                                                                uid=CARD))  # fmt: skip
        await prefer(context, operator_id, driver_id, "wallet")
        await fund_wallet(context, operator_id, driver_id, "0.10")
        async with sandbox_and_server(context, clock, tmp_path) as (_, server):
            async with charger(server) as station:
                authorized = await station.call(call.Authorize(id_tag=CARD))
                started = await station.start_tx(CARD, meter_start=0, minutes=0)

        session = await only_session(context)
        assert (authorized.id_tag_info["status"], started.id_tag_info["status"]) == (
            "Blocked",
            "Blocked",
        )
        assert (session.status, session.billable, session.payment_kind) == (
            "rejected",
            False,
            None,
        )
        assert await wallet_available(context, operator_id, driver_id) == eur("0.10")

    async def test_settles_exactly_from_the_wallet_at_completion(
        self,
        context: ServiceContext,
        operator_id: int,
        clock: FixedClock,
        tmp_path: Path,
        database_url: str,
    ) -> None:
        driver_id = await driver_of(context, await create_token(context, operator_id=operator_id,
                                                                uid=CARD))  # fmt: skip
        await prefer(context, operator_id, driver_id, "wallet")
        await fund_wallet(context, operator_id, driver_id, "20.00")
        async with sandbox_and_server(context, clock, tmp_path) as (sandbox, server):
            worker = worker_for(context, database_url, sandbox.provider)
            async with charger(server) as station:
                statuses = await charge_and_leave(station, CARD, wh=WH)
            await drain(worker)

        session = await only_session(context)
        charge = await charge_of(context, session.id)
        assert statuses == ("Accepted", "Accepted")
        assert (session.payment_kind, session.payment_reason) == (
            "wallet",
            "driver prefers the wallet",
        )
        assert session.spending_limit_minor == 912 - 20
        assert str(session.cost_incl_vat) == "4.80"
        assert charge is not None
        assert (charge.payment_kind, charge.total_minor, charge.captured_minor) == (
            "wallet",
            480,
            480,
        )
        assert (charge.receivable_minor, charge.status) == (0, "settled")
        assert await wallet_available(context, operator_id, driver_id) == eur("15.20")
        receivable = AccountRef.driver_receivable(driver_id=driver_id, currency="EUR")
        assert await balance(context, receivable) == 0
        assert await balanced(context)

    async def test_is_stopped_remotely_before_the_balance_runs_out(
        self,
        context: ServiceContext,
        operator_id: int,
        clock: FixedClock,
        tmp_path: Path,
        database_url: str,
    ) -> None:
        # 3.00 in the wallet: all of it reserved, the limit 3.00 - 0.20 margin = 2.80,
        # reached at 4.6 kWh (1.20 + 4.6 x 0.36 = 2.86).
        driver_id = await driver_of(context, await create_token(context, operator_id=operator_id,
                                                                uid=CARD))  # fmt: skip
        await prefer(context, operator_id, driver_id, "wallet")
        await fund_wallet(context, operator_id, driver_id, "3.00")
        async with sandbox_and_server(context, clock, tmp_path) as (sandbox, server):
            worker = worker_for(context, database_url, sandbox.provider)
            async with charger(server) as station:
                await station.call(call.Authorize(id_tag=CARD))
                started = await station.start_tx(CARD, meter_start=0, minutes=0)
                await station.meter(started.transaction_id, 2_000, minutes=10)
                await drain(worker)
                told_before = list(station.received)
                await station.meter(started.transaction_id, 4_600, minutes=20)
                await drain(worker)
                told = list(station.received)
                await station.stop_tx(started.transaction_id, 4_700, minutes=21, id_tag=CARD)
                for status, minutes in (("Finishing", 21), ("Available", 22)):
                    await station.call(
                        call.StatusNotification(
                            connector_id=1, error_code="NoError", status=status,
                            timestamp=station.stamp(minutes),
                        )
                    )  # fmt: skip
            await drain(worker)

        session = await only_session(context)
        assert told_before == []
        assert told == [("RemoteStopTransaction", {"transaction_id": started.transaction_id})]
        assert session.spending_limit_minor == 300 - 20
        assert session.limit_stop_reason == "spending limit reached: EUR 2.80"
        assert str(session.cost_incl_vat) == "2.89"
        # Settled exactly, and the wallet kept what was not spent: never below zero.
        assert await wallet_available(context, operator_id, driver_id) == eur("0.11")
        receivable = AccountRef.driver_receivable(driver_id=driver_id, currency="EUR")
        assert await balance(context, receivable) == 0
        assert await balanced(context)


@pytest.mark.usefixtures("priced_station")
class TestFleetCards:
    async def test_accrues_to_the_postpaid_account(
        self,
        context: ServiceContext,
        operator_id: int,
        clock: FixedClock,
        tmp_path: Path,
        database_url: str,
    ) -> None:
        token_id = await create_token(context, operator_id=operator_id, uid=CARD, driver_name=None)
        account_id = await fleet_account(context, operator_id, token_id, limit="100.00")
        await set_policy(context, operator_id, "refuse")  # not for fleet cards
        async with sandbox_and_server(context, clock, tmp_path) as (sandbox, server):
            worker = worker_for(context, database_url, sandbox.provider)
            async with charger(server) as station:
                statuses = await charge_and_leave(station, CARD, wh=WH)
            await drain(worker)

        session = await only_session(context)
        charge = await charge_of(context, session.id)
        assert statuses == ("Accepted", "Accepted")
        assert (session.payment_kind, session.payment_reason) == (
            "postpaid",
            "fleet token of postpaid account",
        )
        assert charge is not None
        assert (charge.payment_kind, charge.total_minor, charge.receivable_minor) == (
            "postpaid",
            480,
            480,
        )
        owed = AccountRef.postpaid_receivable(account_id=account_id, currency="EUR")
        assert await balance(context, owed) == 480
        assert await balanced(context)

    async def test_refuses_a_session_over_the_credit_limit(
        self, context: ServiceContext, operator_id: int, clock: FixedClock, tmp_path: Path
    ) -> None:
        token_id = await create_token(context, operator_id=operator_id, uid=CARD, driver_name=None)
        await fleet_account(context, operator_id, token_id, limit="5.00")  # below the 9.12 wanted
        async with sandbox_and_server(context, clock, tmp_path) as (_, server):
            async with charger(server) as station:
                authorized = await station.call(call.Authorize(id_tag=CARD))
                started = await station.start_tx(CARD, meter_start=0, minutes=0)

        session = await only_session(context)
        assert (authorized.id_tag_info["status"], started.id_tag_info["status"]) == (
            "Blocked",
            "Blocked",
        )
        assert (session.status, session.payment_kind) == ("rejected", None)


@pytest.mark.usefixtures("priced_station")
class TestUnlinkedTokens:
    async def test_refuses_them_when_the_operator_says_so(
        self, context: ServiceContext, operator_id: int, clock: FixedClock, tmp_path: Path
    ) -> None:
        await create_token(context, operator_id=operator_id, uid=CARD, driver_name=None)
        await set_policy(context, operator_id, "refuse")
        async with sandbox_and_server(context, clock, tmp_path) as (_, server):
            async with charger(server) as station:
                authorized = await station.call(call.Authorize(id_tag=CARD))
                started = await station.start_tx(CARD, meter_start=0, minutes=0)

        assert (authorized.id_tag_info["status"], started.id_tag_info["status"]) == (
            "Blocked",
            "Blocked",
        )
        assert (await only_session(context)).status == "rejected"

    async def test_lets_them_charge_for_free_by_default(
        self,
        context: ServiceContext,
        operator_id: int,
        clock: FixedClock,
        tmp_path: Path,
        database_url: str,
    ) -> None:
        await create_token(context, operator_id=operator_id, uid=CARD, driver_name=None)
        async with sandbox_and_server(context, clock, tmp_path) as (sandbox, server):
            worker = worker_for(context, database_url, sandbox.provider)
            async with charger(server) as station:
                statuses = await charge_and_leave(station, CARD, wh=WH)
            await drain(worker)

        session = await only_session(context)
        charge = await charge_of(context, session.id)
        assert statuses == ("Accepted", "Accepted")
        assert (session.payment_kind, session.payment_reason) == (
            "free",
            "unlinked token; operator allows it for free",
        )
        assert str(session.cost_incl_vat) == "4.80"  # priced for the record
        assert charge is not None
        assert (charge.payment_kind, charge.total_minor, charge.status) == ("free", 0, "settled")
        revenue = AccountRef.revenue(operator_id=operator_id, location_id=None, currency="EUR")
        assert await balance(context, revenue) == 0

    async def test_charges_them_the_fixed_fee_with_vat_at_the_sessions_rate(
        self,
        context: ServiceContext,
        operator_id: int,
        clock: FixedClock,
        tmp_path: Path,
        database_url: str,
    ) -> None:
        token_id = await create_token(context, operator_id=operator_id, uid=CARD, driver_name=None)
        await set_policy(context, operator_id, "fixed_fee", fee="2.00")
        async with sandbox_and_server(context, clock, tmp_path) as (sandbox, server):
            worker = worker_for(context, database_url, sandbox.provider)
            async with charger(server) as station:
                statuses = await charge_and_leave(station, CARD, wh=WH)
            await drain(worker)

        session = await only_session(context)
        charge = await charge_of(context, session.id)
        assert statuses == ("Accepted", "Accepted")
        assert (session.payment_kind, session.payment_reason) == (
            "fixed_fee",
            "unlinked token; fixed fee EUR 2.00",
        )
        assert charge is not None
        # 2.00 incl. 20 % VAT: 1.67 net + 0.33 VAT, whatever the session was priced at.
        assert (charge.payment_kind, charge.total_minor, charge.receivable_minor) == (
            "fixed_fee",
            200,
            200,
        )
        assert charge.portions == [{"rate": "20", "net_minor": 167, "vat_minor": 33}]
        owed = AccountRef.token_receivable(token_id=token_id, currency="EUR")
        assert await balance(context, owed) == 200
        assert await balanced(context)
