"""Two-phase transfers (holds): pending balances, post once (fully or partly), void once."""

from __future__ import annotations

from datetime import timedelta

import pytest

from evbilling.infra.context import ServiceContext
from evbilling.kit import NotFound
from evbilling.ledger import service as ledger
from evbilling.ledger.domain import AccountRef, Line, PendingStatus, PendingTransfer
from evbilling.ledger.errors import (
    CurrencyMismatch,
    EntryConflict,
    InvalidTransferAmount,
    PendingAlreadyResolved,
)
from tests.integration.ledger.book import CLEARING, RECEIVABLE, balance_of, post, sale


async def _hold(
    context: ServiceContext, *, reference: str = "hold:1", amount: int = 5000
) -> PendingTransfer:
    async with context.unit_of_work() as db:
        hold = await ledger.open_pending(
            db=db,
            reference=reference,
            debit=CLEARING,
            credit=RECEIVABLE,
            amount_minor=amount,
            now=context.clock.now(),
            expires_at=context.clock.now() + timedelta(days=7),
        )
        await db.commit()
    return hold


async def _state(context: ServiceContext, reference: str = "hold:1") -> PendingTransfer:
    async with context.unit_of_work() as db:
        found = await ledger.get_pending(db=db, reference=reference)
    assert found is not None
    return found


class TestOpenPending:
    async def test_counts_in_pending_balances_only(self, context: ServiceContext) -> None:
        # Act
        hold = await _hold(context)

        # Assert
        assert (hold.status, hold.amount_minor, hold.posted_minor) == (
            PendingStatus.PENDING,
            5000,
            0,
        )
        clearing = await balance_of(context, CLEARING)
        receivable = await balance_of(context, RECEIVABLE)
        assert (clearing.debits_pending, clearing.credits_pending) == (5000, 0)
        assert (receivable.debits_pending, receivable.credits_pending) == (0, 5000)
        assert clearing.balance_minor == receivable.balance_minor == 0
        async with context.unit_of_work() as db:
            rows = await ledger.trial_balance(db=db)
        assert [(r.currency, r.debits, r.credits, r.difference) for r in rows] == [("EUR", 0, 0, 0)]
        assert (rows[0].debits_pending, rows[0].credits_pending) == (5000, 5000)

    async def test_is_idempotent_on_its_reference(self, context: ServiceContext) -> None:
        first = await _hold(context)

        again = await _hold(context)

        assert again == first
        assert (await balance_of(context, CLEARING)).debits_pending == 5000

    async def test_the_same_reference_with_other_terms_is_a_conflict(
        self, context: ServiceContext
    ) -> None:
        await _hold(context)

        with pytest.raises(EntryConflict):
            await _hold(context, amount=6000)
        await post(context, "sale:1", sale("sale:1"))
        with pytest.raises(EntryConflict):
            await _hold(context, reference="sale:1")

        assert (await balance_of(context, CLEARING)).debits_pending == 5000

    @pytest.mark.parametrize("amount", [0, -1])
    async def test_refuses_a_hold_of_nothing(self, context: ServiceContext, amount: int) -> None:
        async with context.unit_of_work() as db:
            with pytest.raises(InvalidTransferAmount):
                await ledger.open_pending(
                    db=db,
                    reference="h",
                    debit=CLEARING,
                    credit=RECEIVABLE,
                    amount_minor=amount,
                    now=context.clock.now(),
                )
            assert await ledger.get_pending(db=db, reference="h") is None

    async def test_refuses_two_currencies(self, context: ServiceContext) -> None:
        async with context.unit_of_work() as db:
            with pytest.raises(CurrencyMismatch):
                await ledger.open_pending(
                    db=db,
                    reference="h",
                    debit=AccountRef.psp_clearing(provider="sandbox", currency="USD"),
                    credit=RECEIVABLE,
                    amount_minor=1,
                    now=context.clock.now(),
                )


