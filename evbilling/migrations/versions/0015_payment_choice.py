"""The payment method choice: the driver's preference, the operator's unlinked-token policy

Revision ID: 0015
Revises: 0014

`drivers.payment_preference` ("card", "wallet", "postpaid"; NULL: the default order, see
docs/payment-choice.md). `operators.unlinked_token_policy` says what a token linked to no
driver and no postpaid account may do: "free" (the default, today's behaviour: accepted and
not charged), "refuse" or "fixed_fee" (`unlinked_token_fee_minor` in
`unlinked_token_fee_currency`, VAT included). `session_charges.payment_kind` keeps how each
settled session was paid.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain ADD COLUMNs: no table rebuild on SQLite.
    op.add_column("drivers", sa.Column("payment_preference", sa.String(length=16), nullable=True))
    op.add_column(
        "operators",
        sa.Column(
            "unlinked_token_policy", sa.String(length=16), server_default="free", nullable=False
        ),
    )
    op.add_column(
        "operators", sa.Column("unlinked_token_fee_minor", sa.BigInteger(), nullable=True)
    )
    op.add_column(
        "operators", sa.Column("unlinked_token_fee_currency", sa.String(length=3), nullable=True)
    )
    op.add_column(
        "session_charges", sa.Column("payment_kind", sa.String(length=16), nullable=True)
    )


def downgrade() -> None:
    # Plain DROP COLUMNs (SQLite 3.35+): a rebuild of operators would trip its references.
    op.drop_column("session_charges", "payment_kind")
    op.drop_column("operators", "unlinked_token_fee_currency")
    op.drop_column("operators", "unlinked_token_fee_minor")
    op.drop_column("operators", "unlinked_token_policy")
    op.drop_column("drivers", "payment_preference")
