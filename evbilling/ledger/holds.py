"""Two-phase transfers (holds), as TigerBeetle books them: a pending transfer counts only in
pending balances until it is posted (fully or partly, the rest released) or voided, exactly
once. Re-exported by `evbilling.ledger.service`."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from evbilling.kit import NotFound
from evbilling.ledger.booking import book, same_entry
from evbilling.ledger.domain import (
    AccountRef,
    EntryKind,
    PendingStatus,
    PendingTransfer,
    PostedEntry,
    check_hold_amount,
    check_post_amount,
    check_reference,
    transfer_lines,
)
from evbilling.ledger.errors import EntryConflict, PendingAlreadyResolved
from evbilling.ledger.hold_repository import HoldRepository
from evbilling.ledger.repository import LedgerRepository, StoredEntry


def _same_hold(
    held: PendingTransfer,
    *,
    debit: AccountRef,
    credit: AccountRef,
    amount_minor: int,
    expires_at: datetime | None,
) -> PendingTransfer:
    if (held.debit, held.credit, held.amount_minor, held.expires_at) != (
        debit,
        credit,
        amount_minor,
        expires_at,
    ):
        raise EntryConflict(f"hold {held.reference!r} exists already with other terms")
    return held


async def open_pending(
    *,
    db: AsyncSession,
    reference: str,
    debit: AccountRef,
    credit: AccountRef,
    amount_minor: int,
    now: datetime,
    expires_at: datetime | None = None,
) -> PendingTransfer:
    """Hold `amount_minor` from `credit` to `debit`: it counts in both accounts' pending
    balances, not in their posted ones, until posted or voided."""
    check_reference(reference)
    check_hold_amount(amount_minor)
    lines = transfer_lines(debit=debit, credit=credit, amount_minor=amount_minor)
    repo = LedgerRepository(db)
    existing = await HoldRepository(db).pending(reference=reference)
    if existing is not None:
        return _same_hold(
            existing.transfer,
            debit=debit,
            credit=credit,
            amount_minor=amount_minor,
            expires_at=expires_at,
        )
    entry_id = await book(
        repo,
        reference=reference,
        kind=EntryKind.PENDING,
        description=f"hold {reference}"[:500],
        lines=lines,
        now=now,
    )
    if entry_id is None:
        raced = await HoldRepository(db).pending(reference=reference)
        if raced is None:
            raise EntryConflict(f"reference {reference!r} is booked already, not as a hold")
        return _same_hold(
            raced.transfer,
            debit=debit,
            credit=credit,
            amount_minor=amount_minor,
            expires_at=expires_at,
        )
    ids = await repo.account_ids((debit, credit), now=now)
    pending_id = await HoldRepository(db).insert_pending(
        reference=reference,
        debit_account_id=ids[debit],
        credit_account_id=ids[credit],
        currency=debit.currency,
        amount_minor=amount_minor,
        pending_entry_id=entry_id,
        expires_at=expires_at,
        now=now,
    )
    return PendingTransfer(
        id=pending_id,
        reference=reference,
        debit=debit,
        credit=credit,
        currency=debit.currency,
        amount_minor=amount_minor,
        status=PendingStatus.PENDING,
        posted_minor=0,
        expires_at=expires_at,
        created_at=now,
        resolved_at=None,
    )


async def _resolution(
    repo: LedgerRepository, *, pending_id: int, reference: str, kind: EntryKind
) -> StoredEntry | None:
    """The entry booked under `reference` before, when it is this resolution of this hold."""
    stored = await repo.entry_by_reference(reference)
    if stored is None:
        return None
    if stored.kind != kind or stored.pending_id != pending_id:
        raise EntryConflict(f"reference {reference!r} is booked already, as {stored.kind}")
    return stored


async def post_pending(
    *, db: AsyncSession, pending_id: int, amount_minor: int, reference: str, now: datetime
) -> PostedEntry:
    """Post `amount_minor` (0 < amount <= held) of a hold between its two accounts; the rest
    is released. Exactly once: a second post or a void raises PendingAlreadyResolved (the
    same post asked again under the same reference returns it)."""
    check_reference(reference)
    repo = LedgerRepository(db)
    earlier = await _resolution(
        repo, pending_id=pending_id, reference=reference, kind=EntryKind.POST_PENDING
    )
    stored = await HoldRepository(db).pending(pending_id=pending_id, for_update=earlier is None)
    if stored is None:
        raise NotFound(kind="ledger hold", key=pending_id)
    hold = stored.transfer
    lines = transfer_lines(debit=hold.debit, credit=hold.credit, amount_minor=amount_minor)
    if earlier is not None:
        return same_entry(earlier, kind=EntryKind.POST_PENDING, lines=lines, pending_id=pending_id)
    if hold.status != PendingStatus.PENDING:
        raise PendingAlreadyResolved(f"hold {hold.reference!r} is {hold.status} already")
    check_post_amount(amount_minor=amount_minor, held_minor=hold.amount_minor)
    entry_id = await book(
        repo,
        reference=reference,
        kind=EntryKind.POST_PENDING,
        description=f"post {amount_minor} of hold {hold.reference}"[:500],
        lines=lines,
        now=now,
        pending_id=pending_id,
    )
    if entry_id is None:
        raise EntryConflict(f"reference {reference!r} was booked concurrently")
    await _resolve(
        db,
        hold=hold,
        status=PendingStatus.POSTED,
        posted=amount_minor,
        entry_id=entry_id,
        now=now,
    )
    return PostedEntry(
        id=entry_id,
        reference=reference,
        created_at=now,
        lines=lines,
        kind=EntryKind.POST_PENDING,
        description=f"post {amount_minor} of hold {hold.reference}"[:500],
    )


async def void_pending(*, db: AsyncSession, pending_id: int, reference: str, now: datetime) -> None:
    """Release a whole hold; exactly once (the same void asked again returns quietly)."""
    check_reference(reference)
    repo = LedgerRepository(db)
    earlier = await _resolution(
        repo, pending_id=pending_id, reference=reference, kind=EntryKind.VOID_PENDING
    )
    if earlier is not None:
        return
    stored = await HoldRepository(db).pending(pending_id=pending_id, for_update=True)
    if stored is None:
        raise NotFound(kind="ledger hold", key=pending_id)
    hold = stored.transfer
    if hold.status != PendingStatus.PENDING:
        raise PendingAlreadyResolved(f"hold {hold.reference!r} is {hold.status} already")
    entry_id = await book(
        repo,
        reference=reference,
        kind=EntryKind.VOID_PENDING,
        description=f"void hold {hold.reference}"[:500],
        lines=(),
        now=now,
        pending_id=pending_id,
    )
    if entry_id is None:
        raise EntryConflict(f"reference {reference!r} was booked concurrently")
    await _resolve(db, hold=hold, status=PendingStatus.VOIDED, posted=0, entry_id=entry_id, now=now)


async def _resolve(
    db: AsyncSession,
    *,
    hold: PendingTransfer,
    status: PendingStatus,
    posted: int,
    entry_id: int,
    now: datetime,
) -> None:
    moved = await HoldRepository(db).resolve_pending(
        pending_id=hold.id,
        status=status,
        posted_minor=posted,
        resolution_entry_id=entry_id,
        now=now,
    )
    if not moved:  # a concurrent post or void committed first: roll this one back
        raise PendingAlreadyResolved(f"hold {hold.reference!r} was resolved concurrently")


async def get_pending(*, db: AsyncSession, reference: str) -> PendingTransfer | None:
    stored = await HoldRepository(db).pending(reference=reference)
    return None if stored is None else stored.transfer


async def get_pending_by_id(*, db: AsyncSession, pending_id: int) -> PendingTransfer:
    stored = await HoldRepository(db).pending(pending_id=pending_id)
    if stored is None:
        raise NotFound(kind="ledger hold", key=pending_id)
    return stored.transfer
