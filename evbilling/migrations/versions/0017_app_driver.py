"""One-time codes that link RFID cards to drivers' app accounts

Revision ID: 0017
Revises: 0016

A code per card UID and operator, stored as a salted digest, valid for minutes and a few
attempts. Receipts need no table: their public links are keyed digests of the session id.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import evbilling.infra.db.types

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "rfid_link_codes",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "operator_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("uid", sa.String(length=20), nullable=False),
        sa.Column(
            "station_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("salt", sa.String(length=32), nullable=False),
        sa.Column("code_digest", sa.String(length=64), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("max_attempts", sa.Integer(), nullable=False),
        sa.Column(
            "expires_at", evbilling.infra.db.types.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column("used_at", evbilling.infra.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column(
            "created_at", evbilling.infra.db.types.UTCDateTime(timezone=True), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["operator_id"],
            ["operators.id"],
            name=op.f("fk_rfid_link_codes_operator_id_operators"),
        ),
        sa.ForeignKeyConstraint(
            ["station_id"],
            ["stations.id"],
            name=op.f("fk_rfid_link_codes_station_id_stations"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rfid_link_codes")),
    )
    op.create_index(
        "ix_rfid_link_codes_operator_uid", "rfid_link_codes", ["operator_id", "uid"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_rfid_link_codes_operator_uid", table_name="rfid_link_codes")
    op.drop_table("rfid_link_codes")
