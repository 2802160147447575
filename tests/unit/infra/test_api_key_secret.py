"""The server's API-key secret: HMAC-SHA256 digests under it, and where a server without the
setting finds it (a file beside its SQLite database, or nowhere: PostgreSQL needs it set)."""

from __future__ import annotations

import hashlib
import hmac
import os
import stat
from pathlib import Path

import pytest

from evbilling.infra.secrets import (
    SECRET_FILE_NAME,
    ApiKeyHasher,
    ApiKeySecretError,
    api_key_hasher_for,
    load_or_create_secret_file,
)

SECRET = "s" * 40
KEY = "evb_0123456789ab_secret"


class TestDigests:
    def test_is_the_hmac_sha256_of_the_whole_key_under_the_secret(self) -> None:
        hasher = ApiKeyHasher.from_secret(SECRET)

        expected = hmac.new(SECRET.encode(), KEY.encode(), hashlib.sha256).hexdigest()
        assert hasher.digest(KEY) == f"hmac-sha256${expected}"

    def test_differs_under_another_secret(self) -> None:
        one = ApiKeyHasher.from_secret(SECRET).digest(KEY)
        other = ApiKeyHasher.from_secret("t" * 40).digest(KEY)

        assert one != other

    def test_matches_only_the_same_digest(self) -> None:
        hasher = ApiKeyHasher.from_secret(SECRET)
        digest = hasher.digest(KEY)

        assert hasher.matches(api_key_digest=digest, stored=digest)
        assert not hasher.matches(api_key_digest=hasher.digest(KEY + "x"), stored=digest)
        assert not hasher.matches(api_key_digest=digest, stored="$argon2id$v=19$...")

    def test_refuses_a_short_configured_secret(self) -> None:
        hasher = ApiKeyHasher.from_secret("short")

        with pytest.raises(ApiKeySecretError, match="at least 32 characters"):
            hasher.digest(KEY)


class TestWhereTheSecretComesFrom:
    def test_the_setting_wins(self, tmp_path: Path) -> None:
        hasher = api_key_hasher_for(
            configured=SECRET, database_url=f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite3'}"
        )

        assert hasher.digest(KEY) == ApiKeyHasher.from_secret(SECRET).digest(KEY)
        assert not (tmp_path / SECRET_FILE_NAME).exists()

    def test_sqlite_keeps_a_generated_secret_beside_its_database(self, tmp_path: Path) -> None:
        url = f"sqlite+aiosqlite:///{tmp_path / 'data' / 'db.sqlite3'}"

        first = api_key_hasher_for(configured=None, database_url=url).digest(KEY)
        again = api_key_hasher_for(configured=None, database_url=url).digest(KEY)

        path = tmp_path / "data" / SECRET_FILE_NAME
        assert first == again
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert len(path.read_text().strip()) == 64
        # The file's text is the secret: moving it to the setting keeps every key working.
        assert ApiKeyHasher.from_secret(path.read_text()).digest(KEY) == first

    def test_the_file_is_read_only_when_first_needed(self, tmp_path: Path) -> None:
        url = f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite3'}"

        hasher = api_key_hasher_for(configured=None, database_url=url)

        assert not (tmp_path / SECRET_FILE_NAME).exists()
        hasher.load()
        assert (tmp_path / SECRET_FILE_NAME).exists()

    def test_refuses_a_file_others_can_read(self, tmp_path: Path) -> None:
        path = tmp_path / SECRET_FILE_NAME
        load_or_create_secret_file(path)
        os.chmod(path, 0o644)

        with pytest.raises(ApiKeySecretError, match="chmod 600"):
            load_or_create_secret_file(path)

    def test_refuses_a_file_with_too_short_a_secret(self, tmp_path: Path) -> None:
        path = tmp_path / SECRET_FILE_NAME
        path.write_text("short\n")
        os.chmod(path, 0o600)

        with pytest.raises(ApiKeySecretError, match="at least 32 characters"):
            load_or_create_secret_file(path)

    def test_postgresql_needs_the_setting(self) -> None:
        hasher = api_key_hasher_for(
            configured=None, database_url="postgresql+asyncpg://db.example/evbilling"
        )

        with pytest.raises(ApiKeySecretError, match="EVBILLING_API_KEY_SECRET"):
            hasher.load()

    def test_an_in_memory_database_gets_a_secret_of_its_process(self) -> None:
        one = api_key_hasher_for(configured=None, database_url="sqlite+aiosqlite://")
        other = api_key_hasher_for(configured=None, database_url="sqlite+aiosqlite://")

        assert one.digest(KEY) != other.digest(KEY)
