"""What every ledger use case books through: an entry and its lines in one go (the balance
checked in the transaction on SQLite), and the answer to a reference booked before."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from evbilling.ledger.domain import EntryKind, Line, PostedEntry
from evbilling.ledger.errors import EntryConflict, UnbalancedEntry
from evbilling.ledger.repository import LedgerRepository, StoredEntry


async def book(
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


def same_entry(
    stored: StoredEntry, *, kind: EntryKind, lines: Sequence[Line], pending_id: int | None = None
) -> PostedEntry:
    """The stored entry, when it is the one asked for again; else EntryConflict."""
    if stored.kind != kind or stored.lines != tuple(lines) or stored.pending_id != pending_id:
        raise EntryConflict(
            f"reference {stored.reference!r} is booked already, as another {stored.kind} entry"
        )
    return stored.posted()


async def existing_entry(
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
    return same_entry(stored, kind=kind, lines=lines, pending_id=pending_id)
