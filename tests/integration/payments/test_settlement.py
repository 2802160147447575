"""What a completed session's hold becomes: captured min(cost, capturable), the shortfall a
receivable on the driver shown to the operator, released when nothing is owed, below the
provider's minimum or without a card; refused captures retried, then left owed."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from evbilling.models import Payment
from evbilling.payments.card_flow import plan_hold
from evbilling.payments.domain import HoldPolicy
from tests.integration.payments.flow import (
    calls,
    card_session,
    charge_of,
    clearing,
    payment_of,
    receivable,
    trial_balance_is_zero,
)
from tests.integration.payments.support import (
    CAPTURE_FAILS,
    DECLINE,
    PARTIAL,
    Payments,
    add_site,
    complete_session,
    enqueue_completed,
    start_session,
)


class TestCapture:
    async def test_captures_the_cost_when_the_hold_covers_it(self, payments: Payments) -> None:
        done = await card_session(payments, total="9.52")

        payment = await payment_of(payments, done.session_id)
        charge = await charge_of(payments, done.session_id)
        assert (payment.status, payment.captured_minor) == ("captured", 952)
        assert (charge.captured_minor, charge.receivable_minor, charge.status) == (
            952,
            0,
            "settled",
        )
        assert await receivable(payments, done.driver_id) == 0
        assert await clearing(payments) == 952
        assert await trial_balance_is_zero(payments)

    async def test_leaves_the_shortfall_owed_and_shows_it_to_the_operator(
        self, payments: Payments
    ) -> None:
        done = await card_session(payments, total="15.00")  # the hold is 11.67

        payment = await payment_of(payments, done.session_id)
        assert payment.captured_minor == payment.authorized_minor == 1167
        assert await receivable(payments, done.driver_id) == 1500 - 1167
        listed = await payments.api.get("/payments/receivables")
        assert listed.status_code == 200
        [item] = listed.json()["items"]
        assert (item["session_id"], item["receivable_minor"], item["shortfall_reason"]) == (
            done.session_id,
            333,
            "above_hold",
        )

    async def test_a_zero_energy_session_releases_its_hold(self, payments: Payments) -> None:
        done = await card_session(payments, total="0.00")

        payment = await payment_of(payments, done.session_id)
        charge = await charge_of(payments, done.session_id)
        assert (payment.status, payment.captured_minor) == ("released", 0)
        assert (charge.total_minor, charge.receivable_minor) == (0, 0)
        assert await clearing(payments) == 0
        assert await trial_balance_is_zero(payments)

    async def test_a_session_fee_without_energy_is_not_charged_a_failed_start(
        self, payments: Payments
    ) -> None:
        done = await card_session(payments, total="1.20", energy_wh=0)

        payment = await payment_of(payments, done.session_id)
        charge = await charge_of(payments, done.session_id)
        assert (payment.status, payment.captured_minor) == ("released", 0)
        assert (charge.total_minor, charge.receivable_minor) == (0, 0)
        assert await receivable(payments, done.driver_id) == 0
        assert await clearing(payments) == 0
        assert await trial_balance_is_zero(payments)

    async def test_below_the_providers_minimum_the_hold_is_released_and_the_cost_owed(
        self, payments: Payments
    ) -> None:
        done = await card_session(payments, total="0.30")

        payment = await payment_of(payments, done.session_id)
        charge = await charge_of(payments, done.session_id)
        assert payment.status == "released"
        assert (charge.receivable_minor, charge.shortfall_reason) == (30, "below_minimum")
        assert await receivable(payments, done.driver_id) == 30

    async def test_settling_twice_captures_once(self, payments: Payments) -> None:
        done = await card_session(payments, total="9.52")

        from evbilling.payments.capture import settle_session

        await settle_session(
            context=payments.context, provider=payments.runtime.provider, session_id=done.session_id
        )
        payment = await payment_of(payments, done.session_id)
        assert await payments_captures(payments, payment) == [952]
        assert await calls(payments, "capture") == 1


async def payments_captures(payments: Payments, payment: Payment) -> list[int]:
    assert payment.authorization_id is not None
    found = await payments.runtime.provider.retrieve_authorization(
        authorization_id=payment.authorization_id
    )
    return [found.captured.minor_units()] if not found.captured.is_zero() else []


class TestRefusedCaptures:
    async def test_are_retried_then_the_hold_is_released_and_the_cost_owed(
        self, payments: Payments
    ) -> None:
        done = await card_session(payments, total="9.52", card=CAPTURE_FAILS, settle=False)

        for _ in range(6):  # each refused attempt is retried after the job's backoff
            await payments.run_jobs()
            payments.clock.advance(seconds=7200)
        await payments.drain()

        payment = await payment_of(payments, done.session_id)
        charge = await charge_of(payments, done.session_id)
        assert payment.status == "released"
        assert (charge.capture_failures, charge.receivable_minor) == (5, 952)
        assert await calls(payments, "capture") == 5
        assert await receivable(payments, done.driver_id) == 952
        assert await trial_balance_is_zero(payments)

    async def test_near_the_capture_deadline_a_refusal_is_not_retried(
        self, payments: Payments
    ) -> None:
        done = await card_session(payments, total="9.52", card=CAPTURE_FAILS, settle=False)
        held = await payment_of(payments, done.session_id)
        assert held.capture_before is not None
        payments.clock.current = held.capture_before - timedelta(hours=1)

        await payments.run_jobs()
        payments.clock.advance(seconds=120)
        await payments.run_jobs()

        payment = await payment_of(payments, done.session_id)
        charge = await charge_of(payments, done.session_id)
        assert payment.status == "released"
        assert (charge.capture_failures, charge.receivable_minor) == (1, 952)
        assert await calls(payments, "capture") == 1


class TestHolds:
    async def test_a_declined_card_holds_nothing_and_refuses_the_start(
        self, payments: Payments
    ) -> None:
        station_id, driver_id = await add_site(payments.context, payments.operator_id)
        await payments.save_card(driver_id, DECLINE)

        decision = await payments.hold(driver_id=driver_id, station_id=station_id)

        assert not decision.accepted
        assert decision.reason.startswith("declined")
        async with payments.context.unit_of_work() as db:
            payment = (await db.execute(select(Payment))).scalar_one()
        assert (payment.status, payment.ledger_pending_id) == ("failed", None)

    async def test_what_the_issuer_approved_counts_and_the_limit_keeps_the_margin(
        self, payments: Payments
    ) -> None:
        station_id, driver_id = await add_site(payments.context, payments.operator_id, price="2.00")
        await payments.save_card(driver_id, PARTIAL)

        decision = await payments.hold(driver_id=driver_id, station_id=station_id)

        async with payments.context.unit_of_work() as db:
            payment = (await db.execute(select(Payment))).scalar_one()
        assert (payment.requested_minor, payment.authorized_minor) == (5000, 2000)
        assert decision.accepted
        assert decision.limit is not None
        assert decision.limit.minor_units() == 2000 - payment.margin_minor
        assert payment.margin_minor > 0

    async def test_a_retried_start_reuses_the_drivers_hold_at_that_charger(
        self, payments: Payments
    ) -> None:
        station_id, driver_id = await add_site(payments.context, payments.operator_id)
        await payments.save_card(driver_id)

        first = await payments.hold(driver_id=driver_id, station_id=station_id)
        again = await payments.hold(driver_id=driver_id, station_id=station_id)

        assert again.hold_id == first.hold_id
        assert await calls(payments, "authorize") == 1

    async def test_a_driver_without_a_saved_card_gets_no_hold(self, payments: Payments) -> None:
        station_id, driver_id = await add_site(payments.context, payments.operator_id)

        async with payments.context.unit_of_work() as db:
            planned = await plan_hold(
                db=db,
                operator_id=payments.operator_id,
                station_id=station_id,
                evse_id=None,
                driver_id=driver_id,
                now=payments.clock.now(),
            )

        assert planned is None

    async def test_a_session_without_a_card_is_owed_in_full(self, payments: Payments) -> None:
        station_id, driver_id = await add_site(payments.context, payments.operator_id)
        session_id = await start_session(
            payments.context,
            operator_id=payments.operator_id,
            station_id=station_id,
            driver_id=driver_id,
        )
        await complete_session(payments.context, session_id=session_id, total="7.14")
        await enqueue_completed(payments.context, session_id=session_id)

        await payments.run_jobs()

        charge = await charge_of(payments, session_id)
        assert (charge.receivable_minor, charge.shortfall_reason) == (714, "no_hold")
        assert await receivable(payments, driver_id) == 714

    async def test_an_unused_hold_is_released_by_the_sweep(self, payments: Payments) -> None:
        station_id, driver_id = await add_site(payments.context, payments.operator_id)
        await payments.save_card(driver_id)
        decision = await payments.hold(driver_id=driver_id, station_id=station_id)
        payments.clock.advance(seconds=HoldPolicy().unused_hold_after.total_seconds() + 301)

        await payments.run_jobs()
        await payments.run_jobs()

        async with payments.context.unit_of_work() as db:
            payment = await db.get_one(Payment, decision.hold_id)
        assert payment.status == "released"
        assert await clearing(payments) == 0
        assert await trial_balance_is_zero(payments)
