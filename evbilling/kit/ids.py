"""Identifiers and secrets."""

import secrets
import uuid


def new_uuid() -> str:
    return str(uuid.uuid4())


def new_secret(*, nbytes: int = 24) -> str:
    """A URL-safe random secret (passwords, API keys)."""
    return secrets.token_urlsafe(nbytes)
