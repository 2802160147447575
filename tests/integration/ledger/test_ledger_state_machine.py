"""A hypothesis state machine over the ledger's use cases on a real database: any sequence of
entries, repeated references, reversals and holds posted, voided or resolved twice keeps the
trial balance at zero and every balance equal to the sum of its lines, as a plain model of
the ledger predicts."""

from __future__ import annotations

import asyncio
import itertools
import shutil
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    consumes,
    invariant,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from evbilling.infra.db.engine import create_engine, create_session_factory
from evbilling.ledger import service as ledger
from evbilling.ledger.domain import AccountRef, EntryDraft, Line, PendingStatus
from evbilling.ledger.errors import (
    EntryAlreadyReversed,
    EntryConflict,
    InvalidTransferAmount,
    NotReversible,
    PendingAlreadyResolved,
)
from tests.conftest import START

T = TypeVar("T")

EUR_ACCOUNTS = (
    AccountRef.driver_receivable(driver_id=1, currency="EUR"),
    AccountRef.driver_receivable(driver_id=2, currency="EUR"),
    AccountRef.revenue(operator_id=1, location_id=None, currency="EUR"),
    AccountRef.psp_clearing(provider="sandbox", currency="EUR"),
)
JPY_ACCOUNTS = (
    AccountRef.driver_receivable(driver_id=1, currency="JPY"),
    AccountRef.revenue(operator_id=1, location_id=None, currency="JPY"),
)
ACCOUNTS = EUR_ACCOUNTS + JPY_ACCOUNTS
_LEDGER_TABLES = "ledger_imbalances, ledger_lines, ledger_pending, ledger_entries, ledger_accounts"


@st.composite
def balanced(draw: st.DrawFn) -> tuple[Line, ...]:
    lines: list[Line] = []
    for group in draw(st.sets(st.sampled_from((EUR_ACCOUNTS, JPY_ACCOUNTS)), min_size=1)):
        moves = draw(st.lists(st.integers(-10_000, 10_000).filter(bool), min_size=1, max_size=3))
        lines.extend(Line(draw(st.sampled_from(group)), amount) for amount in moves)
        if sum(moves):
            lines.append(Line(draw(st.sampled_from(group)), -sum(moves)))
    return tuple(lines)


@dataclass
class Booked:
    id: int
    reference: str
    lines: tuple[Line, ...]
    reversed: bool = False
    is_reversal: bool = False


@dataclass
class Hold:
    id: int
    debit: AccountRef
    credit: AccountRef
    amount: int
    status: PendingStatus = PendingStatus.PENDING
    posted: int = 0


