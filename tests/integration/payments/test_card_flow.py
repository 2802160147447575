"""A session paid by card: a saved card, a hold sized from the tariff and the EVSE, the
session's spending limit, the capture at completion and its ledger entries."""

from __future__ import annotations

from sqlalchemy import select

from evbilling.ledger import service as ledger
from evbilling.ledger.domain import AccountRef
from evbilling.models import ChargingSession, Payment, PaymentMethod
from tests.integration.payments.support import (
    Payments,
    add_site,
    complete_session,
    enqueue_completed,
    start_session,
)


class TestSavingACard:
    async def test_stores_the_token_brand_last4_and_expiry_only(self, payments: Payments) -> None:
        # Arrange
        _, driver_id = await add_site(payments.context, payments.operator_id)

        # Act
        setup = await payments.save_card(driver_id)
        await payments.drain()

        # Assert
        assert setup["url"].startswith("http://testserver/sandbox-psp/")
        listed = await payments.api.get(f"/drivers/{driver_id}/payment-methods")
        assert listed.status_code == 200
        [method] = listed.json()
        assert (method["brand"], method["last4"], method["exp_month"], method["exp_year"]) == (
            "visa",
            "4242",
            12,
            2034,
        )
        assert method["is_default"] is True


class TestCardSession:
    async def test_holds_then_captures_the_cost_and_books_it(self, payments: Payments) -> None:
        # Arrange
        station_id, driver_id = await add_site(payments.context, payments.operator_id)
        await payments.save_card(driver_id)

        # Act
        decision = await payments.hold(driver_id=driver_id, station_id=station_id)
        session_id = await start_session(
            payments.context,
            operator_id=payments.operator_id,
            station_id=station_id,
            driver_id=driver_id,
        )
        async with payments.context.unit_of_work() as db:
            from evbilling.payments.card_flow import attach_session

            await attach_session(db=db, session_id=session_id, now=payments.clock.now())
            await db.commit()
        await complete_session(payments.context, session_id=session_id, total="9.52")
        await enqueue_completed(payments.context, session_id=session_id)
        await payments.run_jobs()
        await payments.drain()

        # Assert
        assert decision.accepted
        assert decision.authorized is not None
        async with payments.context.unit_of_work() as db:
            payment = (await db.execute(select(Payment))).scalar_one()
            session = await db.get_one(ChargingSession, session_id)
            assert payment.status == "captured"
            assert payment.captured_minor == 952
            assert session.spending_limit_minor == payment.limit_minor
            receivable = await ledger.account_balance(
                db=db, account=AccountRef.driver_receivable(driver_id=driver_id, currency="EUR")
            )
            clearing = await ledger.account_balance(
                db=db, account=AccountRef.psp_clearing(provider="sandbox", currency="EUR")
            )
            assert receivable.balance_minor == 0
            assert clearing.balance_minor == 952
            assert all(row.difference == 0 for row in await ledger.trial_balance(db=db))
            assert (await db.execute(select(PaymentMethod))).scalar_one().last4 == "4242"
