"""Errors and value types shared by the use cases."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from evbilling.kit import EVBillingError

T = TypeVar("T")


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


@dataclass(frozen=True, slots=True)
class PageRequest:
    limit: int = 50
    offset: int = 0


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    items: Sequence[T]
    total: int
    limit: int
    offset: int
