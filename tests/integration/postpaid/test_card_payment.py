"""A statement paid with the payer's saved card through the provider (the sandbox)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from evbilling.infra.context import ServiceContext
from evbilling.kit import FixedClock
from evbilling.ledger import service as ledger
from evbilling.ledger.domain import AccountRef
from evbilling.postpaid import service, statements
from evbilling.postpaid.domain import month_period
from tests.integration.payments.support import DECLINE, Payments, running_payments
from tests.integration.postpaid.support import (
    Site,
    accrue,
    charged_session,
    entry_count,
    postpaid_site,
    receivable,
    trial_differences,
)


@pytest.fixture
async def payments(
    context: ServiceContext, clock: FixedClock, tmp_path: Path, operator_id: int
) -> AsyncIterator[Payments]:
    async with running_payments(
        context=context, clock=clock, tmp_path=tmp_path, operator_id=operator_id
    ) as running:
        yield running


async def october_statement(payments: Payments, *, card: str | None) -> tuple[Site, int]:
    """An account whose payer (the fleet card's driver) saved `card`, a 4.64 session in
    October, and the October statement issued."""
    context, clock = payments.context, payments.clock
    clock.current = datetime(2026, 10, 10, 9, 0, tzinfo=UTC)
    site = await postpaid_site(context, payments.operator_id)
    if card is not None:
        await payments.save_card(site.driver_id, number=card)
    async with context.unit_of_work() as db:
        await service.update_account(
            db=db,
            operator_id=payments.operator_id,
            account_id=site.account_id,
            payer_driver_id=site.driver_id,
            now=clock.now(),
        )
        await db.commit()
    await accrue(context, await charged_session(context, site, wh=10_000, minutes=40))
    clock.current = datetime(2026, 11, 1, 3, 0, tzinfo=UTC)
    start, end = month_period("2026-10")
    async with context.unit_of_work() as db:
        found = await statements.build_statement(
            db=db,
            operator_id=payments.operator_id,
            account_id=site.account_id,
            period_start=start,
            period_end=end,
            now=clock.now(),
        )
        await db.commit()
    return site, found.statement.id


async def clearing(payments: Payments) -> int:
    async with payments.context.unit_of_work() as db:
        ref = AccountRef.psp_clearing(provider="sandbox", currency="EUR")
        return (await ledger.account_balance(db=db, account=ref)).balance_minor


class TestCardPayment:
    async def test_captures_what_is_due_and_clears_the_receivable(self, payments: Payments) -> None:
        from tests.integration.payments.support import SUCCESS

        site, statement_id = await october_statement(payments, card=SUCCESS)

        response = await payments.api.post(
            f"/postpaid-accounts/{site.account_id}/statements/{statement_id}/card-payments"
        )

        assert response.status_code == 201, response.text
        body = response.json()
        assert (body["status"], body["amount_minor"], body["method"]) == ("succeeded", 464, "card")
        assert await receivable(payments.context, site.account_id) == 0
        assert await clearing(payments) == 464
        assert await trial_differences(payments.context) == [0]
        again = await payments.api.post(
            f"/postpaid-accounts/{site.account_id}/statements/{statement_id}/card-payments"
        )
        assert again.status_code == 409  # nothing due any more

    async def test_a_declined_card_books_nothing(self, payments: Payments) -> None:
        site, statement_id = await october_statement(payments, card=DECLINE)
        entries = await entry_count(payments.context)

        response = await payments.api.post(
            f"/postpaid-accounts/{site.account_id}/statements/{statement_id}/card-payments"
        )

        assert response.status_code == 201, response.text
        assert response.json()["status"] == "failed"
        assert await entry_count(payments.context) == entries
        assert await receivable(payments.context, site.account_id) == 464

    async def test_without_a_saved_card_nothing_is_charged(self, payments: Payments) -> None:
        site, statement_id = await october_statement(payments, card=None)

        response = await payments.api.post(
            f"/postpaid-accounts/{site.account_id}/statements/{statement_id}/card-payments"
        )

        assert response.status_code == 409, response.text
        assert await receivable(payments.context, site.account_id) == 464
