"""The ledger's use cases: book entries, reverse them, hold / post / void, read balances.

Every function is keyword-only, takes `db` (the caller's transaction) and, when it writes,
`now`; it flushes but never commits. A refused operation raises before it writes anything,
except when a concurrent transaction wins a race the last statement detects: the error then
tells the caller to roll back, as every edge does on error.

Idempotency is on the reference, ledger-wide: booking the same reference again with the
same lines returns the entry already booked; with other lines it raises EntryConflict.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from evbilling.infra.db.repository import KeysetPage
from evbilling.kit import NotFound
from evbilling.ledger.domain import (
    AccountBalance,
    AccountKind,
    AccountRef,
    EntryDraft,
    EntryKind,
    Line,
    PendingStatus,
    PendingTransfer,
    PostedEntry,
    TrialBalanceRow,
    account_balance_of,
    build_entry,
    check_hold_amount,
    check_post_amount,
    check_reference,
    reversed_lines,
    transfer_lines,
    trial_balance_rows,
)
from evbilling.ledger.errors import (
    EntryAlreadyReversed,
    EntryConflict,
    NotReversible,
    PendingAlreadyResolved,
    UnbalancedEntry,
)
from evbilling.ledger.repository import AccountLine, LedgerRepository, StoredEntry

__all__ = [
    "AccountBalance",
    "AccountLine",
    "PendingTransfer",
    "PostedEntry",
    "TrialBalanceRow",
    "account_balance",
    "get_account",
    "get_pending",
    "get_pending_by_id",
    "list_account_lines",
    "list_accounts",
    "open_pending",
    "post_entry",
    "post_pending",
    "reverse_entry",
    "trial_balance",
    "void_pending",
]

_REVERSIBLE = (EntryKind.TRANSFER, EntryKind.POST_PENDING)


async def _book(
    repo: LedgerRepository,
    *,
    reference: str,
    kind: EntryKind,
    description: str,
    lines: Sequence[Line],
    now: datetime,
    pending_id: int | None = None,
    reverses_id: int | None = None,
) -> int | None:
    """Insert the entry and its lines; None when the reference is booked already."""
    ids = await repo.account_ids((line.account for line in lines), now=now) if lines else {}
    entry_id = await repo.insert_entry(
        reference=reference,
        kind=kind,
        description=description,
        now=now,
        lines=[(ids[line.account], line.currency, line.amount_minor) for line in lines],
        pending_id=pending_id,
        reverses_id=reverses_id,
    )
    if entry_id is not None and lines and not repo.checks_balance_at_commit:
        unbalanced = await repo.unbalanced_currencies(entry_id=entry_id)
        if unbalanced:
            raise UnbalancedEntry(f"entry {reference!r} does not balance in {unbalanced}")
    return entry_id
    await repo.insert_lines(
        entry_id=entry_id,
        lines=[(ids[line.account], line.currency, line.amount_minor) for line in lines],
    )
    if not repo.checks_balance_at_commit:
        unbalanced = await repo.unbalanced_currencies(entry_id=entry_id)
        if unbalanced:
            raise UnbalancedEntry(f"entry {reference!r} does not balance in {unbalanced}")
    return entry_id


def _same_entry(
    stored: StoredEntry, *, kind: EntryKind, lines: Sequence[Line], pending_id: int | None = None
) -> PostedEntry:
    """The stored entry, when it is the one asked for again; else EntryConflict."""
    if stored.kind != kind or stored.lines != tuple(lines) or stored.pending_id != pending_id:
        raise EntryConflict(
            f"reference {stored.reference!r} is booked already, as another {stored.kind} entry"
        )
    return stored.posted()


async def _existing(
    repo: LedgerRepository,
    *,
    reference: str,
    kind: EntryKind,
    lines: Sequence[Line],
    pending_id: int | None = None,
) -> PostedEntry:
    stored = await repo.entry_by_reference(reference)
    if stored is None:  # pragma: no cover - the insert just found it
        raise EntryConflict(f"reference {reference!r} is taken")
    return _same_entry(stored, kind=kind, lines=lines, pending_id=pending_id)


async def post_entry(*, db: AsyncSession, draft: EntryDraft, now: datetime) -> PostedEntry:
    """Book a balanced entry (its lines as given)."""
    checked = build_entry(
        reference=draft.reference, description=draft.description, lines=draft.lines
    )
    repo = LedgerRepository(db)
    entry_id = await _book(
        repo,
        reference=checked.reference,
        kind=EntryKind.TRANSFER,
        description=checked.description,
        lines=checked.lines,
        now=now,
    )
    if entry_id is None:
        return await _existing(
            repo, reference=checked.reference, kind=EntryKind.TRANSFER, lines=checked.lines
        )
    return PostedEntry(
        id=entry_id,
        reference=checked.reference,
        created_at=now,
        lines=checked.lines,
        kind=EntryKind.TRANSFER,
        description=checked.description,
    )


async def reverse_entry(
    *, db: AsyncSession, entry_id: int, reference: str, now: datetime
) -> PostedEntry:
    """Undo an entry with one that negates each of its lines; once per entry."""
    check_reference(reference)
    repo = LedgerRepository(db)
    original = await repo.entry(entry_id)
    if original is None:
        raise NotFound(kind="ledger entry", key=entry_id)
    lines = reversed_lines(original.lines)
    already = await repo.entry_by_reference(reference)
    if already is not None:
        if already.kind == EntryKind.REVERSAL and already.reverses_id == entry_id:
            return already.posted()
        raise EntryConflict(f"reference {reference!r} is booked already, as {already.kind}")
    if original.kind not in _REVERSIBLE:
        raise NotReversible(f"a {original.kind} entry is not reversed (void or book anew)")
    earlier = await repo.reversal_of(entry_id)
    if earlier is not None:
        raise EntryAlreadyReversed(
            f"entry {entry_id} was reversed already by {earlier.reference!r}"
        )
    description = f"reversal of {original.reference}"[:500]
    try:
        booked = await _book(
            repo,
            reference=reference,
            kind=EntryKind.REVERSAL,
            description=description,
            lines=lines,
            now=now,
            reverses_id=entry_id,
        )
    except IntegrityError as exc:  # a concurrent reversal took reverses_id first
        raise EntryAlreadyReversed(f"entry {entry_id} was reversed concurrently") from exc
    if booked is None:
        stored = await repo.entry_by_reference(reference)
        if (
            stored is not None
            and stored.kind == EntryKind.REVERSAL
            and stored.reverses_id == entry_id
        ):
            return stored.posted()
        raise EntryConflict(f"reference {reference!r} was booked concurrently")
    return PostedEntry(
        id=booked,
        reference=reference,
        created_at=now,
        lines=lines,
        kind=EntryKind.REVERSAL,
        description=description,
    )


# ---------------------------------------------------------------------------------------------
# Two-phase transfers (holds)


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
    existing = await repo.pending(reference=reference)
    if existing is not None:
        return _same_hold(
            existing.transfer,
            debit=debit,
            credit=credit,
            amount_minor=amount_minor,
            expires_at=expires_at,
        )
    entry_id = await _book(
        repo,
        reference=reference,
        kind=EntryKind.PENDING,
        description=f"hold {reference}"[:500],
        lines=lines,
        now=now,
    )
    if entry_id is None:
        raced = await repo.pending(reference=reference)
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
    pending_id = await repo.insert_pending(
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
    stored = await repo.pending(pending_id=pending_id, for_update=earlier is None)
    if stored is None:
        raise NotFound(kind="ledger hold", key=pending_id)
    hold = stored.transfer
    lines = transfer_lines(debit=hold.debit, credit=hold.credit, amount_minor=amount_minor)
    if earlier is not None:
        return _same_entry(earlier, kind=EntryKind.POST_PENDING, lines=lines, pending_id=pending_id)
    if hold.status != PendingStatus.PENDING:
        raise PendingAlreadyResolved(f"hold {hold.reference!r} is {hold.status} already")
    check_post_amount(amount_minor=amount_minor, held_minor=hold.amount_minor)
    entry_id = await _book(
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
        repo,
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
    stored = await repo.pending(pending_id=pending_id, for_update=True)
    if stored is None:
        raise NotFound(kind="ledger hold", key=pending_id)
    hold = stored.transfer
    if hold.status != PendingStatus.PENDING:
        raise PendingAlreadyResolved(f"hold {hold.reference!r} is {hold.status} already")
    entry_id = await _book(
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
    await _resolve(
        repo, hold=hold, status=PendingStatus.VOIDED, posted=0, entry_id=entry_id, now=now
    )


async def _resolve(
    repo: LedgerRepository,
    *,
    hold: PendingTransfer,
    status: PendingStatus,
    posted: int,
    entry_id: int,
    now: datetime,
) -> None:
    moved = await repo.resolve_pending(
        pending_id=hold.id,
        status=status,
        posted_minor=posted,
        resolution_entry_id=entry_id,
        now=now,
    )
    if not moved:  # a concurrent post or void committed first: roll this one back
        raise PendingAlreadyResolved(f"hold {hold.reference!r} was resolved concurrently")


async def get_pending(*, db: AsyncSession, reference: str) -> PendingTransfer | None:
    stored = await LedgerRepository(db).pending(reference=reference)
    return None if stored is None else stored.transfer


async def get_pending_by_id(*, db: AsyncSession, pending_id: int) -> PendingTransfer:
    stored = await LedgerRepository(db).pending(pending_id=pending_id)
    if stored is None:
        raise NotFound(kind="ledger hold", key=pending_id)
    return stored.transfer


# ---------------------------------------------------------------------------------------------
# Balances and reads


async def account_balance(*, db: AsyncSession, account: AccountRef) -> AccountBalance:
    """The account's balances; an account never booked to has id 0 and zero balances."""
    repo = LedgerRepository(db)
    account_id = await repo.account_id(account)
    if account_id is None:
        return account_balance_of(account_id=0, account=account, posted=(0, 0), pending=(0, 0))
    return await repo.balance(account_id=account_id, account=account)


