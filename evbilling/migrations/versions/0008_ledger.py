"""The double-entry ledger: accounts, entries, lines, two-phase holds

Revision ID: 0008
Revises: 0007

- ledger_accounts: (kind, currency, scope), created on first use, never changed.
- ledger_entries: one balanced journal entry per movement (reference unique: idempotency).
- ledger_lines: signed minor units (positive debit, negative credit), never zero.
- ledger_pending: holds (two-phase transfers), resolved once (posted or voided).
- ledger_imbalances: SQLite's commit-time balance check (always empty after a commit).

The database enforces the ledger's rules itself, so no code path (nor a hand-written SQL
statement) can book money that does not balance or rewrite history:
- PostgreSQL: a DEFERRABLE INITIALLY DEFERRED constraint trigger on ledger_lines checks at
  COMMIT that each entry's lines sum to zero per currency.
- SQLite (no deferred triggers): an AFTER INSERT trigger keeps one ledger_imbalances row per
  unbalanced (entry, currency); the row's deferred foreign key points at no entry, so the
  COMMIT fails while any remains.
- Both: UPDATE and DELETE of accounts, entries and lines are refused; a hold's row changes
  only from pending to posted/voided, with nothing else of it changed.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import evbilling.infra.db.types

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
UTCDateTime = evbilling.infra.db.types.UTCDateTime

_APPEND_ONLY = ("ledger_accounts", "ledger_entries", "ledger_lines")

# The immutable columns of a hold, and the one move it may make.
_PENDING_MOVE = """
    OLD.status = 'pending' AND NEW.status IN ('posted', 'voided')
    AND NEW.id = OLD.id AND NEW.reference = OLD.reference
    AND NEW.debit_account_id = OLD.debit_account_id
    AND NEW.credit_account_id = OLD.credit_account_id
    AND NEW.currency = OLD.currency AND NEW.amount_minor = OLD.amount_minor
    AND NEW.pending_entry_id = OLD.pending_entry_id AND NEW.created_at = OLD.created_at
    AND {same_expiry}
    AND NEW.resolution_entry_id IS NOT NULL AND NEW.resolved_at IS NOT NULL
    AND ((NEW.status = 'posted' AND NEW.posted_minor > 0)
         OR (NEW.status = 'voided' AND NEW.posted_minor = 0))
