"""Keep the periods each session was rated from

Revision ID: 0003
Revises: 0002

Re-rating then reads one value per session instead of all its meter readings. Sessions rated
before this revision have none and are re-rated from their readings.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A plain ADD COLUMN: no table rebuild on SQLite (see 0002 for why that matters).
    op.add_column("charging_sessions", sa.Column("rating_periods", sa.JSON(), nullable=True))


def downgrade() -> None:
    op.drop_column("charging_sessions", "rating_periods")
