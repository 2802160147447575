"""The one path for writing fields a caller gave: a table of rules, one per field, applied to
the fields given (partial updates leave out the rest), then set on the row.

A service lists its entity's rules once, `{field: rule}`, and uses them for creating and for
updating, so a field is checked the same way whichever way it arrives. A rule takes the given
value and returns the value to store, or raises InvalidRequest naming the field; rules that
need the database (does the referenced tariff exist?) return an awaitable.

Partial updates take `UNSET` for "leave as is" and `None` for "clear" on nullable fields.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime
from enum import Enum
from typing import Any, Final, Protocol

from evbilling.infra.db.repository import RepositoryBase, apply_changes
from evbilling.infra.validation import record_id
from evbilling.kit.errors import InvalidRequest


class Unset(Enum):
    """Marks a partial-update argument that was not given (None means "clear it")."""

    UNSET = "unset"


UNSET: Final = Unset.UNSET

Rule = Callable[[Any], object | Awaitable[object]]
Rules = Mapping[str, Rule]


class Stamped(Protocol):
    updated_at: datetime


async def validate_fields(given: Mapping[str, object], rules: Rules) -> dict[str, object]:
    """Each given field (those not UNSET) through its rule, in the order given."""
    values: dict[str, object] = {}
    for name, value in given.items():
        if value is UNSET:
            continue
        checked = rules[name](value)
        values[name] = await checked if inspect.isawaitable(checked) else checked
    return values


async def update_fields(
    row: Stamped, *, given: Mapping[str, object], rules: Rules, now: datetime
) -> bool:
    """Validate the given fields, set those that differ and stamp `updated_at`; True when
    anything changed (the caller flushes then)."""
    changed = apply_changes(row, await validate_fields(given, rules))
    if changed:
        row.updated_at = now
    return changed


async def check_reference(
    repository: RepositoryBase[Any], value: object, *, owner_id: int, field: str, kind: str
) -> int | None:
    """A nullable reference from a request body to a row the owner must have: None stays
    None; an id of nothing, or of another owner's row, is InvalidRequest on that field."""
    if value is None:
        return None
    key = record_id(value, field=field)
    if await repository.get(id=key, owner_id=owner_id) is None:
        raise InvalidRequest(f"{kind} {key} not found", field=field)
    return key
