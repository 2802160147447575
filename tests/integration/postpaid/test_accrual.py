"""A postpaid session's sale booked to its account's receivable, once."""

from __future__ import annotations

from decimal import Decimal

from evbilling.charging.settlement import get_settlement
from evbilling.infra.context import ServiceContext
from evbilling.ledger import service as ledger
from evbilling.ledger.domain import AccountRef
from tests.integration.postpaid.support import (
    accrue,
    charged_session,
    entry_count,
    postpaid_site,
    receivable,
    session_of,
    trial_differences,
)


class TestAccrueSession:
    async def test_books_the_priced_total_to_the_receivable_and_vat_per_rate(
        self, context: ServiceContext, operator_id: int
    ) -> None:
        site = await postpaid_site(context, operator_id)
        session_id = await charged_session(context, site, wh=10_000)

        await accrue(context, session_id)

        session = await session_of(context, session_id)
        assert session.status == "completed"
        # 10 kWh x 0.30 = 3.00 + 19 % = 3.57; 1.00 + 7 % = 1.07.
        assert session.cost_incl_vat == Decimal("4.64")
        assert await receivable(context, site.account_id) == 464
        async with context.unit_of_work() as db:
            vat19 = await ledger.account_balance(
                db=db,
                account=AccountRef.vat_payable(
                    operator_id=operator_id, rate=Decimal(19), currency="EUR"
                ),
            )
            vat7 = await ledger.account_balance(
                db=db,
                account=AccountRef.vat_payable(
                    operator_id=operator_id, rate=Decimal(7), currency="EUR"
                ),
            )
            settlement = await get_settlement(db=db, session_id=session_id)
        assert (vat19.balance_minor, vat7.balance_minor) == (-57, -7)
        assert settlement.location_id is not None
        assert await trial_differences(context) == [0]

    async def test_a_second_accrual_books_nothing(
        self, context: ServiceContext, operator_id: int
    ) -> None:
        site = await postpaid_site(context, operator_id)
        session_id = await charged_session(context, site, wh=5_000)
        await accrue(context, session_id)
        entries = await entry_count(context)

        await accrue(context, session_id)

        assert await entry_count(context) == entries
        assert await receivable(context, site.account_id) == 179 + 107  # 1.785 -> 1.79, 1.07

    async def test_a_session_of_no_postpaid_account_is_refused(
        self, context: ServiceContext, operator_id: int
    ) -> None:
        import pytest

        from evbilling.postpaid.domain import NotPostpaidSession
        from evbilling.postpaid.service import unlink_token

        site = await postpaid_site(context, operator_id)
        async with context.unit_of_work() as db:
            await unlink_token(
                db=db,
                operator_id=operator_id,
                account_id=site.account_id,
                token_id=site.token_id,
                now=context.clock.now(),
            )
            await db.commit()
        session_id = await charged_session(context, site, wh=5_000)
        entries = await entry_count(context)

        with pytest.raises(NotPostpaidSession):
            await accrue(context, session_id)

        assert await entry_count(context) == entries
