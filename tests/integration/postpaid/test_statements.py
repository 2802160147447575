"""Monthly statements: the period's sessions, sums per VAT rate, balances; issued once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from evbilling.infra.context import ServiceContext
from evbilling.kit import FixedClock, NotFound
from evbilling.models import PostpaidStatement, PostpaidStatementLine
from evbilling.money import Money
from evbilling.postpaid import jobs, received, statements
from evbilling.postpaid.domain import PeriodNotOver, month_period
from tests.integration.arrange import add_operator
from tests.integration.postpaid.support import Site, accrue, charged_session, postpaid_site

NOVEMBER = month_period("2026-11")


async def november_of_sessions(
    context: ServiceContext, clock: FixedClock, operator_id: int
) -> tuple[Site, list[int]]:
    """Two sessions completed in November (one a minute before its end), a bank transfer of
    3.00 in November, and one session in December."""
    clock.current = datetime(2026, 11, 5, 8, 0, tzinfo=UTC)
    site = await postpaid_site(context, operator_id, limit="500.00")
    first = await charged_session(context, site, wh=10_000, minutes=40)  # 4.64
    await accrue(context, first)
    clock.current = datetime(2026, 11, 30, 23, 0, tzinfo=UTC)
    last = await charged_session(context, site, wh=5_000, minutes=58)  # 2.86, done 23:58:30
    await accrue(context, last)
    async with context.unit_of_work() as db:
        await received.mark_bank_transfer(
            db=db,
            operator_id=operator_id,
            account_id=site.account_id,
            amount=Money.of("3.00", "EUR"),
            reference="SEPA-NOV-1",
            now=clock.now(),
        )
        await db.commit()
    clock.current = datetime(2026, 12, 1, 0, 5, tzinfo=UTC)
    december = await charged_session(context, site, wh=2_000, minutes=10)
    await accrue(context, december)
    clock.current = datetime(2026, 12, 2, 6, 0, tzinfo=UTC)
    return site, [first, last, december]


async def issue(context: ServiceContext, operator_id: int, site: Site) -> statements.Statement:
    async with context.unit_of_work() as db:
        found = await statements.build_statement(
            db=db,
            operator_id=operator_id,
            account_id=site.account_id,
            period_start=NOVEMBER[0],
            period_end=NOVEMBER[1],
            now=context.clock.now(),
        )
        await db.commit()
        return found


async def rows(context: ServiceContext) -> tuple[int, int]:
    async with context.unit_of_work() as db:
        count_statements = await db.scalar(select(func.count()).select_from(PostpaidStatement))
        count_lines = await db.scalar(select(func.count()).select_from(PostpaidStatementLine))
        return int(count_statements or 0), int(count_lines or 0)


class TestBuildStatement:
    async def test_lists_the_sessions_completed_in_the_period_with_exact_sums(
        self, context: ServiceContext, clock: FixedClock, operator_id: int
    ) -> None:
        site, (first, last, _) = await november_of_sessions(context, clock, operator_id)

        found = await issue(context, operator_id, site)

        statement = found.statement
        assert [line.session_id for line in found.lines] == [first, last]
        assert [line.total_minor for line in found.lines] == [464, 286]
        assert [line.energy_wh for line in found.lines] == [10_000, 5_000]
        assert [line.duration_s for line in found.lines] == [40 * 60, 58 * 60]
        assert {line.station for line in found.lines} == {"CP-PP-1"}
        assert statement.session_count == 2
        assert statement.energy_wh == 15_000
        assert statement.total_minor == 750
        assert statement.vat_summary == [
            {"rate": "19", "net_minor": 450, "vat_minor": 86, "total_minor": 536},
            {"rate": "7", "net_minor": 200, "vat_minor": 14, "total_minor": 214},
        ]
        assert statement.net_minor + statement.vat_minor == statement.total_minor
        assert sum(rate["total_minor"] for rate in statement.vat_summary) == 750
        assert (statement.opening_balance_minor, statement.charges_minor) == (0, 750)
        assert (statement.payments_minor, statement.closing_balance_minor) == (300, 450)
        assert found.due_minor == 450

    async def test_is_issued_once(
        self, context: ServiceContext, clock: FixedClock, operator_id: int
    ) -> None:
        site, _ = await november_of_sessions(context, clock, operator_id)
        first = await issue(context, operator_id, site)
        clock.current += timedelta(days=3)

        again = await issue(context, operator_id, site)

        assert again.statement.id == first.statement.id
        assert again.statement.issued_at == first.statement.issued_at
        assert await rows(context) == (1, 2)

    async def test_refuses_a_period_that_has_not_ended(
        self, context: ServiceContext, clock: FixedClock, operator_id: int
    ) -> None:
        clock.current = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
        site = await postpaid_site(context, operator_id)

        with pytest.raises(PeriodNotOver):
            await issue(context, operator_id, site)

        assert await rows(context) == (0, 0)


class TestPreviewOfTheRunningMonth:
    async def test_shows_this_months_sessions_so_far_and_stores_nothing(
        self, context: ServiceContext, clock: FixedClock, operator_id: int
    ) -> None:
        site, (_, _, december) = await november_of_sessions(context, clock, operator_id)

        async with context.unit_of_work() as db:
            found = await statements.preview_statement(
                db=db, operator_id=operator_id, account_id=site.account_id, now=clock.now()
            )
            await db.commit()

        preview = found.statement
        assert [line.session_id for line in found.lines] == [december]
        assert (preview.period_start, preview.period_end) == (
            datetime(2026, 12, 1, tzinfo=UTC),
            clock.now(),
        )
        assert preview.session_count == 1
        assert preview.net_minor + preview.vat_minor == preview.total_minor
        # November's charges less its transfer are owed at the start of December.
        assert (preview.opening_balance_minor, preview.payments_minor) == (450, 0)
        assert preview.closing_balance_minor == 450 + preview.charges_minor
        assert preview.charges_minor == preview.total_minor
        assert await rows(context) == (0, 0)

    async def test_is_for_the_accounts_own_operator_only(
        self, context: ServiceContext, clock: FixedClock, operator_id: int
    ) -> None:
        site, _ = await november_of_sessions(context, clock, operator_id)
        other_operator_id = await add_operator(context)

        async with context.unit_of_work() as db:
            with pytest.raises(NotFound):
                await statements.preview_statement(
                    db=db, operator_id=other_operator_id, account_id=site.account_id,
                    now=clock.now(),
                )  # fmt: skip


class TestStatementsJob:
    async def test_issues_last_months_statements_once(
        self, context: ServiceContext, clock: FixedClock, operator_id: int
    ) -> None:
        site, _ = await november_of_sessions(context, clock, operator_id)
        clock.current = datetime(2026, 12, 1, 0, 30, tzinfo=UTC)

        for _ in range(2):
            async with context.unit_of_work() as db:
                await jobs.issue_statements(db=db, payload={}, now=clock.now())
                await db.commit()

        assert await rows(context) == (1, 2)
        found = await issue(context, operator_id, site)
        assert found.statement.total_minor == 750
