"""Booking and reversing entries on a migrated database (SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from evbilling.infra.context import ServiceContext
from evbilling.kit import NotFound
from evbilling.ledger import service as ledger
from evbilling.ledger.domain import EntryDraft, EntryKind, Line
from evbilling.ledger.errors import (
    EntryAlreadyReversed,
    EntryConflict,
    NotReversible,
    UnbalancedEntry,
)
from evbilling.models import LedgerEntry, LedgerLine
from tests.integration.ledger.book import (
    CLEARING,
    RECEIVABLE,
    REVENUE,
    VAT,
    balance_of,
    post,
    sale,
)


async def _counts(context: ServiceContext) -> tuple[int, int]:
    async with context.unit_of_work() as db:
        entries = await db.scalar(select(func.count()).select_from(LedgerEntry))
        lines = await db.scalar(select(func.count()).select_from(LedgerLine))
    return int(entries or 0), int(lines or 0)


class TestPostEntry:
    async def test_books_the_lines_as_given_and_moves_the_balances(
        self, context: ServiceContext
    ) -> None:
        # Act
        entry = await post(context, "sale:1", sale("sale:1"))

        # Assert
        assert entry.lines == sale("sale:1")
        assert entry.kind == EntryKind.TRANSFER
        receivable = await balance_of(context, RECEIVABLE)
        revenue = await balance_of(context, REVENUE)
        vat = await balance_of(context, VAT)
        assert (receivable.debits_posted, receivable.credits_posted) == (1190, 0)
        assert receivable.balance_minor == 1190
        assert revenue.balance_minor == -1000
        assert vat.balance_minor == -190

    async def test_the_same_reference_and_lines_return_the_entry_booked_first(
        self, context: ServiceContext
    ) -> None:
        # Arrange
        first = await post(context, "sale:1", sale("sale:1"))

        # Act
        again = await post(context, "sale:1", sale("sale:1"))

        # Assert
        assert again.id == first.id
        assert again.lines == first.lines
        assert await _counts(context) == (1, 3)
        assert (await balance_of(context, RECEIVABLE)).balance_minor == 1190

    async def test_the_same_reference_with_other_lines_is_a_conflict(
        self, context: ServiceContext
    ) -> None:
        # Arrange
        await post(context, "sale:1", sale("sale:1"))

        # Act / Assert
        with pytest.raises(EntryConflict, match="sale:1"):
            await post(context, "sale:1", sale("sale:1", net=2000, vat=380))
        assert await _counts(context) == (1, 3)
        assert (await balance_of(context, RECEIVABLE)).balance_minor == 1190

    async def test_refuses_a_draft_that_does_not_balance_even_when_built_by_hand(
        self, context: ServiceContext
    ) -> None:
        draft = EntryDraft(
            reference="bad", description="", lines=(Line(RECEIVABLE, 100), Line(REVENUE, -99))
        )

        async with context.unit_of_work() as db:
            with pytest.raises(UnbalancedEntry):
                await ledger.post_entry(db=db, draft=draft, now=context.clock.now())

        assert await _counts(context) == (0, 0)

    async def test_a_rolled_back_entry_leaves_no_account_behind_in_the_cache(
        self, context: ServiceContext
    ) -> None:
        # Arrange: the accounts are created in a transaction that rolls back
        async with context.unit_of_work() as db:
            await ledger.post_entry(
                db=db,
                draft=EntryDraft(reference="gone", description="", lines=sale("gone")),
                now=context.clock.now(),
            )
            await db.rollback()

        # Act
        entry = await post(context, "kept", sale("kept"))

        # Assert: booked to accounts that exist
        async with context.unit_of_work() as db:
            shown = await ledger.get_account(
                db=db,
                operator_id=None,
                account_id=(await ledger.account_balance(db=db, account=RECEIVABLE)).account_id,
            )
        assert shown.account == RECEIVABLE
        assert shown.balance_minor == 1190
        assert entry.reference == "kept"


class TestReverseEntry:
    async def test_negates_every_line_once(self, context: ServiceContext) -> None:
        # Arrange
        entry = await post(context, "sale:1", sale("sale:1"))

        # Act
        async with context.unit_of_work() as db:
            reversal = await ledger.reverse_entry(
                db=db, entry_id=entry.id, reference="sale:1:reversal", now=context.clock.now()
            )
            await db.commit()

        # Assert
        assert reversal.kind == EntryKind.REVERSAL
        assert reversal.lines == tuple(
            Line(line.account, -line.amount_minor) for line in entry.lines
        )
        for account in (RECEIVABLE, REVENUE, VAT):
            assert (await balance_of(context, account)).balance_minor == 0

    async def test_the_same_reversal_again_returns_it_and_a_second_one_is_refused(
        self, context: ServiceContext
    ) -> None:
        # Arrange
        entry = await post(context, "sale:1", sale("sale:1"))
        async with context.unit_of_work() as db:
            first = await ledger.reverse_entry(
                db=db, entry_id=entry.id, reference="r1", now=context.clock.now()
            )
            await db.commit()

        # Act
        async with context.unit_of_work() as db:
            again = await ledger.reverse_entry(
                db=db, entry_id=entry.id, reference="r1", now=context.clock.now()
            )
            with pytest.raises(EntryAlreadyReversed):
                await ledger.reverse_entry(
                    db=db, entry_id=entry.id, reference="r2", now=context.clock.now()
                )

        # Assert
        assert again.id == first.id
        assert await _counts(context) == (2, 6)

    async def test_refuses_unknown_entries_reversals_and_holds(
        self, context: ServiceContext
    ) -> None:
        # Arrange
        entry = await post(context, "sale:1", sale("sale:1"))
        async with context.unit_of_work() as db:
            reversal = await ledger.reverse_entry(
                db=db, entry_id=entry.id, reference="r1", now=context.clock.now()
            )
            hold = await ledger.open_pending(
                db=db,
                reference="hold:1",
                debit=CLEARING,
                credit=RECEIVABLE,
                amount_minor=500,
                now=context.clock.now(),
            )
            await db.commit()
        async with context.unit_of_work() as db:
            stored = await ledger.get_pending(db=db, reference="hold:1")
        assert stored == hold

        # Act / Assert
        async with context.unit_of_work() as db:
            with pytest.raises(NotFound):
                await ledger.reverse_entry(
                    db=db, entry_id=9999, reference="x", now=context.clock.now()
                )
            with pytest.raises(NotReversible):
                await ledger.reverse_entry(
                    db=db, entry_id=reversal.id, reference="x", now=context.clock.now()
                )
            with pytest.raises(EntryConflict):
                await ledger.reverse_entry(
                    db=db, entry_id=entry.id, reference="sale:1", now=context.clock.now()
                )
        assert await _counts(context) == (3, 8)
