"""Identifiers and secrets."""

import secrets


def new_secret(*, nbytes: int = 24) -> str:
    """A URL-safe random secret (passwords, API keys)."""
    return secrets.token_urlsafe(nbytes)
