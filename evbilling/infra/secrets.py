"""Secrets: argon2 hashes for station passwords and API keys; nothing reversible is stored."""

from __future__ import annotations

import asyncio
import hashlib
import time
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from evbilling.kit import EVBillingError, new_secret

# OWASP's argon2id baseline (19 MiB, 2 passes): ~20 ms a check on a small server core.
_HASHER = PasswordHasher(time_cost=2, memory_cost=19_456, parallelism=1)

MIN_STATION_PASSWORD = 16  # OCPP 1.6 security profile 1: 16..40 characters
MAX_STATION_PASSWORD = 40


class WeakPassword(EVBillingError):
    """A station password outside OCPP's 16..40 character rule."""


def hash_secret(secret: str) -> str:
    return _HASHER.hash(secret)


def verify_secret(*, secret: str, secret_hash: str) -> bool:
    try:
        return _HASHER.verify(secret_hash, secret)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


async def verify_secret_async(*, secret: str, secret_hash: str) -> bool:
    """argon2 is deliberately slow: keep it off the event loop."""
    return await asyncio.to_thread(verify_secret, secret=secret, secret_hash=secret_hash)


async def hash_secret_async(secret: str) -> str:
    return await asyncio.to_thread(hash_secret, secret)


def check_station_password(password: str) -> str:
    if not MIN_STATION_PASSWORD <= len(password) <= MAX_STATION_PASSWORD:
        raise WeakPassword(
            f"station passwords are {MIN_STATION_PASSWORD} to {MAX_STATION_PASSWORD} characters"
        )
    if not password.isascii() or not password.isprintable():
        raise WeakPassword("station passwords are printable ASCII")
    return password


def generate_station_password() -> str:
    return new_secret(nbytes=18)  # 24 characters


@dataclass(slots=True)
class VerifiedSecretCache:
    """Remembers recently verified high-entropy secrets (API keys) by their SHA-256 for a short
    time, so each request does not pay for an argon2 check. Revocation clears the entry."""

    ttl_s: float = 60.0
    _entries: dict[str, tuple[float, int]] | None = None

    def _store(self) -> dict[str, tuple[float, int]]:
        if self._entries is None:
            self._entries = {}
        return self._entries

    @staticmethod
    def fingerprint(secret: str) -> str:
        return hashlib.sha256(secret.encode()).hexdigest()

    def get(self, secret: str) -> int | None:
        entry = self._store().get(self.fingerprint(secret))
        if entry is None or entry[0] < time.monotonic():
            return None
        return entry[1]

    def put(self, secret: str, owner_id: int) -> None:
        store = self._store()
        if len(store) > 10_000:
            store.clear()
        store[self.fingerprint(secret)] = (time.monotonic() + self.ttl_s, owner_id)

    def forget_owner(self, owner_id: int) -> None:
        store = self._store()
        for key in [key for key, (_, owner) in store.items() if owner == owner_id]:
            del store[key]
