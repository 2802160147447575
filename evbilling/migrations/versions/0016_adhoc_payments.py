"""Ad-hoc payments: a guest's card payment at one EVSE, without an account

Revision ID: 0016
Revises: 0015

One row per guest payment: its guest driver and AD_HOC token, the digest of its page token,
where the flow stands, the card set-up, the hold and the session it led to.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import evbilling.infra.db.types

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_AT = evbilling.infra.db.types.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "adhoc_payments",
        sa.Column("id", _ID, nullable=False),
        sa.Column("operator_id", _ID, nullable=False),
        sa.Column("station_id", _ID, nullable=False),
        sa.Column("evse_id", _ID, nullable=False),
        sa.Column("connector_id", sa.Integer(), nullable=False),
        sa.Column("driver_id", _ID, nullable=False),
        sa.Column("token_id", _ID, nullable=False),
        sa.Column("page_digest", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("message", sa.String(length=200), nullable=True),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column("card_setup_id", _ID, nullable=True),
        sa.Column("payment_id", _ID, nullable=True),
        sa.Column("session_id", _ID, nullable=True),
        sa.Column("receipt_mailed_at", _AT, nullable=True),
        sa.Column("created_at", _AT, nullable=False),
        sa.Column("updated_at", _AT, nullable=False),
        sa.ForeignKeyConstraint(
            ["operator_id"], ["operators.id"], name=op.f("fk_adhoc_payments_operator_id_operators")
        ),
        sa.ForeignKeyConstraint(
            ["station_id"], ["stations.id"], name=op.f("fk_adhoc_payments_station_id_stations")
        ),
        sa.ForeignKeyConstraint(
            ["evse_id"], ["evses.id"], name=op.f("fk_adhoc_payments_evse_id_evses")
        ),
        sa.ForeignKeyConstraint(
            ["driver_id"], ["drivers.id"], name=op.f("fk_adhoc_payments_driver_id_drivers")
        ),
        sa.ForeignKeyConstraint(
            ["token_id"], ["tokens.id"], name=op.f("fk_adhoc_payments_token_id_tokens")
        ),
        sa.ForeignKeyConstraint(
            ["card_setup_id"],
            ["card_setups.id"],
            name=op.f("fk_adhoc_payments_card_setup_id_card_setups"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["payment_id"],
            ["payments.id"],
            name=op.f("fk_adhoc_payments_payment_id_payments"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["charging_sessions.id"],
            name=op.f("fk_adhoc_payments_session_id_charging_sessions"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_adhoc_payments")),
    )
    with op.batch_alter_table("adhoc_payments", schema=None) as batch_op:
        batch_op.create_index("uq_adhoc_payments_page_digest", ["page_digest"], unique=True)


def downgrade() -> None:
    op.drop_table("adhoc_payments")
