"""API keys' last use; a station's pending password

Revision ID: 0007
Revises: 0006

API keys are now stored as HMAC-SHA256 digests in the same `secret_hash` column; keys issued
before keep their argon2 hash until their first use, which replaces it (no data migration).
A station's `pending_password_hash` holds a password it accepted but has not logged in with.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import evbilling.infra.db.types

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain ADD COLUMNs: no table rebuild on SQLite (see 0002 for why that matters).
    op.add_column(
        "api_keys",
        sa.Column(
            "last_used_at", evbilling.infra.db.types.UTCDateTime(timezone=True), nullable=True
        ),
    )
    op.add_column(
        "stations", sa.Column("pending_password_hash", sa.String(length=200), nullable=True)
    )


def downgrade() -> None:
    # Keys whose digest is already HMAC stay usable only with this revision's code.
    op.drop_column("stations", "pending_password_hash")
    op.drop_column("api_keys", "last_used_at")
