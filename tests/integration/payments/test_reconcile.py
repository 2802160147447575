"""Reconciliation against the provider, and the invariant that no cent of a priced session
is lost: Σ captured + Σ receivable + Σ written off = Σ priced session totals."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from sqlalchemy import func, select, update

from evbilling.ledger.domain import AccountRef
from evbilling.models import ChargingSession, Payment, ReconciliationRun, SessionCharge
from evbilling.payments.reconcile import reconcile
from tests.integration.payments.flow import (
    balance,
    card_session,
    charge_of,
    payment_of,
    receivable,
)
from tests.integration.payments.support import Payments


async def run(payments: Payments) -> ReconciliationRun:
    now = payments.clock.now()
    return await reconcile(
        context=payments.context,
        provider=payments.runtime.provider,
        start=now - timedelta(days=1),
        end=now + timedelta(hours=1),
    )


class TestReconcile:
    async def test_finds_nothing_when_records_ledger_and_provider_agree(
        self, payments: Payments
    ) -> None:
        done = await card_session(payments, total="9.52")
        payment = await payment_of(payments, done.session_id)
        refund = await payments.api.post(
            f"/payments/{payment.id}/refunds", json={"amount": "2.00", "reason": "r"}
        )
        assert refund.status_code == 201

        result = await run(payments)

        assert (result.mismatch_count, result.mismatches) == (0, [])

    async def test_lists_an_amount_that_differs_and_the_ledger_that_no_longer_agrees(
        self, payments: Payments
    ) -> None:
        done = await card_session(payments, total="9.52")
        payment = await payment_of(payments, done.session_id)
        async with payments.context.unit_of_work() as db:
            await db.execute(
                update(Payment).where(Payment.id == payment.id).values(captured_minor=900)
            )
            await db.commit()

        result = await run(payments)

        kinds = sorted((m["kind"], m["ours_minor"], m["provider_minor"]) for m in result.mismatches)
        assert kinds == [("amount_differs", 900, 952), ("ledger_differs", 900, 952)]

    async def test_lists_a_capture_missing_here(self, payments: Payments) -> None:
        done = await card_session(payments, total="9.52")
        payment = await payment_of(payments, done.session_id)
        async with payments.context.unit_of_work() as db:
            await db.execute(
                update(Payment).where(Payment.id == payment.id).values(authorization_id="auth_gone")
            )
            await db.commit()

        result = await run(payments)

        missing = [m for m in result.mismatches if m["kind"] != "ledger_differs"]
        assert sorted(m["kind"] for m in missing) == ["missing_at_provider", "missing_here"]

    async def test_the_cli_and_api_share_the_run(self, payments: Payments) -> None:
        now = payments.clock.now()

        response = await payments.api.post(
            "/payments/reconciliations",
            json={"from": (now - timedelta(days=1)).isoformat(), "to": now.isoformat()},
        )

        assert response.status_code == 201, response.text
        assert response.json()["mismatch_count"] == 0

    async def test_refuses_an_empty_period(self, payments: Payments) -> None:
        now = payments.clock.now().isoformat()

        response = await payments.api.post(
            "/payments/reconciliations", json={"from": now, "to": now}
        )

        assert response.status_code == 422
        async with payments.context.unit_of_work() as db:
            assert (await db.execute(select(ReconciliationRun))).first() is None


class TestNoCentLost:
    async def test_captured_plus_receivable_plus_written_off_is_every_priced_total(
        self, payments: Payments
    ) -> None:
        for index, amount in enumerate(["9.52", "15.00", "0.30", "0.00", "4.00"]):
            await card_session(payments, total=amount, identity=f"CP-{index}")
        # A failed start (no energy) is priced at its session fee but not charged.
        await card_session(payments, total="1.20", identity="CP-9", energy_wh=0)

        async with payments.context.unit_of_work() as db:
            sums = (
                await db.execute(
                    select(
                        func.sum(SessionCharge.captured_minor),
                        func.sum(SessionCharge.receivable_minor),
                        func.sum(SessionCharge.written_off_minor),
                    )
                )
            ).one()
            priced = (
                (
                    await db.execute(
                        select(ChargingSession.cost_incl_vat).where(
                            ChargingSession.pricing_status == "priced",
                            ChargingSession.energy_wh > 0,
                        )
                    )
                )
                .scalars()
                .all()
            )
        total = sum((Decimal(value) for value in priced if value is not None), Decimal(0))
        assert int(sums[0]) + int(sums[1]) + int(sums[2]) == int(total * 100)
        assert int(sums[1]) > 0  # the shortfall and the below-minimum session are owed


class TestWriteOff:
    async def test_moves_what_is_owed_to_written_off_and_refuses_more(
        self, payments: Payments
    ) -> None:
        done = await card_session(payments, total="15.00")  # 3.33 owed
        path = f"/sessions/{done.session_id}/charge/write-off"

        too_much = await payments.api.post(path, json={"amount": "3.34"})
        partly = await payments.api.post(path, json={"amount": "1.00"})
        rest = await payments.api.post(path, json={})

        assert too_much.status_code == 422
        assert partly.status_code == 200, partly.text
        assert (rest.json()["receivable_minor"], rest.json()["written_off_minor"]) == (0, 333)
        assert await receivable(payments, done.driver_id) == 0
        written = AccountRef.written_off(operator_id=payments.operator_id, currency="EUR")
        assert await balance(payments, written) == 333
        charge = await charge_of(payments, done.session_id)
        assert charge.captured_minor + charge.receivable_minor + charge.written_off_minor == 1500
