"""Card payments; scopes on API keys

Revision ID: 0009
Revises: 0008

- payment_customers, payment_methods (tokens, brand, last 4, expiry: never a card number),
  card_setups, payments (holds and their captures), provider_calls (every call's idempotency
  key, stored before the call), payment_refunds, webhook_events (the provider-event inbox),
  session_charges (what each settled session came to: captured, receivable, written off),
  reconciliation_runs.
- api_keys.scopes: what a key may do beyond everyday routes ("payments"); keys issued before
  keep everything they could do, so they get every scope.

Plain CREATE TABLE / ADD COLUMN: no table rebuild on SQLite (see 0002 for why that matters).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import evbilling.infra.db.types


revision: str = '0009'
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('provider_calls',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('provider', sa.String(length=20), nullable=False),
    sa.Column('operation', sa.String(length=30), nullable=False),
    sa.Column('idempotency_key', sa.String(length=200), nullable=False),
    sa.Column('subject', sa.String(length=60), nullable=False),
    sa.Column('amount_minor', sa.BigInteger(), nullable=True),
    sa.Column('state', sa.String(length=12), nullable=False),
    sa.Column('provider_object_id', sa.String(length=100), nullable=True),
    sa.Column('error', sa.String(length=500), nullable=True),
    sa.Column('created_at', evbilling.infra.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', evbilling.infra.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_provider_calls')),
    sa.UniqueConstraint('idempotency_key', name=op.f('uq_provider_calls_idempotency_key'))
    )
    with op.batch_alter_table('provider_calls', schema=None) as batch_op:
        batch_op.create_index('ix_provider_calls_subject', ['subject'], unique=False)

    op.create_table('reconciliation_runs',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('provider', sa.String(length=20), nullable=False),
    sa.Column('period_from', evbilling.infra.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('period_to', evbilling.infra.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('mismatch_count', sa.Integer(), nullable=False),
    sa.Column('mismatches', sa.JSON(), nullable=False),
    sa.Column('created_at', evbilling.infra.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reconciliation_runs'))
    )
    op.create_table('webhook_events',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('provider', sa.String(length=20), nullable=False),
    sa.Column('event_id', sa.String(length=100), nullable=False),
    sa.Column('type', sa.String(length=60), nullable=False),
    sa.Column('object_id', sa.String(length=100), nullable=False),
    sa.Column('outcome', sa.String(length=20), nullable=False),
    sa.Column('received_at', evbilling.infra.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_webhook_events'))
    )
    with op.batch_alter_table('webhook_events', schema=None) as batch_op:
        batch_op.create_index('uq_webhook_events_provider_event', ['provider', 'event_id'], unique=True)

    op.create_table('payment_customers',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('operator_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('driver_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('provider', sa.String(length=20), nullable=False),
    sa.Column('provider_customer_id', sa.String(length=100), nullable=False),
    sa.Column('created_at', evbilling.infra.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['driver_id'], ['drivers.id'], name=op.f('fk_payment_customers_driver_id_drivers'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['operator_id'], ['operators.id'], name=op.f('fk_payment_customers_operator_id_operators')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payment_customers'))
    )
    with op.batch_alter_table('payment_customers', schema=None) as batch_op:
        batch_op.create_index('uq_payment_customers_provider_driver', ['provider', 'driver_id'], unique=True)

    op.create_table('payment_methods',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('operator_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('driver_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('provider', sa.String(length=20), nullable=False),
    sa.Column('provider_customer_id', sa.String(length=100), nullable=False),
    sa.Column('provider_method_id', sa.String(length=100), nullable=False),
    sa.Column('brand', sa.String(length=20), nullable=False),
    sa.Column('last4', sa.String(length=4), nullable=False),
    sa.Column('exp_month', sa.Integer(), nullable=False),
    sa.Column('exp_year', sa.Integer(), nullable=False),
    sa.Column('wallet', sa.String(length=20), nullable=True),
    sa.Column('is_default', sa.Boolean(), nullable=False),
    sa.Column('created_at', evbilling.infra.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['driver_id'], ['drivers.id'], name=op.f('fk_payment_methods_driver_id_drivers'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['operator_id'], ['operators.id'], name=op.f('fk_payment_methods_operator_id_operators')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payment_methods'))
    )
    with op.batch_alter_table('payment_methods', schema=None) as batch_op:
        batch_op.create_index('ix_payment_methods_driver', ['driver_id'], unique=False)
        batch_op.create_index('uq_payment_methods_provider_token', ['provider', 'provider_method_id'], unique=True)

    op.create_table('card_setups',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('operator_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('driver_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('provider', sa.String(length=20), nullable=False),
    sa.Column('provider_setup_id', sa.String(length=100), nullable=True),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('url', sa.String(length=2000), nullable=True),
    sa.Column('method_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('created_at', evbilling.infra.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', evbilling.infra.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['driver_id'], ['drivers.id'], name=op.f('fk_card_setups_driver_id_drivers'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['method_id'], ['payment_methods.id'], name=op.f('fk_card_setups_method_id_payment_methods'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['operator_id'], ['operators.id'], name=op.f('fk_card_setups_operator_id_operators')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_card_setups'))
    )
    with op.batch_alter_table('card_setups', schema=None) as batch_op:
        batch_op.create_index('uq_card_setups_provider_setup', ['provider', 'provider_setup_id'], unique=True)

    op.create_table('payments',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('operator_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('driver_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('station_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('evse_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('session_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('provider', sa.String(length=20), nullable=False),
    sa.Column('provider_customer_id', sa.String(length=100), nullable=False),
    sa.Column('provider_method_id', sa.String(length=100), nullable=False),
    sa.Column('off_session', sa.Boolean(), nullable=False),
    sa.Column('reference', sa.String(length=40), nullable=True),
    sa.Column('authorization_id', sa.String(length=100), nullable=True),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('requested_minor', sa.BigInteger(), nullable=False),
    sa.Column('authorized_minor', sa.BigInteger(), nullable=False),
    sa.Column('captured_minor', sa.BigInteger(), nullable=False),
    sa.Column('refunded_minor', sa.BigInteger(), nullable=False),
    sa.Column('margin_minor', sa.BigInteger(), nullable=False),
    sa.Column('limit_minor', sa.BigInteger(), nullable=True),
    sa.Column('capture_before', evbilling.infra.db.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('captured_at', evbilling.infra.db.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('decline_code', sa.String(length=60), nullable=True),
    sa.Column('ledger_pending_id', sa.BigInteger(), nullable=True),
    sa.Column('created_at', evbilling.infra.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', evbilling.infra.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['driver_id'], ['drivers.id'], name=op.f('fk_payments_driver_id_drivers')),
    sa.ForeignKeyConstraint(['evse_id'], ['evses.id'], name=op.f('fk_payments_evse_id_evses'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['operator_id'], ['operators.id'], name=op.f('fk_payments_operator_id_operators')),
    sa.ForeignKeyConstraint(['session_id'], ['charging_sessions.id'], name=op.f('fk_payments_session_id_charging_sessions')),
    sa.ForeignKeyConstraint(['station_id'], ['stations.id'], name=op.f('fk_payments_station_id_stations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payments')),
    sa.UniqueConstraint('reference', name=op.f('uq_payments_reference')),
    sa.UniqueConstraint('session_id', name=op.f('uq_payments_session_id'))
    )
    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.create_index('ix_payments_status', ['status'], unique=False)
        batch_op.create_index('uq_payments_live_driver_station', ['driver_id', 'station_id'], unique=True, sqlite_where=sa.text("status IN ('planned', 'authorized') AND session_id IS NULL"), postgresql_where=sa.text("status IN ('planned', 'authorized') AND session_id IS NULL"))
        batch_op.create_index('uq_payments_provider_authorization', ['provider', 'authorization_id'], unique=True)

    op.create_table('payment_refunds',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('operator_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('payment_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('provider', sa.String(length=20), nullable=False),
    sa.Column('reference', sa.String(length=40), nullable=True),
    sa.Column('provider_refund_id', sa.String(length=100), nullable=True),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('amount_minor', sa.BigInteger(), nullable=False),
    sa.Column('reason', sa.String(length=500), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('created_at', evbilling.infra.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', evbilling.infra.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['operator_id'], ['operators.id'], name=op.f('fk_payment_refunds_operator_id_operators')),
    sa.ForeignKeyConstraint(['payment_id'], ['payments.id'], name=op.f('fk_payment_refunds_payment_id_payments')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payment_refunds')),
    sa.UniqueConstraint('reference', name=op.f('uq_payment_refunds_reference'))
    )
    with op.batch_alter_table('payment_refunds', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_payment_refunds_payment_id'), ['payment_id'], unique=False)
        batch_op.create_index('uq_payment_refunds_provider_refund', ['provider', 'provider_refund_id'], unique=True)

    op.create_table('session_charges',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('operator_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('session_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('driver_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('payment_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('location_id', sa.BigInteger(), nullable=True),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('total_minor', sa.BigInteger(), nullable=False),
    sa.Column('portions', sa.JSON(), nullable=False),
    sa.Column('capture_minor', sa.BigInteger(), nullable=False),
    sa.Column('captured_minor', sa.BigInteger(), nullable=False),
    sa.Column('receivable_minor', sa.BigInteger(), nullable=False),
    sa.Column('written_off_minor', sa.BigInteger(), nullable=False),
    sa.Column('shortfall_reason', sa.String(length=20), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('capture_failures', sa.Integer(), nullable=False),
    sa.Column('created_at', evbilling.infra.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', evbilling.infra.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['driver_id'], ['drivers.id'], name=op.f('fk_session_charges_driver_id_drivers')),
    sa.ForeignKeyConstraint(['operator_id'], ['operators.id'], name=op.f('fk_session_charges_operator_id_operators')),
    sa.ForeignKeyConstraint(['payment_id'], ['payments.id'], name=op.f('fk_session_charges_payment_id_payments')),
    sa.ForeignKeyConstraint(['session_id'], ['charging_sessions.id'], name=op.f('fk_session_charges_session_id_charging_sessions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_session_charges')),
    sa.UniqueConstraint('session_id', name=op.f('uq_session_charges_session_id'))
    )
    with op.batch_alter_table('session_charges', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_session_charges_driver_id'), ['driver_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_session_charges_status'), ['status'], unique=False)

    with op.batch_alter_table('api_keys', schema=None) as batch_op:
        batch_op.add_column(sa.Column('scopes', sa.String(length=200), server_default='', nullable=False))
    op.execute("UPDATE api_keys SET scopes = 'payments'")



def downgrade() -> None:
    with op.batch_alter_table('api_keys', schema=None) as batch_op:
        batch_op.drop_column('scopes')

    with op.batch_alter_table('session_charges', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_session_charges_status'))
        batch_op.drop_index(batch_op.f('ix_session_charges_driver_id'))

    op.drop_table('session_charges')
    with op.batch_alter_table('payment_refunds', schema=None) as batch_op:
        batch_op.drop_index('uq_payment_refunds_provider_refund')
        batch_op.drop_index(batch_op.f('ix_payment_refunds_payment_id'))

    op.drop_table('payment_refunds')
    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.drop_index('uq_payments_provider_authorization')
        batch_op.drop_index('uq_payments_live_driver_station', sqlite_where=sa.text("status IN ('planned', 'authorized') AND session_id IS NULL"), postgresql_where=sa.text("status IN ('planned', 'authorized') AND session_id IS NULL"))
        batch_op.drop_index('ix_payments_status')

    op.drop_table('payments')
    with op.batch_alter_table('card_setups', schema=None) as batch_op:
        batch_op.drop_index('uq_card_setups_provider_setup')

    op.drop_table('card_setups')
    with op.batch_alter_table('payment_methods', schema=None) as batch_op:
        batch_op.drop_index('uq_payment_methods_provider_token')
        batch_op.drop_index('ix_payment_methods_driver')

    op.drop_table('payment_methods')
    with op.batch_alter_table('payment_customers', schema=None) as batch_op:
        batch_op.drop_index('uq_payment_customers_provider_driver')

    op.drop_table('payment_customers')
    with op.batch_alter_table('webhook_events', schema=None) as batch_op:
        batch_op.drop_index('uq_webhook_events_provider_event')

    op.drop_table('webhook_events')
    op.drop_table('reconciliation_runs')
    with op.batch_alter_table('provider_calls', schema=None) as batch_op:
        batch_op.drop_index('ix_provider_calls_subject')

    op.drop_table('provider_calls')
