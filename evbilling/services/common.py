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
    """The request is well-formed but not acceptable; `field` names the culprit when known."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


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
