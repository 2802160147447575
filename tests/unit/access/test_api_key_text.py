"""API keys as text: the public prefix, what is refused before any digest or look-up, and how
often a key's last use is written."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from evbilling.access.domain import (
    LAST_USED_RESOLUTION,
    MAX_API_KEY_LENGTH,
    InvalidApiKey,
    api_key_prefix,
    last_use_is_stale,
    new_api_key,
)

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


class TestApiKeyText:
    def test_a_new_key_carries_its_public_prefix_and_a_long_secret(self) -> None:
        issued = new_api_key()

        scheme, prefix, secret = issued.key.split("_", 2)
        assert scheme == "evb"
        assert prefix == issued.prefix
        assert len(prefix) == 12
        assert set(prefix) <= set("0123456789abcdef")
        assert len(secret) == 32
        assert api_key_prefix(issued.key) == issued.prefix

    def test_keys_are_never_repeated(self) -> None:
        keys = {new_api_key().key for _ in range(1_000)}

        assert len(keys) == 1_000

    def test_a_secret_with_underscores_keeps_the_prefix(self) -> None:
        assert api_key_prefix("evb_0123456789ab_se_cr_et") == "0123456789ab"

    @pytest.mark.parametrize(
        "key",
        [
            "nope",
            "evb_0123456789ab",
            "evb_0123456789ab_",
            "xyz_0123456789ab_secret",
            "evb_0123_secret",
            "evb__secret",
            "evb_0123456789ab_sécret",
            "evb_0123456789ab_" + "s" * MAX_API_KEY_LENGTH,
        ],
    )
    def test_refuses_a_malformed_key(self, key: str) -> None:
        with pytest.raises(InvalidApiKey, match="malformed API key"):
            api_key_prefix(key)


class TestLastUse:
    def test_a_key_never_used_is_noted_at_its_first_use(self) -> None:
        assert last_use_is_stale(last_used_at=None, now=NOW)

    def test_a_recent_note_is_kept(self) -> None:
        recent = NOW - LAST_USED_RESOLUTION + timedelta(seconds=1)

        assert not last_use_is_stale(last_used_at=recent, now=NOW)

    def test_an_older_note_is_renewed(self) -> None:
        assert last_use_is_stale(last_used_at=NOW - LAST_USED_RESOLUTION, now=NOW)
