"""INSERT ... ON CONFLICT DO NOTHING on the two databases evbilling runs on: a row that a
unique index already holds is skipped, not an error, so two writers racing to create the same
row both go on with the one that won."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.dml import Insert


def insert_or_skip(dialect: str, table: Any, *, conflict: Sequence[str]) -> Insert:
    """`table`'s INSERT that skips a row conflicting on the unique columns `conflict`."""
    if dialect == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing(index_elements=conflict)
    if dialect == "sqlite":
        return sqlite.insert(table).on_conflict_do_nothing(index_elements=conflict)
    raise NotImplementedError(f"evbilling runs on PostgreSQL and SQLite, not {dialect}")
