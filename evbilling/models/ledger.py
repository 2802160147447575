"""The double-entry ledger: accounts, append-only entries and their lines, two-phase holds.

Balances are never stored: an account's balance is the sum of its lines. The database
refuses an entry whose lines do not sum to zero per currency (see migration 0008: a deferred
constraint trigger on PostgreSQL; on SQLite an imbalance row that blocks the commit until the
entry balances), and refuses any UPDATE or DELETE of accounts, entries and lines; a hold
moves only from pending to posted or voided, once.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from evbilling.models.base import Base, BigId


class LedgerAccount(Base):
    __tablename__ = "ledger_accounts"
    __table_args__ = (UniqueConstraint("kind", "currency", "scope"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    currency: Mapped[str] = mapped_column(String(3))
    scope: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime]


class LedgerEntry(Base):
    __tablename__ = "ledger_entries"
    __table_args__ = (
        CheckConstraint(
            "kind IN ('transfer', 'pending', 'post_pending', 'void_pending', 'reversal')",
            name="kind",
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    reference: Mapped[str] = mapped_column(String(120), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    description: Mapped[str] = mapped_column(String(500))
    # The hold a post_pending or void_pending entry resolves (the pending entry itself is
    # named by ledger_pending.pending_entry_id).
    pending_id: Mapped[int | None] = mapped_column(
        ForeignKey("ledger_pending.id", use_alter=True), index=True
    )
    # The entry a reversal undoes: at most one reversal per entry.
    reverses_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_entries.id"), unique=True)
    created_at: Mapped[datetime]


class LedgerLine(Base):
    __tablename__ = "ledger_lines"
    __table_args__ = (
        CheckConstraint("amount_minor <> 0", name="nonzero"),
        Index("ix_ledger_lines_account_page", "account_id", "id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("ledger_entries.id"), index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("ledger_accounts.id"))
    currency: Mapped[str] = mapped_column(String(3))
    # Signed minor units: positive debits, negative credits.
    amount_minor: Mapped[int] = mapped_column(BigInteger)


class LedgerPending(Base):
    """A hold: counted in pending balances until posted (fully or partly) or voided, once."""

    __tablename__ = "ledger_pending"
    __table_args__ = (
        CheckConstraint("amount_minor > 0", name="positive"),
        CheckConstraint("status IN ('pending', 'posted', 'voided')", name="status"),
        CheckConstraint("posted_minor >= 0 AND posted_minor <= amount_minor", name="posted"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    reference: Mapped[str] = mapped_column(String(120), unique=True)
    debit_account_id: Mapped[int] = mapped_column(ForeignKey("ledger_accounts.id"))
    credit_account_id: Mapped[int] = mapped_column(ForeignKey("ledger_accounts.id"))
    currency: Mapped[str] = mapped_column(String(3))
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(8))
    posted_minor: Mapped[int] = mapped_column(BigInteger)
    pending_entry_id: Mapped[int] = mapped_column(ForeignKey("ledger_entries.id"), unique=True)
    resolution_entry_id: Mapped[int | None] = mapped_column(
        ForeignKey("ledger_entries.id"), unique=True
    )
    expires_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    resolved_at: Mapped[datetime | None]


class LedgerImbalance(Base):
    """SQLite only, and empty after every commit: a trigger adds a row while an entry's lines
    of a currency do not sum to zero and removes it when they do; `blocker` references an
    entry that never exists (-1), so a deferred foreign key fails the COMMIT of any
    transaction that leaves an entry unbalanced (SQLite has no deferred triggers)."""

    __tablename__ = "ledger_imbalances"

    entry_id: Mapped[int] = mapped_column(BigId, primary_key=True)
    currency: Mapped[str] = mapped_column(String(3), primary_key=True)
    blocker: Mapped[int] = mapped_column(
        ForeignKey("ledger_entries.id", deferrable=True, initially="DEFERRED")
    )
