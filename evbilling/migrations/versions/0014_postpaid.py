"""Postpaid accounts: accounts, their sessions (exposure, accrual), statements with lines,
payments received; drivers.postpaid_account_id, tokens.postpaid_account_id

Revision ID: 0014
Revises: 0013

An account has a credit limit (minor units of its currency), a status and an optional payer
(a driver whose saved card may pay its statements). `postpaid_exposures` holds one row per
session charged to an account: what it may still cost while it runs, what was accrued once
it ended. Statements cover a half-open UTC period and are never changed once issued.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import evbilling.infra.db.types

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Moment = evbilling.infra.db.types.UTCDateTime


def _id() -> sa.Column[int]:
    return sa.Column("id", BigId, nullable=False)


def _fk(
    table: str, column: str, target: str, ondelete: str | None = None
) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column],
        [f"{target}.id"],
        name=op.f(f"fk_{table}_{column}_{target}"),
        ondelete=ondelete,
    )


def upgrade() -> None:
    op.create_table(
        "postpaid_accounts",
        _id(),
        sa.Column("operator_id", BigId, nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("credit_limit_minor", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("payer_driver_id", sa.BigInteger(), nullable=True),
        sa.Column("billing_email", sa.String(length=320), nullable=True),
        sa.Column("created_at", Moment(timezone=True), nullable=False),
        sa.Column("updated_at", Moment(timezone=True), nullable=False),
        _fk("postpaid_accounts", "operator_id", "operators"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_postpaid_accounts")),
    )
    op.create_index(op.f("ix_postpaid_accounts_operator_id"), "postpaid_accounts", ["operator_id"])
    op.create_table(
        "postpaid_exposures",
        _id(),
        sa.Column("account_id", BigId, nullable=False),
        sa.Column("driver_id", BigId, nullable=True),
        sa.Column("station_id", BigId, nullable=False),
        sa.Column("session_id", BigId, nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("accrued_minor", sa.BigInteger(), nullable=True),
        sa.Column("portions", sa.JSON(), nullable=True),
        sa.Column("accrued_at", Moment(timezone=True), nullable=True),
        sa.Column("created_at", Moment(timezone=True), nullable=False),
        sa.Column("updated_at", Moment(timezone=True), nullable=False),
        _fk("postpaid_exposures", "account_id", "postpaid_accounts"),
        _fk("postpaid_exposures", "driver_id", "drivers", "SET NULL"),
        _fk("postpaid_exposures", "station_id", "stations"),
        _fk("postpaid_exposures", "session_id", "charging_sessions"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_postpaid_exposures")),
    )
    op.create_index(
        "ix_postpaid_exposures_account_status", "postpaid_exposures", ["account_id", "status"]
    )
    op.create_index(
        "uq_postpaid_exposures_session", "postpaid_exposures", ["session_id"], unique=True
    )
    op.create_table(
        "postpaid_statements",
        _id(),
        sa.Column("operator_id", BigId, nullable=False),
        sa.Column("account_id", BigId, nullable=False),
        sa.Column("period_start", Moment(timezone=True), nullable=False),
        sa.Column("period_end", Moment(timezone=True), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("session_count", sa.Integer(), nullable=False),
        sa.Column("energy_wh", sa.BigInteger(), nullable=False),
        sa.Column("net_minor", sa.BigInteger(), nullable=False),
        sa.Column("vat_minor", sa.BigInteger(), nullable=False),
        sa.Column("total_minor", sa.BigInteger(), nullable=False),
        sa.Column("vat_summary", sa.JSON(), nullable=False),
        sa.Column("opening_balance_minor", sa.BigInteger(), nullable=False),
        sa.Column("charges_minor", sa.BigInteger(), nullable=False),
        sa.Column("payments_minor", sa.BigInteger(), nullable=False),
        sa.Column("closing_balance_minor", sa.BigInteger(), nullable=False),
        sa.Column("issued_at", Moment(timezone=True), nullable=False),
        _fk("postpaid_statements", "operator_id", "operators"),
        _fk("postpaid_statements", "account_id", "postpaid_accounts"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_postpaid_statements")),
    )
    op.create_index(
        op.f("ix_postpaid_statements_operator_id"), "postpaid_statements", ["operator_id"]
    )
    op.create_index(
        "uq_postpaid_statements_period",
        "postpaid_statements",
        ["account_id", "period_start"],
        unique=True,
    )
    op.create_table(
        "postpaid_statement_lines",
        _id(),
        sa.Column("statement_id", BigId, nullable=False),
        sa.Column("session_id", BigId, nullable=False),
        sa.Column("driver_id", sa.BigInteger(), nullable=True),
        sa.Column("station", sa.String(length=48), nullable=False),
        sa.Column("started_at", Moment(timezone=True), nullable=False),
        sa.Column("stopped_at", Moment(timezone=True), nullable=True),
        sa.Column("duration_s", sa.BigInteger(), nullable=False),
        sa.Column("energy_wh", sa.BigInteger(), nullable=False),
        sa.Column("net_minor", sa.BigInteger(), nullable=False),
        sa.Column("vat_minor", sa.BigInteger(), nullable=False),
        sa.Column("total_minor", sa.BigInteger(), nullable=False),
        sa.Column("portions", sa.JSON(), nullable=False),
        _fk("postpaid_statement_lines", "statement_id", "postpaid_statements"),
        _fk("postpaid_statement_lines", "session_id", "charging_sessions"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_postpaid_statement_lines")),
    )
    op.create_index(
        op.f("ix_postpaid_statement_lines_statement_id"),
        "postpaid_statement_lines",
        ["statement_id"],
    )
    op.create_table(
        "postpaid_payments",
        _id(),
        sa.Column("operator_id", BigId, nullable=False),
        sa.Column("account_id", BigId, nullable=False),
        sa.Column("statement_id", BigId, nullable=True),
        sa.Column("method", sa.String(length=16), nullable=False),
        sa.Column("reference", sa.String(length=120), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("provider", sa.String(length=20), nullable=True),
        sa.Column("authorization_id", sa.String(length=255), nullable=True),
        sa.Column("driver_id", sa.BigInteger(), nullable=True),
        sa.Column("error", sa.String(length=500), nullable=True),
        sa.Column("actor", sa.String(length=200), nullable=True),
        sa.Column("created_at", Moment(timezone=True), nullable=False),
        sa.Column("updated_at", Moment(timezone=True), nullable=False),
        _fk("postpaid_payments", "operator_id", "operators"),
        _fk("postpaid_payments", "account_id", "postpaid_accounts"),
        _fk("postpaid_payments", "statement_id", "postpaid_statements"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_postpaid_payments")),
    )
    op.create_index(op.f("ix_postpaid_payments_account_id"), "postpaid_payments", ["account_id"])
    op.create_index(
        "uq_postpaid_payments_reference",
        "postpaid_payments",
        ["account_id", "method", "reference"],
        unique=True,
    )
    # drivers / tokens .postpaid_account_id: plain columns (no foreign key, see the models),
    # so SQLite adds and drops them in place.
    for table in ("drivers", "tokens"):
        op.add_column(table, sa.Column("postpaid_account_id", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    for table in ("tokens", "drivers"):
        op.drop_column(table, "postpaid_account_id")
    for table in (
        "postpaid_payments",
        "postpaid_statement_lines",
        "postpaid_statements",
        "postpaid_exposures",
        "postpaid_accounts",
    ):
        op.drop_table(table)
