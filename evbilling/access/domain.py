"""API keys as text: `evb_<prefix>_<secret>`, where the prefix is public (it finds the row and
is shown in lists) and the secret is 192 random bits. Pure: no I/O, no clock."""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from evbilling.kit import EVBillingError

API_KEY_SCHEME = "evb"
PREFIX_BYTES = 6  # 12 hex digits
SECRET_BYTES = 24  # 32 URL-safe characters
# Nothing a server issues is longer; anything longer is refused before it is hashed.
MAX_API_KEY_LENGTH = 100
# `last_used_at` is written at most this often per key, not on every request.
LAST_USED_RESOLUTION = timedelta(minutes=5)


class InvalidApiKey(EVBillingError):
    """The API key is missing, malformed, unknown or revoked."""


class MissingScope(EVBillingError):
    """The API key is valid but lacks the scope the route (or a key it issues) needs."""

    def __init__(self, scope: str) -> None:
        super().__init__(f"this API key lacks the {scope!r} scope")
        self.scope = scope


class Scope(StrEnum):
    """What a key may do beyond the operator's everyday routes (stations, tokens, tariffs,
    sessions). `payments`: card set-ups, payments, refunds, receivables, reconciliation."""

    PAYMENTS = "payments"


ALL_SCOPES: frozenset[str] = frozenset(scope.value for scope in Scope)


def parse_scopes(values: Iterable[str]) -> frozenset[str]:
    """Known scope names only; an unknown one is an error naming it."""
    scopes = frozenset(value.strip() for value in values if value.strip())
    unknown = sorted(scopes - ALL_SCOPES)
    if unknown:
        raise ValueError(f"unknown scope {unknown[0]!r}; known: {', '.join(sorted(ALL_SCOPES))}")
    return scopes


def encode_scopes(scopes: Iterable[str]) -> str:
    return " ".join(sorted(set(scopes)))


def decode_scopes(text: str) -> frozenset[str]:
    return frozenset(text.split())


@dataclass(frozen=True, slots=True)
class NewApiKey:
    prefix: str
    key: str  # the whole key: shown once, only its digest is stored


def new_api_key() -> NewApiKey:
    prefix = secrets.token_hex(PREFIX_BYTES)
    return NewApiKey(
        prefix=prefix, key=f"{API_KEY_SCHEME}_{prefix}_{secrets.token_urlsafe(SECRET_BYTES)}"
    )


def api_key_prefix(key: str) -> str:
    """The public prefix of a well-formed key; InvalidApiKey otherwise."""
    if len(key) > MAX_API_KEY_LENGTH or not key.isascii():
        raise InvalidApiKey("malformed API key")
    scheme, _, rest = key.partition("_")
    prefix, _, secret = rest.partition("_")
    if scheme != API_KEY_SCHEME or len(prefix) != 2 * PREFIX_BYTES or not secret:
        raise InvalidApiKey("malformed API key")
    return prefix


def last_use_is_stale(*, last_used_at: datetime | None, now: datetime) -> bool:
    return last_used_at is None or now - last_used_at >= LAST_USED_RESOLUTION