class LedgerMachine(RuleBasedStateMachine):
    """Subclassed per test with `database` (a callable giving a fresh, migrated URL)."""

    database: Callable[[], str]
    entries = Bundle("entries")
    holds = Bundle("holds")

    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.engine = create_engine(url=type(self).database())
        if self.engine.dialect.name == "postgresql":
            self._run(self._truncate())
        self.sessions = create_session_factory(self.engine)
        self.references = itertools.count()
        self.posted: dict[AccountRef, int] = dict.fromkeys(ACCOUNTS, 0)
        self.held: dict[int, Hold] = {}

    async def _truncate(self) -> None:
        async with self.engine.begin() as connection:
            await connection.execute(text(f"TRUNCATE {_LEDGER_TABLES} RESTART IDENTITY"))

    def _run(self, work: Awaitable[T]) -> T:
        return self.loop.run_until_complete(work)

    def _unit(self, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
        async def run() -> T:
            async with self.sessions() as db:
                try:
                    result = await work(db)
                except BaseException:
                    await db.rollback()
                    raise
                await db.commit()
                return result

        return self._run(run())

    def teardown(self) -> None:
        self._run(self.engine.dispose())
        self.loop.close()

    def _apply(self, lines: tuple[Line, ...], sign: int = 1) -> None:
        for line in lines:
            self.posted[line.account] += sign * line.amount_minor

    # -----------------------------------------------------------------------------------------

    @rule(target=entries, lines=balanced())
    def post(self, lines: tuple[Line, ...]) -> Booked:
        reference = f"e{next(self.references)}"
        draft = EntryDraft(reference=reference, description="", lines=lines)
        entry = self._unit(lambda db: ledger.post_entry(db=db, draft=draft, now=START))
        self._apply(lines)
        return Booked(id=entry.id, reference=reference, lines=lines)

    @rule(booked=entries, other=balanced())
    def post_again(self, booked: Booked, other: tuple[Line, ...]) -> None:
        same = EntryDraft(reference=booked.reference, description="again", lines=booked.lines)
        if booked.is_reversal:  # booked as a reversal, not as a transfer
            with pytest.raises(EntryConflict):
                self._unit(lambda db: ledger.post_entry(db=db, draft=same, now=START))
            return
        again = self._unit(lambda db: ledger.post_entry(db=db, draft=same, now=START))
        assert again.id == booked.id
        if other != booked.lines:
            changed = EntryDraft(reference=booked.reference, description="", lines=other)
            with pytest.raises(EntryConflict):
                self._unit(lambda db: ledger.post_entry(db=db, draft=changed, now=START))

    @rule(target=entries, booked=entries)
    def reverse(self, booked: Booked) -> Booked:
        reference = f"r{next(self.references)}"

        async def work(db: AsyncSession) -> Any:
            return await ledger.reverse_entry(
                db=db, entry_id=booked.id, reference=reference, now=START
            )

        if booked.is_reversal or booked.reversed:
            refused = NotReversible if booked.is_reversal else EntryAlreadyReversed
            with pytest.raises(refused):
                self._unit(work)
            return booked
        reversal = self._unit(work)
        booked.reversed = True
        self._apply(booked.lines, sign=-1)
        assert reversal.lines == tuple(Line(x.account, -x.amount_minor) for x in booked.lines)
        return Booked(id=reversal.id, reference=reference, lines=reversal.lines, is_reversal=True)

    @rule(
        target=holds,
        accounts=st.sampled_from((EUR_ACCOUNTS, JPY_ACCOUNTS)).flatmap(
            lambda group: st.lists(st.sampled_from(group), min_size=2, max_size=2, unique=True)
        ),
        amount=st.integers(1, 50_000),
    )
    def open_hold(self, accounts: list[AccountRef], amount: int) -> Hold:
        debit, credit = accounts
        reference = f"h{next(self.references)}"
        pending = self._unit(
            lambda db: ledger.open_pending(
                db=db,
                reference=reference,
                debit=debit,
                credit=credit,
                amount_minor=amount,
                now=START,
            )
        )
        hold = Hold(id=pending.id, debit=debit, credit=credit, amount=amount)
        self.held[hold.id] = hold
        return hold

    @rule(hold=holds, share=st.integers(0, 110))
    def post_hold(self, hold: Hold, share: int) -> None:
        amount = hold.amount * share // 100
        reference = f"p{next(self.references)}"

        async def work(db: AsyncSession) -> Any:
            return await ledger.post_pending(
                db=db, pending_id=hold.id, amount_minor=amount, reference=reference, now=START
            )

        if hold.status != PendingStatus.PENDING:
            with pytest.raises(PendingAlreadyResolved):
                self._unit(work)
        elif not 0 < amount <= hold.amount:
            with pytest.raises(InvalidTransferAmount):
                self._unit(work)
        else:
            entry = self._unit(work)
            assert entry.lines == (Line(hold.debit, amount), Line(hold.credit, -amount))
            hold.status, hold.posted = PendingStatus.POSTED, amount
            self._apply(entry.lines)

    @rule(hold=holds)
    def void_hold(self, hold: Hold) -> None:
        reference = f"v{next(self.references)}"

        async def work(db: AsyncSession) -> None:
            await ledger.void_pending(db=db, pending_id=hold.id, reference=reference, now=START)

        if hold.status != PendingStatus.PENDING:
            with pytest.raises(PendingAlreadyResolved):
                self._unit(work)
        else:
            self._unit(work)
            hold.status = PendingStatus.VOIDED

    @rule(hold=consumes(holds))
    def check_hold(self, hold: Hold) -> None:
        async def work(db: AsyncSession) -> Any:
            return await ledger.get_pending_by_id(db=db, pending_id=hold.id)

        stored = self._unit(work)
        assert (stored.status, stored.posted_minor, stored.amount_minor) == (
            hold.status,
            hold.posted,
            hold.amount,
        )

    # -----------------------------------------------------------------------------------------

    @invariant()
    def trial_balance_is_zero(self) -> None:
        rows = self._unit(lambda db: ledger.trial_balance(db=db))
        assert all(row.difference == 0 for row in rows)
        assert all(row.debits_pending == row.credits_pending for row in rows)

    @invariant()
    def every_balance_is_the_sum_of_its_lines_and_the_models(self) -> None:
        async def work(db: AsyncSession) -> dict[AccountRef, Any]:
            return {
                account: await ledger.account_balance(db=db, account=account)
                for account in ACCOUNTS
            }

        balances = self._unit(work)
        sums = self._unit(self._line_sums)
        for account, balance in balances.items():
            assert balance.balance_minor == self.posted[account], account
            assert balance.balance_minor == sums.get(balance.account_id, 0), account
            held_debit = sum(
                h.amount
                for h in self.held.values()
                if h.status == PendingStatus.PENDING and h.debit == account
            )
            held_credit = sum(
                h.amount
                for h in self.held.values()
                if h.status == PendingStatus.PENDING and h.credit == account
            )
            assert (balance.debits_pending, balance.credits_pending) == (held_debit, held_credit)

    @staticmethod
    async def _line_sums(db: AsyncSession) -> dict[int, int]:
        """Posted balances straight from the lines (a hold's own lines excluded)."""
        rows = await db.execute(
            text(
                "SELECT l.account_id, sum(l.amount_minor) FROM ledger_lines l "
                "JOIN ledger_entries e ON e.id = l.entry_id WHERE e.kind <> 'pending' "
                "GROUP BY l.account_id"
            )
        )
        return {int(account): int(total) for account, total in rows}


class TestLedgerStateMachine:
    def test_keeps_the_books_balanced(
        self, database_url: str, request: pytest.FixtureRequest, tmp_path: Path
    ) -> None:
        fresh = itertools.count()

        def database() -> str:
            if database_url.startswith("sqlite"):
                template: Path = request.getfixturevalue("sqlite_template")
                target = tmp_path / f"machine-{next(fresh)}.sqlite3"
                shutil.copyfile(template, target)
                return f"sqlite+aiosqlite:///{target}"
            return database_url

        machine = type("Machine", (LedgerMachine,), {"database": staticmethod(database)})
        run_state_machine_as_test(
            machine,
            settings=settings(
                max_examples=15,
                stateful_step_count=20,
                deadline=None,
                suppress_health_check=[HealthCheck.too_slow],
            ),
        )
