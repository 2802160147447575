"""The table-driven update path: only given fields, each through its rule, UNSET leaves and
None clears."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import pytest

from evbilling.infra.db.updates import UNSET, Rules, update_fields, validate_fields
from evbilling.infra.validation import optional_text, required_text
from evbilling.kit.errors import InvalidRequest

BEFORE = datetime(2026, 3, 1, tzinfo=UTC)
NOW = datetime(2026, 3, 2, tzinfo=UTC)


@dataclass
class Row:
    name: str
    city: str | None
    updated_at: datetime


async def _async_city(value: object) -> object:
    return optional_text(value, field="city", max_length=10)


RULES: Rules = {
    "name": lambda value: required_text(value, field="name", max_length=10),
    "city": _async_city,  # rules may need the database, so they may be awaitable
}


async def test_validates_only_the_given_fields() -> None:
    assert await validate_fields({"name": " Depot ", "city": UNSET}, RULES) == {"name": "Depot"}


async def test_none_clears_and_unset_leaves() -> None:
    row = Row(name="Depot", city="Berlin", updated_at=BEFORE)

    changed = await update_fields(row, given={"name": UNSET, "city": None}, rules=RULES, now=NOW)

    assert changed is True
    assert (row.name, row.city, row.updated_at) == ("Depot", None, NOW)


async def test_an_unchanged_value_is_no_change() -> None:
    row = Row(name="Depot", city=None, updated_at=BEFORE)

    changed = await update_fields(row, given={"name": "Depot"}, rules=RULES, now=NOW)

    assert changed is False
    assert row.updated_at == BEFORE


async def test_a_refused_field_changes_nothing() -> None:
    row = Row(name="Depot", city=None, updated_at=BEFORE)

    with pytest.raises(InvalidRequest) as raised:
        await update_fields(row, given={"city": "Berlin", "name": ""}, rules=RULES, now=NOW)

    assert raised.value.field == "name"
    assert (row.city, row.updated_at) == (None, BEFORE)
