"""The sandbox provider's own tables: its own metadata, created when it starts, in its own
database (never evbilling's). Amounts are the provider's integer units; instants are integer
microseconds since the epoch (exact on SQLite and PostgreSQL alike). No column holds a card
number or CVC."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import BigInteger, Boolean, Column, Integer, MetaData, String, Table, Text

metadata = MetaData()

counters = Table(
    "sbx_counters",
    metadata,
    Column("prefix", String(16), primary_key=True),
    Column("value", BigInteger, nullable=False),
)

idempotency_keys = Table(
    "sbx_idempotency_keys",
    metadata,
    Column("key", String(255), primary_key=True),
    Column("fingerprint", String(64), nullable=False),
    Column("state", String(16), nullable=False),  # "running" | "done"
    Column("status_code", Integer),
    Column("response", Text),
    Column("created_us", BigInteger, nullable=False),
)

customers = Table(
    "sbx_customers",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("reference", String(120), nullable=False, index=True),
    Column("email", String(320)),
    Column("created_us", BigInteger, nullable=False),
)

setups = Table(
    "sbx_card_setups",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("customer_id", String(32), nullable=False),
    Column("return_url", Text, nullable=False),
    Column("page_key", String(64), nullable=False),
    Column("status", String(16), nullable=False),
    Column("method_id", String(32)),
    Column("created_us", BigInteger, nullable=False),
)

methods = Table(
    "sbx_payment_methods",
    metadata,
    Column("id", String(32), primary_key=True),  # the token
    Column("customer_id", String(32), nullable=False),
    Column("brand", String(16), nullable=False),
    Column("last4", String(4), nullable=False),
    Column("exp_month", Integer, nullable=False),
    Column("exp_year", Integer, nullable=False),
    Column("behaviour", String(32), nullable=False),
    Column("detached", Boolean, nullable=False),
    Column("created_us", BigInteger, nullable=False),
)

authorizations = Table(
    "sbx_authorizations",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("reference", String(120), nullable=False, index=True),
    Column("customer_id", String(32), nullable=False),
    Column("method_id", String(32), nullable=False),
    Column("behaviour", String(32), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("requested", BigInteger, nullable=False),
    Column("authorized", BigInteger, nullable=False),
    Column("captured", BigInteger, nullable=False),
    Column("refunded", BigInteger, nullable=False),
    Column("status", String(16), nullable=False),
    Column("decline_code", String(40)),
    Column("cancellation_reason", String(40)),
    Column("off_session", Boolean, nullable=False),
    Column("statement_descriptor", String(22)),
    Column("capture_before_us", BigInteger),
    Column("created_us", BigInteger, nullable=False),
)

captures = Table(
    "sbx_captures",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("authorization_id", String(32), nullable=False, index=True),
    Column("amount", BigInteger, nullable=False),
    Column("created_us", BigInteger, nullable=False),
)

refunds = Table(
    "sbx_refunds",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("reference", String(120), nullable=False, index=True),
    Column("authorization_id", String(32), nullable=False, index=True),
    Column("currency", String(3), nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("status", String(16), nullable=False),
    Column("created_us", BigInteger, nullable=False),
)

balance_transactions = Table(
    "sbx_balance_transactions",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("kind", String(16), nullable=False),
    Column("source_id", String(32), nullable=False),
    Column("reference", String(120)),
    Column("currency", String(3), nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("fee", BigInteger, nullable=False),
    Column("created_us", BigInteger, nullable=False, index=True),
)

events = Table(
    "sbx_events",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("type", String(64), nullable=False),
    Column("object_id", String(32), nullable=False, index=True),
    Column("object_status", String(16), nullable=False),
    Column("duplicate", Boolean, nullable=False),  # sent twice and out of order
    Column("payload", Text, nullable=False),
    Column("created_us", BigInteger, nullable=False),
)

ID_PREFIXES = ("cus", "seti", "pm", "pi", "re", "txn", "evt")


def to_us(instant: datetime) -> int:
    delta = instant.astimezone(UTC) - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def from_us(value: int) -> datetime:
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=value)
