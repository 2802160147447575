"""The ledger's use cases: book entries, reverse them, hold / post / void, read balances.

Every function is keyword-only, takes `db` (the caller's transaction) and, when it writes,
`now`; it flushes but never commits. A refused operation raises before it writes anything,
except when a concurrent transaction wins a race the last statement detects: the error then
tells the caller to roll back, as every edge does on error.

Idempotency is on the reference, ledger-wide: booking the same reference again with the
same lines returns the entry already booked; with other lines it raises EntryConflict.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from evbilling.infra.db.repository import KeysetPage
from evbilling.kit import NotFound
from evbilling.ledger.booking import book, existing_entry
from evbilling.ledger.domain import (
    AccountBalance,
    AccountKind,
    AccountRef,
    EntryDraft,
    EntryKind,
    PendingTransfer,
    PostedEntry,
    TrialBalanceRow,
    account_balance_of,
    build_entry,
    check_reference,
    reversed_lines,
    trial_balance_rows,
)
from evbilling.ledger.errors import (
    EntryAlreadyReversed,
    EntryConflict,
    NotReversible,
)
from evbilling.ledger.holds import (
    get_pending,
    get_pending_by_id,
    open_pending,
    post_pending,
    void_pending,
)
from evbilling.ledger.read_repository import AccountLine, LedgerReadRepository
from evbilling.ledger.repository import LedgerRepository

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


async def post_entry(*, db: AsyncSession, draft: EntryDraft, now: datetime) -> PostedEntry:
    """Book a balanced entry (its lines as given)."""
    checked = build_entry(
        reference=draft.reference, description=draft.description, lines=draft.lines
    )
    repo = LedgerRepository(db)
    entry_id = await book(
        repo,
        reference=checked.reference,
        kind=EntryKind.TRANSFER,
        description=checked.description,
        lines=checked.lines,
        now=now,
    )
    if entry_id is None:
        return await existing_entry(
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
        booked = await book(
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
# Balances and reads


async def account_balance(*, db: AsyncSession, account: AccountRef) -> AccountBalance:
    """The account's balances; an account never booked to has id 0 and zero balances."""
    account_id = await LedgerRepository(db).account_id(account)
    if account_id is None:
        return account_balance_of(account_id=0, account=account, posted=(0, 0), pending=(0, 0))
    return await LedgerReadRepository(db).balance(account_id=account_id, account=account)


async def trial_balance(*, db: AsyncSession) -> list[TrialBalanceRow]:
    """Per currency: the sums of all posted debits and credits (equal, difference 0) and of
    the holds still pending."""
    sums = await LedgerReadRepository(db).sums_by_currency()
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
    return await LedgerReadRepository(db).accounts(
        operator_id=operator_id, kind=kind, currency=currency, limit=limit, after=after
    )


async def get_account(
    *, db: AsyncSession, operator_id: int | None, account_id: int
) -> AccountBalance:
    found = await LedgerReadRepository(db).account(account_id=account_id, operator_id=operator_id)
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
    repo = LedgerReadRepository(db)
    if await repo.account(account_id=account_id, operator_id=operator_id) is None:
        raise NotFound(kind="ledger account", key=account_id)
    return await repo.account_lines(account_id=account_id, limit=limit, after=after)
