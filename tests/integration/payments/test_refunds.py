"""Refunds by operators: full or partial, never more than captured (also when requests race),
revenue and VAT reversed in the refund's own transaction, the money out of PSP clearing once
the provider paid it; only keys with the payments scope may ask."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select

from evbilling.access.service import create_api_key
from evbilling.ledger.domain import AccountRef
from evbilling.models import PaymentRefund
from tests.integration.payments.flow import (
    balance,
    card_session,
    clearing,
    payment_of,
    trial_balance_is_zero,
)
from tests.integration.payments.support import Payments


def revenue(payments: Payments) -> AccountRef:
    return AccountRef.revenue(operator_id=payments.operator_id, location_id=1, currency="EUR")


def vat(payments: Payments) -> AccountRef:
    from decimal import Decimal

    return AccountRef.vat_payable(
        operator_id=payments.operator_id, rate=Decimal(19), currency="EUR"
    )


class TestRefund:
    async def test_a_partial_refund_reverses_its_share_of_revenue_and_vat(
        self, payments: Payments
    ) -> None:
        done = await card_session(payments, total="9.52")  # 8.00 net + 1.52 VAT
        payment = await payment_of(payments, done.session_id)

        response = await payments.api.post(
            f"/payments/{payment.id}/refunds", json={"amount": "4.76", "reason": "faulty cable"}
        )

        assert response.status_code == 201, response.text
        assert (response.json()["status"], response.json()["amount_minor"]) == ("succeeded", 476)
        assert await balance(payments, revenue(payments)) == -800 + 400
        assert await balance(payments, vat(payments)) == -152 + 76
        assert await clearing(payments) == 952 - 476
        assert await trial_balance_is_zero(payments)
        after = await payment_of(payments, done.session_id)
        assert (after.status, after.refunded_minor) == ("captured", 476)

    async def test_a_full_refund_returns_everything_and_marks_the_payment_refunded(
        self, payments: Payments
    ) -> None:
        done = await card_session(payments, total="9.52")
        payment = await payment_of(payments, done.session_id)

        response = await payments.api.post(
            f"/payments/{payment.id}/refunds", json={"reason": "goodwill"}
        )

        assert response.status_code == 201, response.text
        assert response.json()["amount_minor"] == 952
        assert (await payment_of(payments, done.session_id)).status == "refunded"
        assert await balance(payments, revenue(payments)) == 0
        assert await clearing(payments) == 0

    @pytest.mark.parametrize(
        ("amount", "status"), [("9.53", 409), ("0", 422), ("-1", 422), ("1.005", 422)]
    )
    async def test_refuses_an_amount_it_cannot_refund_and_changes_nothing(
        self, payments: Payments, amount: str, status: int
    ) -> None:
        done = await card_session(payments, total="9.52")
        payment = await payment_of(payments, done.session_id)

        response = await payments.api.post(
            f"/payments/{payment.id}/refunds", json={"amount": amount, "reason": "too much"}
        )

        assert response.status_code == status, response.text
        assert (await payment_of(payments, done.session_id)).refunded_minor == 0
        async with payments.context.unit_of_work() as db:
            assert (await db.execute(select(PaymentRefund))).first() is None
        assert await clearing(payments) == 952

    async def test_a_second_refund_cannot_pass_what_is_left(self, payments: Payments) -> None:
        done = await card_session(payments, total="9.52")
        payment = await payment_of(payments, done.session_id)
        first = await payments.api.post(
            f"/payments/{payment.id}/refunds", json={"amount": "9.00", "reason": "a"}
        )

        second = await payments.api.post(
            f"/payments/{payment.id}/refunds", json={"amount": "1.00", "reason": "b"}
        )

        assert first.status_code == 201
        assert second.status_code == 409
        assert second.json()["detail"] == "at most 52 minor units are left to refund"

    async def test_needs_a_key_with_the_payments_scope(self, payments: Payments) -> None:
        done = await card_session(payments, total="9.52")
        payment = await payment_of(payments, done.session_id)
        async with payments.context.unit_of_work() as db:
            plain = await create_api_key(
                db=db,
                operator_id=payments.operator_id,
                name="plain",
                now=payments.clock.now(),
                hasher=payments.context.api_keys,
            )
            await db.commit()

        response = await payments.api.post(
            f"/payments/{payment.id}/refunds",
            json={"reason": "x"},
            headers={"Authorization": f"Bearer {plain.key}"},
        )

        assert response.status_code == 403
        assert (await payment_of(payments, done.session_id)).refunded_minor == 0


class TestConcurrentRefunds:
    @pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
    async def test_parallel_requests_never_refund_more_than_captured(
        self, payments: Payments
    ) -> None:
        done = await card_session(payments, total="9.52")
        payment = await payment_of(payments, done.session_id)

        responses = await asyncio.gather(
            *(
                payments.api.post(
                    f"/payments/{payment.id}/refunds", json={"amount": "3.00", "reason": "race"}
                )
                for _ in range(8)
            )
        )

        created = [r for r in responses if r.status_code == 201]
        assert len(created) == 3
        assert all(r.status_code == 409 for r in responses if r.status_code != 201)
        after = await payment_of(payments, done.session_id)
        assert after.refunded_minor == 900 <= after.captured_minor
        assert await clearing(payments) == 52
        assert await trial_balance_is_zero(payments)


class TestIdempotentRefunds:
    async def test_the_same_idempotency_key_refunds_once_and_answers_the_same(
        self, payments: Payments
    ) -> None:
        done = await card_session(payments, total="9.52")
        payment = await payment_of(payments, done.session_id)
        body = {"amount": "2.00", "reason": "retried by the client"}
        headers = {"Idempotency-Key": "refund-2026-03-02-a"}

        first = await payments.api.post(
            f"/payments/{payment.id}/refunds", json=body, headers=headers
        )
        again = await payments.api.post(
            f"/payments/{payment.id}/refunds", json=body, headers=headers
        )
        other = await payments.api.post(
            f"/payments/{payment.id}/refunds", json={**body, "amount": "3.00"}, headers=headers
        )

        assert first.status_code == again.status_code == 201
        assert again.json() == first.json()
        assert other.status_code == 409
        assert (await payment_of(payments, done.session_id)).refunded_minor == 200
