"""Webhook signatures as Stripe makes them, for Stripe and the sandbox alike.

Header value: `t=<unix seconds>,v1=<hex HMAC-SHA256(secret, f"{t}.{raw body}")>` (several
`v1=` entries may be present while a secret is rolled; one matching is enough). The body is
the raw bytes received: nothing is parsed before the signature verifies. A timestamp more
than `tolerance` away from `now` (past or future) is refused, so a captured request cannot
be replayed later.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from datetime import datetime, timedelta

from evbilling.payments.psp.port import WebhookRejected

DEFAULT_TOLERANCE = timedelta(seconds=300)


def compute_signature(*, secret: str, timestamp: int, payload: bytes) -> str:
    signed = str(timestamp).encode() + b"." + payload
    return hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def signature_header(*, secret: str, timestamp: int, payload: bytes) -> str:
    signature = compute_signature(secret=secret, timestamp=timestamp, payload=payload)
    return f"t={timestamp},v1={signature}"


def header_value(headers: Mapping[str, str], name: str) -> str | None:
    """A header by case-insensitive name from any mapping (a dict or Starlette's Headers)."""
    wanted = name.lower()
    for key, value in headers.items():
        if key.lower() == wanted:
            return value
    return None


def verify_signature(
    *,
    payload: bytes,
    header: str | None,
    secret: str,
    now: datetime,
    tolerance: timedelta = DEFAULT_TOLERANCE,
) -> int:
    """The verified timestamp; raises WebhookRejected (never says which part was wrong
    beyond the category)."""
    if not header:
        raise WebhookRejected("the signature header is missing")
    if not secret:
        raise WebhookRejected("no webhook secret is configured for this endpoint")
    timestamp: int | None = None
    signatures: list[str] = []
    for item in header.split(","):
        key, _, value = item.strip().partition("=")
        if key == "t" and value.isdigit() and len(value) <= 12:
            timestamp = int(value)
        elif key == "v1" and value:
            signatures.append(value)
    if timestamp is None or not signatures:
        raise WebhookRejected("the signature header is malformed")
    expected = compute_signature(secret=secret, timestamp=timestamp, payload=payload)
    wanted = expected.encode()
    if not any(hmac.compare_digest(wanted, candidate.encode()) for candidate in signatures):
        raise WebhookRejected("the signature does not match the body")
    if abs(now.timestamp() - timestamp) > tolerance.total_seconds():
        raise WebhookRejected("the signature's timestamp is outside the tolerance")
    return timestamp
