"""Secrets: argon2 hashes for station passwords, HMAC-SHA256 digests for API keys under the
server's API-key secret; nothing reversible is stored.

Station passwords are chosen by people (or typed into a charger's web page) and get a slow,
salted argon2 hash. API keys are 192-bit random strings, so a keyed fast hash is as strong
and costs microseconds: a request is verified on the event loop, with no thread and no
database connection held.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import os
import secrets
import stat
from collections.abc import Callable
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy.engine import make_url

from evbilling.kit import EVBillingError

# OWASP's argon2id baseline (19 MiB, 2 passes): ~20 ms a check on a small server core.
_HASHER = PasswordHasher(time_cost=2, memory_cost=19_456, parallelism=1)

MIN_STATION_PASSWORD = 16  # OCPP 1.6 security profile 1: 16..40 characters
MAX_STATION_PASSWORD = 40
# A password a station is sent with ChangeConfiguration(AuthorizationKey): the value is its
# hexadecimal form, at most 40 digits, so the password itself is 16..20 bytes.
MAX_ROTATED_STATION_PASSWORD = 20


class WeakPassword(EVBillingError):
    """A station password outside OCPP's length rule or not printable ASCII."""


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


def is_argon2_hash(stored: str) -> bool:
    return stored.startswith("$argon2")


def check_station_password(password: str, *, max_length: int = MAX_STATION_PASSWORD) -> str:
    if not MIN_STATION_PASSWORD <= len(password) <= max_length:
        raise WeakPassword(
            f"station passwords are {MIN_STATION_PASSWORD} to {max_length} characters"
        )
    if not password.isascii() or not password.isprintable():
        raise WeakPassword("station passwords are printable ASCII")
    return password


def generate_station_password() -> str:
    """120 random bits as 20 URL-safe characters: short enough for AuthorizationKey."""
    return secrets.token_urlsafe(15)


# ---------------------------------------------------------------------------------------------
# API keys


API_KEY_DIGEST_SCHEME = "hmac-sha256$"
MIN_API_KEY_SECRET = 32
SECRET_FILE_NAME = "api-key-secret"


class ApiKeySecretError(EVBillingError):
    """The server's API-key secret is missing, too short or stored insecurely."""


class ApiKeyHasher:
    """HMAC-SHA256 digests of API keys under the server's secret.

    The secret is read on first use (`load()` reads it at once): a command that never touches
    an API key never needs it. Every process that issues or checks keys for one database must
    use the same secret; changing it invalidates every key.
    """

    __slots__ = ("_key", "_source")

    def __init__(self, source: Callable[[], bytes]) -> None:
        self._source = source
        self._key: bytes | None = None

    @classmethod
    def from_secret(cls, secret: str) -> ApiKeyHasher:
        return cls(lambda: _checked_secret(secret, origin="the API-key secret"))

    @classmethod
    def ephemeral(cls) -> ApiKeyHasher:
        """A random secret for this process only (tests, in-memory databases)."""
        key = secrets.token_hex(32).encode()
        return cls(lambda: key)

    def load(self) -> None:
        if self._key is None:
            self._key = self._source()

    def digest(self, api_key: str) -> str:
        self.load()
        assert self._key is not None
        mac = hmac.new(self._key, api_key.encode(), hashlib.sha256).hexdigest()
        return API_KEY_DIGEST_SCHEME + mac

    def matches(self, *, api_key_digest: str, stored: str) -> bool:
        """Constant-time comparison of a digest with the stored one."""
        return hmac.compare_digest(api_key_digest.encode(), stored.encode())


def _checked_secret(secret: str, *, origin: str) -> bytes:
    text = secret.strip()
    if len(text) < MIN_API_KEY_SECRET:
        raise ApiKeySecretError(f"{origin} must be at least {MIN_API_KEY_SECRET} characters")
    return text.encode()


def api_key_hasher_for(*, configured: str | None, database_url: str) -> ApiKeyHasher:
    """The configured secret; without one, a SQLite database keeps a generated secret in a
    file beside it (`api-key-secret`, mode 0600). Any other database needs the setting:
    several servers share it, and they must all use one secret."""
    if configured is not None:
        return ApiKeyHasher.from_secret(configured)
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite":
        return ApiKeyHasher(_missing_secret)
    database = url.database or ":memory:"
    if database == ":memory:":
        return ApiKeyHasher.ephemeral()
    path = Path(database).parent / SECRET_FILE_NAME
    return ApiKeyHasher(lambda: load_or_create_secret_file(path))


def _missing_secret() -> bytes:
    raise ApiKeySecretError(
        "set EVBILLING_API_KEY_SECRET (at least 32 random characters, the same on every "
        "server): only a SQLite database keeps a generated secret beside it"
    )


def load_or_create_secret_file(path: Path) -> bytes:
    """The secret in `path`, created once with 64 random hex digits. Creation is atomic (a
    complete file appears under its name, or nothing), so two processes starting together
    end up with the same secret."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        draft = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
        descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(descriptor, "w") as handle:
                handle.write(secrets.token_hex(32) + "\n")
                handle.flush()
                os.fsync(handle.fileno())
            try:
                os.link(draft, path)
            except FileExistsError:
                pass  # another process was first: use its secret
        finally:
            draft.unlink(missing_ok=True)
    mode = path.stat().st_mode
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ApiKeySecretError(f"{path} must be readable by its owner only (chmod 600 {path})")
    return _checked_secret(path.read_text(), origin=str(path))
