"""The database itself refuses what the ledger forbids, whatever code (or hand-written SQL)
tries: unbalanced entries at commit, rewriting or deleting history, a hold moved twice."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from evbilling.infra.context import ServiceContext
from evbilling.ledger import service as ledger
from evbilling.ledger.domain import PendingStatus
from evbilling.ledger.errors import PendingAlreadyResolved
from tests.integration.ledger.book import CLEARING, RECEIVABLE, REVENUE, balance_of, post, sale

_AT = "'2026-03-02 09:00:00'"
# PostgreSQL's trigger names the imbalance; SQLite's commit fails on the blocking foreign key.
UNBALANCED = r"(?i)does not balance|foreign key"


async def _scalar(engine: AsyncEngine, query: str) -> object:
    async with engine.connect() as connection:
        return (await connection.execute(text(query))).scalar()


async def _commit(engine: AsyncEngine, *statements: str) -> None:
    """The statements in one transaction, committed."""
    async with engine.begin() as connection:
        for statement in statements:
            await connection.execute(text(statement))


_ENTRY_100 = (
    "INSERT INTO ledger_entries (id, reference, kind, description, created_at) "
    f"VALUES (100, 'by-hand', 'transfer', '', {_AT})"
)


def _line(entry_id: int, account: int, amount: int) -> str:
    return (
        "INSERT INTO ledger_lines (entry_id, account_id, currency, amount_minor) "
        f"VALUES ({entry_id}, {account}, 'EUR', {amount})"
    )


async def _accounts(context: ServiceContext) -> tuple[int, int]:
    """Entry 1 (a sale) booked; the ids of its receivable and revenue accounts."""
    entry = await post(context, "seed", sale("seed"))
    assert entry.id == 1
    async with context.unit_of_work() as db:
        first = (await ledger.account_balance(db=db, account=RECEIVABLE)).account_id
        second = (await ledger.account_balance(db=db, account=REVENUE)).account_id
    return first, second


class TestBalanceAtCommit:
    async def test_refuses_an_unbalanced_entry_written_by_hand(
        self, engine: AsyncEngine, context: ServiceContext
    ) -> None:
        # Arrange
        account, _ = await _accounts(context)

        # Act / Assert
        with pytest.raises(DBAPIError, match=UNBALANCED):
            await _commit(engine, _ENTRY_100, _line(100, account, 500))
        assert await _scalar(engine, "SELECT count(*) FROM ledger_entries") == 1
        assert await _scalar(engine, "SELECT count(*) FROM ledger_lines") == 3

    async def test_refuses_a_line_added_later_to_a_balanced_entry(
        self, engine: AsyncEngine, context: ServiceContext
    ) -> None:
        account, _ = await _accounts(context)

        with pytest.raises(DBAPIError, match=UNBALANCED):
            await _commit(engine, _line(1, account, 1))

        assert (await balance_of(context, RECEIVABLE)).balance_minor == 1190

    async def test_accepts_a_balanced_entry_written_by_hand(
        self, engine: AsyncEngine, context: ServiceContext
    ) -> None:
        account, other = await _accounts(context)

        await _commit(engine, _ENTRY_100, _line(100, account, 500), _line(100, other, -500))

        assert await _scalar(engine, "SELECT count(*) FROM ledger_lines") == 5
        assert await _scalar(engine, "SELECT count(*) FROM ledger_imbalances") == 0


class TestAppendOnly:
    @pytest.mark.parametrize(
        "statement",
        [
            "UPDATE ledger_lines SET amount_minor = amount_minor * 2",
            "DELETE FROM ledger_lines",
            "UPDATE ledger_entries SET description = 'rewritten'",
            "DELETE FROM ledger_entries",
            "UPDATE ledger_accounts SET scope = 'driver:2'",
            "DELETE FROM ledger_accounts",
        ],
    )
    async def test_refuses_to_change_history(
        self, engine: AsyncEngine, context: ServiceContext, statement: str
    ) -> None:
        await _accounts(context)

        with pytest.raises(DBAPIError, match=r"append-only"):
            await _commit(engine, statement)

        assert (
            await _scalar(
                engine, "SELECT sum(amount_minor) FROM ledger_lines WHERE amount_minor > 0"
            )
            == 1190
        )
        assert await _scalar(engine, "SELECT description FROM ledger_entries") == "test"


class TestHoldMovesOnce:
    async def _hold(self, context: ServiceContext) -> int:
        async with context.unit_of_work() as db:
            hold = await ledger.open_pending(
                db=db,
                reference="hold:1",
                debit=CLEARING,
                credit=RECEIVABLE,
                amount_minor=5000,
                now=context.clock.now(),
            )
            await db.commit()
        return hold.id

    @pytest.mark.parametrize(
        "statement",
        [
            "UPDATE ledger_pending SET amount_minor = 1",
            "UPDATE ledger_pending SET status = 'posted'",  # without its entry
            "DELETE FROM ledger_pending",
        ],
    )
    async def test_refuses_any_other_change(
        self, engine: AsyncEngine, context: ServiceContext, statement: str
    ) -> None:
        await self._hold(context)

        with pytest.raises(DBAPIError, match=r"moves once"):
            await _commit(engine, statement)

        assert await _scalar(engine, "SELECT status FROM ledger_pending") == "pending"

    async def test_refuses_moving_a_posted_hold_again(
        self, engine: AsyncEngine, context: ServiceContext
    ) -> None:
        hold_id = await self._hold(context)
        async with context.unit_of_work() as db:
            await ledger.post_pending(
                db=db, pending_id=hold_id, amount_minor=100, reference="c", now=context.clock.now()
            )
            await db.commit()

        with pytest.raises(DBAPIError, match=r"moves once"):
            await _commit(engine, "UPDATE ledger_pending SET status = 'voided', posted_minor = 0")

        assert await _scalar(engine, "SELECT posted_minor FROM ledger_pending") == 100


class TestConcurrentResolution:
    async def test_of_many_concurrent_posts_and_voids_exactly_one_wins(
        self, engine: AsyncEngine, context: ServiceContext
    ) -> None:
        if engine.dialect.name != "postgresql":
            pytest.skip("concurrent writers: PostgreSQL")
        async with context.unit_of_work() as db:
            hold = await ledger.open_pending(
                db=db,
                reference="hold:1",
                debit=CLEARING,
                credit=RECEIVABLE,
                amount_minor=5000,
                now=context.clock.now(),
            )
            await db.commit()

        async def resolve(attempt: int) -> str:
            try:
                async with context.unit_of_work() as db:
                    if attempt % 2:
                        await ledger.void_pending(
                            db=db,
                            pending_id=hold.id,
                            reference=f"v{attempt}",
                            now=context.clock.now(),
                        )
                    else:
                        await ledger.post_pending(
                            db=db,
                            pending_id=hold.id,
                            amount_minor=1000 + attempt,
                            reference=f"p{attempt}",
                            now=context.clock.now(),
                        )
                    await db.commit()
                return "won"
            except PendingAlreadyResolved:
                return "refused"

        outcomes = await asyncio.gather(*(resolve(attempt) for attempt in range(8)))

        assert sorted(outcomes) == ["refused"] * 7 + ["won"]
        async with context.unit_of_work() as db:
            state = await ledger.get_pending(db=db, reference="hold:1")
        assert state is not None
        assert state.status != PendingStatus.PENDING
        assert (
            await _scalar(
                engine,
                "SELECT count(*) FROM ledger_entries "
                "WHERE kind IN ('post_pending', 'void_pending')",
            )
            == 1
        )
        clearing = await balance_of(context, CLEARING)
        assert clearing.balance_minor == state.posted_minor
        assert clearing.debits_pending == 0


class TestConcurrentBooking:
    async def test_the_same_reference_booked_concurrently_is_one_entry(
        self, engine: AsyncEngine, context: ServiceContext
    ) -> None:
        if engine.dialect.name != "postgresql":
            pytest.skip("concurrent writers: PostgreSQL")

        entries = await asyncio.gather(*(post(context, "sale:1", sale("sale:1")) for _ in range(8)))

        assert len({entry.id for entry in entries}) == 1
        assert await _scalar(engine, "SELECT count(*) FROM ledger_entries") == 1
        assert (await balance_of(context, RECEIVABLE)).balance_minor == 1190

    async def test_writers_creating_the_same_accounts_in_any_order_never_deadlock(
        self, engine: AsyncEngine, context: ServiceContext
    ) -> None:
        if engine.dialect.name != "postgresql":
            pytest.skip("concurrent writers: PostgreSQL")
        lines = sale("x")

        async def book(number: int) -> None:
            ordered = lines if number % 2 else tuple(reversed(lines))
            await post(context, f"sale:{number}", ordered)

        await asyncio.gather(*(book(number) for number in range(8)))

        assert await _scalar(engine, "SELECT count(*) FROM ledger_accounts") == 3
        assert (await balance_of(context, RECEIVABLE)).balance_minor == 8 * 1190