"""

_POSTGRES_FUNCTIONS = (
    """
    CREATE FUNCTION ledger_check_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF EXISTS (
            SELECT 1 FROM ledger_lines WHERE entry_id = NEW.entry_id
            GROUP BY currency HAVING sum(amount_minor) <> 0
        ) THEN
            RAISE EXCEPTION 'ledger entry % does not balance per currency', NEW.entry_id
                USING ERRCODE = 'check_violation';
        END IF;
        RETURN NULL;
    END $$
    """,
    """
    CREATE FUNCTION ledger_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
            USING ERRCODE = 'restrict_violation';
    END $$
    """,
    f"""
    CREATE FUNCTION ledger_pending_resolve_once() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP = 'DELETE' OR NOT ({
        _PENDING_MOVE.format(same_expiry="NEW.expires_at IS NOT DISTINCT FROM OLD.expires_at")
    }) THEN
            RAISE EXCEPTION 'a hold moves once, from pending to posted or voided'
                USING ERRCODE = 'restrict_violation';
        END IF;
        RETURN NEW;
    END $$
    """,
)


def _create_tables(*, sqlite: bool) -> None:
    op.create_table(
        "ledger_accounts",
        sa.Column("id", BigId, nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("scope", sa.String(length=120), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_ledger_accounts"),
        sa.UniqueConstraint(
            "kind", "currency", "scope", name="uq_ledger_accounts_kind_currency_scope"
        ),
    )
    # SQLite takes a foreign key to a table created later; PostgreSQL gets it added below.
    pending_fk = (
        [
            sa.ForeignKeyConstraint(
                ["pending_id"],
                ["ledger_pending.id"],
                name="fk_ledger_entries_pending_id_ledger_pending",
            )
        ]
        if sqlite
        else []
    )
    op.create_table(
        "ledger_entries",
        sa.Column("id", BigId, nullable=False),
        sa.Column("reference", sa.String(length=120), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("description", sa.String(length=500), nullable=False),
        sa.Column("pending_id", BigId, nullable=True),
        sa.Column("reverses_id", BigId, nullable=True),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "kind IN ('transfer', 'pending', 'post_pending', 'void_pending', 'reversal')",
            name="ck_ledger_entries_kind",
        ),
        sa.ForeignKeyConstraint(
            ["reverses_id"],
            ["ledger_entries.id"],
            name="fk_ledger_entries_reverses_id_ledger_entries",
        ),
        *pending_fk,
        sa.PrimaryKeyConstraint("id", name="pk_ledger_entries"),
        sa.UniqueConstraint("reference", name="uq_ledger_entries_reference"),
        sa.UniqueConstraint("reverses_id", name="uq_ledger_entries_reverses_id"),
    )
    op.create_index("ix_ledger_entries_pending_id", "ledger_entries", ["pending_id"])
    op.create_table(
        "ledger_pending",
        sa.Column("id", BigId, nullable=False),
        sa.Column("reference", sa.String(length=120), nullable=False),
        sa.Column("debit_account_id", BigId, nullable=False),
        sa.Column("credit_account_id", BigId, nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("posted_minor", sa.BigInteger(), nullable=False),
        sa.Column("pending_entry_id", BigId, nullable=False),
        sa.Column("resolution_entry_id", BigId, nullable=True),
        sa.Column("expires_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("resolved_at", UTCDateTime(timezone=True), nullable=True),
        sa.CheckConstraint("amount_minor > 0", name="ck_ledger_pending_positive"),
        sa.CheckConstraint(
            "status IN ('pending', 'posted', 'voided')", name="ck_ledger_pending_status"
        ),
        sa.CheckConstraint(
            "posted_minor >= 0 AND posted_minor <= amount_minor", name="ck_ledger_pending_posted"
        ),
        sa.ForeignKeyConstraint(
            ["debit_account_id"],
            ["ledger_accounts.id"],
            name="fk_ledger_pending_debit_account_id_ledger_accounts",
        ),
        sa.ForeignKeyConstraint(
            ["credit_account_id"],
            ["ledger_accounts.id"],
            name="fk_ledger_pending_credit_account_id_ledger_accounts",
        ),
        sa.ForeignKeyConstraint(
            ["pending_entry_id"],
            ["ledger_entries.id"],
            name="fk_ledger_pending_pending_entry_id_ledger_entries",
        ),
        sa.ForeignKeyConstraint(
            ["resolution_entry_id"],
            ["ledger_entries.id"],
            name="fk_ledger_pending_resolution_entry_id_ledger_entries",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_ledger_pending"),
        sa.UniqueConstraint("reference", name="uq_ledger_pending_reference"),
        sa.UniqueConstraint("pending_entry_id", name="uq_ledger_pending_pending_entry_id"),
        sa.UniqueConstraint("resolution_entry_id", name="uq_ledger_pending_resolution_entry_id"),
    )
    if not sqlite:
        op.create_foreign_key(
            "fk_ledger_entries_pending_id_ledger_pending",
            "ledger_entries",
            "ledger_pending",
            ["pending_id"],
            ["id"],
        )
    op.create_table(
        "ledger_lines",
        sa.Column("id", BigId, nullable=False),
        sa.Column("entry_id", BigId, nullable=False),
        sa.Column("account_id", BigId, nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("amount_minor <> 0", name="ck_ledger_lines_nonzero"),
        sa.ForeignKeyConstraint(
            ["entry_id"], ["ledger_entries.id"], name="fk_ledger_lines_entry_id_ledger_entries"
        ),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["ledger_accounts.id"],
            name="fk_ledger_lines_account_id_ledger_accounts",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_ledger_lines"),
    )
    op.create_index("ix_ledger_lines_entry_id", "ledger_lines", ["entry_id"])
    op.create_index("ix_ledger_lines_account_page", "ledger_lines", ["account_id", "id"])
    op.create_table(
        "ledger_imbalances",
        sa.Column("entry_id", BigId, nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("blocker", BigId, nullable=False),
        sa.ForeignKeyConstraint(
            ["blocker"],
            ["ledger_entries.id"],
            name="fk_ledger_imbalances_blocker_ledger_entries",
            deferrable=True,
            initially="DEFERRED",
        ),
        sa.PrimaryKeyConstraint("entry_id", "currency", name="pk_ledger_imbalances"),
    )


def _postgres_triggers() -> None:
    for function in _POSTGRES_FUNCTIONS:
        op.execute(function)
    op.execute(
        "CREATE CONSTRAINT TRIGGER ledger_lines_balanced AFTER INSERT ON ledger_lines "
        "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION ledger_check_balanced()"
    )
    for table in _APPEND_ONLY:
        op.execute(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change()"
        )
    op.execute(
        "CREATE TRIGGER ledger_pending_resolve_once BEFORE UPDATE OR DELETE ON ledger_pending "
        "FOR EACH ROW EXECUTE FUNCTION ledger_pending_resolve_once()"
    )


def _sqlite_triggers() -> None:
    op.execute(
        """
        CREATE TRIGGER ledger_lines_balanced AFTER INSERT ON ledger_lines
        BEGIN
            DELETE FROM ledger_imbalances
            WHERE entry_id = NEW.entry_id AND currency = NEW.currency;
            INSERT INTO ledger_imbalances (entry_id, currency, blocker)
            SELECT NEW.entry_id, NEW.currency, -1
            WHERE (SELECT sum(amount_minor) FROM ledger_lines
                   WHERE entry_id = NEW.entry_id AND currency = NEW.currency) <> 0;
        END
        """
    )
    for table in _APPEND_ONLY:
        for action in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER {table}_no_{action.lower()} BEFORE {action} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, '{table} is append-only: {action} refused'); END"
            )
    move = _PENDING_MOVE.format(same_expiry="NEW.expires_at IS OLD.expires_at")
    op.execute(
        f"CREATE TRIGGER ledger_pending_resolve_once BEFORE UPDATE ON ledger_pending "
        f"WHEN NOT ({move}) BEGIN "
        "SELECT RAISE(ABORT, 'a hold moves once, from pending to posted or voided'); END"
    )
    op.execute(
        "CREATE TRIGGER ledger_pending_no_delete BEFORE DELETE ON ledger_pending "
        "BEGIN SELECT RAISE(ABORT, 'a hold moves once, from pending to posted or voided'); END"
    )


def upgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    _create_tables(sqlite=sqlite)
    if sqlite:
        _sqlite_triggers()
    else:
        _postgres_triggers()


def downgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    if sqlite:
        op.execute("DROP TRIGGER IF EXISTS ledger_lines_balanced")
        op.execute("DROP TRIGGER IF EXISTS ledger_pending_resolve_once")
        op.execute("DROP TRIGGER IF EXISTS ledger_pending_no_delete")
        for table in _APPEND_ONLY:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_update")
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_delete")
    else:
        op.drop_constraint(
            "fk_ledger_entries_pending_id_ledger_pending", "ledger_entries", type_="foreignkey"
        )
    op.drop_table("ledger_imbalances")
    op.drop_index("ix_ledger_lines_account_page", table_name="ledger_lines")
    op.drop_index("ix_ledger_lines_entry_id", table_name="ledger_lines")
    op.drop_table("ledger_lines")
    op.drop_table("ledger_pending")
    op.drop_index("ix_ledger_entries_pending_id", table_name="ledger_entries")
    op.drop_table("ledger_entries")
    op.drop_table("ledger_accounts")
    if not sqlite:
        op.execute("DROP FUNCTION IF EXISTS ledger_check_balanced()")
        op.execute("DROP FUNCTION IF EXISTS ledger_refuse_change()")
        op.execute("DROP FUNCTION IF EXISTS ledger_pending_resolve_once()")
