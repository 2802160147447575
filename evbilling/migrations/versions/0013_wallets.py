"""Prepaid wallets: wallets, wallet_reservations, wallet_topups

Revision ID: 0013
Revises: 0012

A wallet's available and reserved amounts are a cache of its ledger account, kept by guarded
UPDATEs; CHECK constraints keep them at or above zero. One live reservation per driver and
station before a session takes it (a partial unique index, like card holds).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import evbilling.infra.db.types

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_LIVE_UNATTACHED = "status = 'live' AND session_id IS NULL"


def _when(name: str, *, nullable: bool = False) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, evbilling.infra.db.types.UTCDateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "wallets",
        sa.Column("id", _ID, nullable=False),
        sa.Column("operator_id", _ID, nullable=False),
        sa.Column("driver_id", _ID, nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("available_minor", sa.BigInteger(), nullable=False),
        sa.Column("reserved_minor", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        _when("created_at"),
        _when("updated_at"),
        _when("closed_at", nullable=True),
        sa.CheckConstraint("available_minor >= 0", name="ck_wallets_available"),
        sa.CheckConstraint("reserved_minor >= 0", name="ck_wallets_reserved"),
        sa.CheckConstraint("status IN ('open', 'closed')", name="ck_wallets_status"),
        sa.ForeignKeyConstraint(
            ["operator_id"], ["operators.id"], name="fk_wallets_operator_id_operators"
        ),
        sa.ForeignKeyConstraint(["driver_id"], ["drivers.id"], name="fk_wallets_driver_id_drivers"),
        sa.PrimaryKeyConstraint("id", name="pk_wallets"),
    )
    op.create_index("ix_wallets_operator_id", "wallets", ["operator_id"], unique=False)
    op.create_index("uq_wallets_driver_currency", "wallets", ["driver_id", "currency"], unique=True)

    op.create_table(
        "wallet_reservations",
        sa.Column("id", _ID, nullable=False),
        sa.Column("operator_id", _ID, nullable=False),
        sa.Column("wallet_id", _ID, nullable=False),
        sa.Column("driver_id", _ID, nullable=False),
        sa.Column("station_id", _ID, nullable=False),
        sa.Column("session_id", _ID, nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("margin_minor", sa.BigInteger(), nullable=False),
        sa.Column("posted_minor", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("ledger_pending_id", sa.BigInteger(), nullable=True),
        _when("created_at"),
        _when("updated_at"),
        sa.CheckConstraint("amount_minor > 0", name="ck_wallet_reservations_positive"),
        sa.CheckConstraint(
            "posted_minor >= 0 AND posted_minor <= amount_minor",
            name="ck_wallet_reservations_posted",
        ),
        sa.CheckConstraint(
            "status IN ('live', 'settled', 'released')", name="ck_wallet_reservations_status"
        ),
        sa.ForeignKeyConstraint(
            ["operator_id"], ["operators.id"], name="fk_wallet_reservations_operator_id_operators"
        ),
        sa.ForeignKeyConstraint(
            ["wallet_id"], ["wallets.id"], name="fk_wallet_reservations_wallet_id_wallets"
        ),
        sa.ForeignKeyConstraint(
            ["driver_id"], ["drivers.id"], name="fk_wallet_reservations_driver_id_drivers"
        ),
        sa.ForeignKeyConstraint(
            ["station_id"], ["stations.id"], name="fk_wallet_reservations_station_id_stations"
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["charging_sessions.id"],
            name="fk_wallet_reservations_session_id_charging_sessions",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_wallet_reservations"),
        sa.UniqueConstraint("session_id", name="uq_wallet_reservations_session_id"),
    )
    op.create_index(
        "ix_wallet_reservations_wallet_id", "wallet_reservations", ["wallet_id"], unique=False
    )
    op.create_index(
        "ix_wallet_reservations_status", "wallet_reservations", ["status"], unique=False
    )
    op.create_index(
        "uq_wallet_reservations_live_driver_station",
        "wallet_reservations",
        ["driver_id", "station_id"],
        unique=True,
        sqlite_where=sa.text(_LIVE_UNATTACHED),
        postgresql_where=sa.text(_LIVE_UNATTACHED),
    )

    op.create_table(
        "wallet_topups",
        sa.Column("id", _ID, nullable=False),
        sa.Column("operator_id", _ID, nullable=False),
        sa.Column("wallet_id", _ID, nullable=False),
        sa.Column("driver_id", _ID, nullable=False),
        sa.Column("provider", sa.String(length=20), nullable=False),
        sa.Column("provider_customer_id", sa.String(length=100), nullable=False),
        sa.Column("provider_method_id", sa.String(length=100), nullable=False),
        sa.Column("reference", sa.String(length=40), nullable=True),
        sa.Column("authorization_id", sa.String(length=100), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("refunded_minor", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("decline_code", sa.String(length=60), nullable=True),
        _when("created_at"),
        _when("updated_at"),
        sa.CheckConstraint("amount_minor > 0", name="ck_wallet_topups_positive"),
        sa.CheckConstraint(
            "refunded_minor >= 0 AND refunded_minor <= amount_minor",
            name="ck_wallet_topups_refunded",
        ),
        sa.ForeignKeyConstraint(
            ["operator_id"], ["operators.id"], name="fk_wallet_topups_operator_id_operators"
        ),
        sa.ForeignKeyConstraint(
            ["wallet_id"], ["wallets.id"], name="fk_wallet_topups_wallet_id_wallets"
        ),
        sa.ForeignKeyConstraint(
            ["driver_id"], ["drivers.id"], name="fk_wallet_topups_driver_id_drivers"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_wallet_topups"),
        sa.UniqueConstraint("reference", name="uq_wallet_topups_reference"),
    )
    op.create_index("ix_wallet_topups_wallet_id", "wallet_topups", ["wallet_id"], unique=False)
    op.create_index(
        "uq_wallet_topups_provider_authorization",
        "wallet_topups",
        ["provider", "authorization_id"],
        unique=True,
    )


def downgrade() -> None:
    op.drop_table("wallet_topups")
    op.drop_table("wallet_reservations")
    op.drop_table("wallets")
