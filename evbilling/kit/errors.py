"""The root of every error evbilling raises on purpose, and the generic failures every slice
shares (missing, conflicting, invalid); slices name their own failures as subclasses."""

from __future__ import annotations

from collections.abc import Sequence


class EVBillingError(Exception):
    """Base class: each subclass is named for the failure it reports."""


class NotFound(EVBillingError):
    """The object does not exist or belongs to another operator (the two are not told apart)."""

    def __init__(self, *, kind: str, key: object) -> None:
        super().__init__(f"{kind} {key} not found")
        self.kind = kind
        self.key = key


class Conflict(EVBillingError):
    """The request contradicts the current state (duplicate identity, object in use, ...)."""


class InvalidRequest(EVBillingError):
    """The request is well-formed but not acceptable; `field` names the culprit when known.
    `errors` lists every (field, message) when several fields were rejected at once (an OCPI
    tariff, say); `field` is then the first of them."""

    def __init__(
        self,
        message: str,
        *,
        field: str | None = None,
        errors: Sequence[tuple[str, str]] = (),
    ) -> None:
        super().__init__(message)
        self.field = field
        self.errors: tuple[tuple[str, str], ...] = tuple(errors)
