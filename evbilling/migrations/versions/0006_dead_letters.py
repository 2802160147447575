"""Dead letters for OCPP messages that fail alone; the precision and the identity of a
session's stop evidence

Revision ID: 0006
Revises: 0005

- ocpp_dead_letters: a station's CALL that failed on its own, with its frame (at most
  64 KiB), the error and when it arrived (`evbilling ocpp dead-letters`).
- charging_sessions.last_register_resolution_wh: the precision of the trusted register
  (meterStop is compared with a kWh reading in the meter's own precision).
- charging_sessions.stop_key: what the StopTransaction reported, so a replay is told apart
  from a conflicting second stop.

Plain CREATE TABLE / ADD COLUMN: no table rebuild on SQLite (see 0002 for why that matters).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import evbilling.infra.db.types

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "ocpp_dead_letters",
        sa.Column("id", BigId, nullable=False),
        sa.Column("operator_id", BigId, nullable=False),
        sa.Column("station_id", BigId, nullable=True),
        sa.Column("station_identity", sa.String(64), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("message_id", sa.String(36), nullable=False),
        sa.Column("frame", sa.Text(), nullable=False),
        sa.Column("frame_length", sa.Integer(), nullable=False),
        sa.Column("error_type", sa.String(200), nullable=False),
        sa.Column("error_message", sa.String(500), nullable=False),
        sa.Column("received_at", evbilling.infra.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["operator_id"],
            ["operators.id"],
            name="fk_ocpp_dead_letters_operator_id_operators",
        ),
        sa.ForeignKeyConstraint(
            ["station_id"],
            ["stations.id"],
            name="fk_ocpp_dead_letters_station_id_stations",
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_ocpp_dead_letters"),
    )
    op.create_index(
        "ix_ocpp_dead_letters_operator_page", "ocpp_dead_letters", ["operator_id", "id"]
    )
    op.add_column(
        "charging_sessions",
        sa.Column("last_register_resolution_wh", sa.Integer(), nullable=True),
    )
    op.add_column("charging_sessions", sa.Column("stop_key", sa.String(32), nullable=True))


def downgrade() -> None:
    op.drop_column("charging_sessions", "stop_key")
    op.drop_column("charging_sessions", "last_register_resolution_wh")
    op.drop_index("ix_ocpp_dead_letters_operator_page", table_name="ocpp_dead_letters")
    op.drop_table("ocpp_dead_letters")