async def trial_balance(*, db: AsyncSession) -> list[TrialBalanceRow]:
    """Per currency: the sums of all posted debits and credits (equal, difference 0) and of
    the holds still pending."""
    sums = await LedgerRepository(db).sums_by_currency()
    return trial_balance_rows(
        {currency: posted for currency, posted, _ in sums},
        {currency: pending for currency, _, pending in sums if pending != (0, 0)},
    )


async def list_accounts(
    *,
    db: AsyncSession,
    operator_id: int | None,
    kind: AccountKind | None = None,
    currency: str | None = None,
    limit: int = 50,
    after: int | None = None,
) -> KeysetPage[AccountBalance]:
    """Accounts with balances in id order; `operator_id` None (staff) lists every account,
    an operator sees the accounts scoped to it and to its drivers."""
    return await LedgerRepository(db).accounts(
        operator_id=operator_id, kind=kind, currency=currency, limit=limit, after=after
    )


async def get_account(
    *, db: AsyncSession, operator_id: int | None, account_id: int
) -> AccountBalance:
    found = await LedgerRepository(db).account(account_id=account_id, operator_id=operator_id)
    if found is None:
        raise NotFound(kind="ledger account", key=account_id)
    return found


async def list_account_lines(
    *,
    db: AsyncSession,
    operator_id: int | None,
    account_id: int,
    limit: int = 50,
    after: int | None = None,
) -> KeysetPage[AccountLine]:
    """An account's lines newest first (NotFound when the operator may not see it)."""
    repo = LedgerRepository(db)
    if await repo.account(account_id=account_id, operator_id=operator_id) is None:
        raise NotFound(kind="ledger account", key=account_id)
    return await repo.account_lines(account_id=account_id, limit=limit, after=after)