class TestPostPending:
    async def test_posts_part_and_releases_the_rest(self, context: ServiceContext) -> None:
        # Arrange
        hold = await _hold(context)

        # Act
        async with context.unit_of_work() as db:
            entry = await ledger.post_pending(
                db=db,
                pending_id=hold.id,
                amount_minor=1190,
                reference="capture:1",
                now=context.clock.now(),
            )
            await db.commit()

        # Assert
        assert entry.lines == (Line(CLEARING, 1190), Line(RECEIVABLE, -1190))
        state = await _state(context)
        assert (state.status, state.posted_minor) == (PendingStatus.POSTED, 1190)
        clearing = await balance_of(context, CLEARING)
        receivable = await balance_of(context, RECEIVABLE)
        assert (clearing.balance_minor, clearing.debits_pending) == (1190, 0)
        assert (receivable.balance_minor, receivable.credits_pending) == (-1190, 0)

    async def test_posts_exactly_once(self, context: ServiceContext) -> None:
        # Arrange
        hold = await _hold(context)
        async with context.unit_of_work() as db:
            first = await ledger.post_pending(
                db=db,
                pending_id=hold.id,
                amount_minor=5000,
                reference="capture:1",
                now=context.clock.now(),
            )
            await db.commit()

        # Act / Assert
        async with context.unit_of_work() as db:
            again = await ledger.post_pending(
                db=db,
                pending_id=hold.id,
                amount_minor=5000,
                reference="capture:1",
                now=context.clock.now(),
            )
            assert again.id == first.id
            with pytest.raises(PendingAlreadyResolved):
                await ledger.post_pending(
                    db=db,
                    pending_id=hold.id,
                    amount_minor=5000,
                    reference="capture:2",
                    now=context.clock.now(),
                )
            with pytest.raises(PendingAlreadyResolved):
                await ledger.void_pending(
                    db=db, pending_id=hold.id, reference="void:1", now=context.clock.now()
                )
            with pytest.raises(EntryConflict):
                await ledger.post_pending(
                    db=db,
                    pending_id=hold.id,
                    amount_minor=10,
                    reference="capture:1",
                    now=context.clock.now(),
                )
        assert (await balance_of(context, CLEARING)).balance_minor == 5000

    @pytest.mark.parametrize("amount", [0, -5, 5001])
    async def test_refuses_nothing_or_more_than_held(
        self, context: ServiceContext, amount: int
    ) -> None:
        hold = await _hold(context)

        async with context.unit_of_work() as db:
            with pytest.raises(InvalidTransferAmount):
                await ledger.post_pending(
                    db=db,
                    pending_id=hold.id,
                    amount_minor=amount,
                    reference="c",
                    now=context.clock.now(),
                )

        assert await _state(context) == hold
        assert (await balance_of(context, CLEARING)).balance_minor == 0

    async def test_an_unknown_hold_is_not_found(self, context: ServiceContext) -> None:
        async with context.unit_of_work() as db:
            with pytest.raises(NotFound):
                await ledger.post_pending(
                    db=db, pending_id=42, amount_minor=1, reference="c", now=context.clock.now()
                )
            with pytest.raises(NotFound):
                await ledger.void_pending(
                    db=db, pending_id=42, reference="v", now=context.clock.now()
                )


class TestVoidPending:
    async def test_releases_everything_and_books_no_line(self, context: ServiceContext) -> None:
        hold = await _hold(context)

        async with context.unit_of_work() as db:
            await ledger.void_pending(
                db=db, pending_id=hold.id, reference="void:1", now=context.clock.now()
            )
            await db.commit()

        state = await _state(context)
        assert (state.status, state.posted_minor) == (PendingStatus.VOIDED, 0)
        clearing = await balance_of(context, CLEARING)
        assert (clearing.balance_minor, clearing.debits_pending, clearing.credits_pending) == (
            0,
            0,
            0,
        )

    async def test_voids_exactly_once(self, context: ServiceContext) -> None:
        hold = await _hold(context)
        async with context.unit_of_work() as db:
            await ledger.void_pending(
                db=db, pending_id=hold.id, reference="void:1", now=context.clock.now()
            )
            await db.commit()

        async with context.unit_of_work() as db:
            await ledger.void_pending(
                db=db, pending_id=hold.id, reference="void:1", now=context.clock.now()
            )
            with pytest.raises(PendingAlreadyResolved):
                await ledger.void_pending(
                    db=db, pending_id=hold.id, reference="void:2", now=context.clock.now()
                )
            with pytest.raises(PendingAlreadyResolved):
                await ledger.post_pending(
                    db=db,
                    pending_id=hold.id,
                    amount_minor=1,
                    reference="capture:1",
                    now=context.clock.now(),
                )

        assert (await _state(context)).status == PendingStatus.VOIDED
