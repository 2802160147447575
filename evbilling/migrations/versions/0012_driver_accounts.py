"""Driver accounts of the app, their tokens and one-time links; the mail outbox

Revision ID: 0012
Revises: 0011

- driver_accounts: one log-in (e-mail, argon2 password hash) per driver.
- app_refresh_tokens, app_access_tokens: HMAC digests of the app's tokens, by sign-in family.
- account_links: one-time links mailed to an account (e-mail verification, password reset).
- mail_outbox: messages to send, delivered after commit by the `mail.deliver` job.

Plain CREATE TABLE on both dialects.
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

import evbilling.infra.db.types

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _at(name: str, *, nullable: bool = False) -> sa.Column[Any]:
    return sa.Column(name, evbilling.infra.db.types.UTCDateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "driver_accounts",
        sa.Column("id", _ID, nullable=False),
        sa.Column("operator_id", _ID, nullable=False),
        sa.Column("driver_id", _ID, nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("password_hash", sa.String(length=200), nullable=False),
        _at("email_verified_at", nullable=True),
        _at("closed_at", nullable=True),
        _at("created_at"),
        _at("updated_at"),
        sa.ForeignKeyConstraint(
            ["operator_id"], ["operators.id"], name=op.f("fk_driver_accounts_operator_id_operators")
        ),
        sa.ForeignKeyConstraint(
            ["driver_id"], ["drivers.id"], name=op.f("fk_driver_accounts_driver_id_drivers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_driver_accounts")),
        sa.UniqueConstraint("driver_id", name=op.f("uq_driver_accounts_driver_id")),
        sa.UniqueConstraint("email", name=op.f("uq_driver_accounts_email")),
    )
    op.create_index(
        op.f("ix_driver_accounts_operator_id"), "driver_accounts", ["operator_id"], unique=False
    )
    for table in ("app_refresh_tokens", "app_access_tokens"):
        columns: list[sa.Column[Any]] = [
            sa.Column("id", _ID, nullable=False),
            sa.Column("account_id", _ID, nullable=False),
            sa.Column("family", sa.String(length=32), nullable=False),
            sa.Column("digest", sa.String(length=100), nullable=False),
            _at("issued_at"),
            _at("expires_at"),
        ]
        if table == "app_refresh_tokens":
            columns.append(_at("rotated_at", nullable=True))
        columns.append(_at("revoked_at", nullable=True))
        op.create_table(
            table,
            *columns,
            sa.ForeignKeyConstraint(
                ["account_id"],
                ["driver_accounts.id"],
                name=op.f(f"fk_{table}_account_id_driver_accounts"),
            ),
            sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{table}")),
            sa.UniqueConstraint("digest", name=op.f(f"uq_{table}_digest")),
        )
        op.create_index(op.f(f"ix_{table}_account_id"), table, ["account_id"], unique=False)
        op.create_index(op.f(f"ix_{table}_family"), table, ["family"], unique=False)
    op.create_index(
        op.f("ix_app_access_tokens_expires_at"), "app_access_tokens", ["expires_at"], unique=False
    )
    op.create_table(
        "account_links",
        sa.Column("id", _ID, nullable=False),
        sa.Column("account_id", _ID, nullable=False),
        sa.Column("purpose", sa.String(length=10), nullable=False),
        sa.Column("digest", sa.String(length=100), nullable=False),
        _at("created_at"),
        _at("expires_at"),
        _at("used_at", nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["driver_accounts.id"],
            name=op.f("fk_account_links_account_id_driver_accounts"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_account_links")),
        sa.UniqueConstraint("digest", name=op.f("uq_account_links_digest")),
    )
    op.create_index(
        op.f("ix_account_links_account_id"), "account_links", ["account_id"], unique=False
    )
    op.create_table(
        "mail_outbox",
        sa.Column("id", _ID, nullable=False),
        sa.Column("to_address", sa.String(length=320), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("body_text", sa.Text(), nullable=False),
        sa.Column("dedupe_key", sa.String(length=200), nullable=True),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        _at("created_at"),
        _at("sent_at", nullable=True),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mail_outbox")),
        sa.UniqueConstraint("dedupe_key", name=op.f("uq_mail_outbox_dedupe_key")),
    )
    op.create_index(op.f("ix_mail_outbox_created_at"), "mail_outbox", ["created_at"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_mail_outbox_created_at"), table_name="mail_outbox")
    op.drop_table("mail_outbox")
    op.drop_index(op.f("ix_account_links_account_id"), table_name="account_links")
    op.drop_table("account_links")
    op.drop_index(op.f("ix_app_access_tokens_expires_at"), table_name="app_access_tokens")
    for table in ("app_access_tokens", "app_refresh_tokens"):
        op.drop_index(op.f(f"ix_{table}_family"), table_name=table)
        op.drop_index(op.f(f"ix_{table}_account_id"), table_name=table)
        op.drop_table(table)
    op.drop_index(op.f("ix_driver_accounts_operator_id"), table_name="driver_accounts")
    op.drop_table("driver_accounts")
