"""Sessions: when the car left and the amount became final, spending limit, payment kind

Revision ID: 0010
Revises: 0009

`occupied_until` is when the car left the connector (idle time until then is priced when the
tariff bills parking time); `completed_at` is when the session's amount became final and
`session.completed` was recorded. Payments sets `spending_limit_minor` (incl. VAT, minor units
of the session's currency); charging records `limit_reached_at` and, once the station was told
to stop, `limit_stop_reason`. `payment_kind` / `payment_reason` say how the session is paid.
Sessions that had ended already are final as they are: occupied and completed until their stop.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import evbilling.infra.db.types

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_MOMENTS = ("occupied_until", "completed_at", "limit_reached_at")


def upgrade() -> None:
    # Plain ADD COLUMNs: no table rebuild on SQLite (see 0002 for why that matters).
    for name in _MOMENTS:
        op.add_column(
            "charging_sessions",
            sa.Column(name, evbilling.infra.db.types.UTCDateTime(timezone=True), nullable=True),
        )
    op.add_column(
        "charging_sessions", sa.Column("spending_limit_minor", sa.BigInteger(), nullable=True)
    )
    op.add_column(
        "charging_sessions", sa.Column("limit_stop_reason", sa.String(length=200), nullable=True)
    )
    op.add_column(
        "charging_sessions", sa.Column("payment_kind", sa.String(length=16), nullable=True)
    )
    op.add_column(
        "charging_sessions", sa.Column("payment_reason", sa.String(length=200), nullable=True)
    )
    # Sessions that ended before: final as they are (their car is long gone), never completed
    # again by the idle-cap sweep, and no session.completed for them.
    op.execute(
        "UPDATE charging_sessions SET occupied_until = stopped_at, completed_at = stopped_at "
        "WHERE stopped_at IS NOT NULL"
    )


def downgrade() -> None:
    with op.batch_alter_table("charging_sessions") as batch:
        for name in (
            "payment_reason",
            "payment_kind",
            "limit_stop_reason",
            "spending_limit_minor",
            *reversed(_MOMENTS),
        ):
            batch.drop_column(name)
