"""The job queue's rules, pure: states, kinds, payload bounds, retry backoff, schedule slots."""

from __future__ import annotations

import hashlib
import json
import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any, Final

from evbilling.kit.errors import InvalidRequest
from evbilling.kit.values import ValidatedText

# A payload is a small JSON object naming what to work on (ids, not documents).
MAX_PAYLOAD_BYTES: Final = 8 * 1024
MAX_PAYLOAD_DEPTH: Final = 8
MAX_ERROR_LENGTH: Final = 1000
MAX_DEDUPE_KEY_LENGTH: Final = 200
MAX_WORKER_ID_LENGTH: Final = 100
DEFAULT_MAX_ATTEMPTS: Final = 10
MAX_ATTEMPTS_LIMIT: Final = 100
_INT64 = 2**63

# Slots of a periodic schedule are counted from here, so every instance agrees on them.
SLOT_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)


class JobStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    DEAD = "dead"


class JobOutcome(StrEnum):
    """How one attempt of a worker ended."""

    SUCCEEDED = "succeeded"
    RETRYING = "retrying"
    DEAD = "dead"
    # The lease passed to another worker before this one could run or finish the job.
    LOST = "lost"


class JobKind(ValidatedText):
    """What a job does, named by the slice that handles it: `charging.close_abandoned`."""

    __slots__ = ()
    PATTERN = re.compile(r"[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*")
    MAX_LENGTH = 64
    RULE = "dotted lower-case words (a-z, 0-9, _), at most 64 characters"
    FIELD = "kind"


def checked_payload(payload: object) -> dict[str, Any]:
    """The payload if both databases store it as given: a JSON object of at most
    MAX_PAYLOAD_BYTES, text without U+0000, integers within int64, finite numbers."""
    if not isinstance(payload, dict):
        raise InvalidRequest("must be a JSON object", field="payload")
    _check_json(payload, depth=0)
    if _json_size(payload) > MAX_PAYLOAD_BYTES:
        raise InvalidRequest(f"must be at most {MAX_PAYLOAD_BYTES} bytes as JSON", field="payload")
    return payload


def _check_json(value: object, *, depth: int) -> None:
    if depth > MAX_PAYLOAD_DEPTH:
        raise InvalidRequest(f"must nest at most {MAX_PAYLOAD_DEPTH} levels", field="payload")
    if value is None or isinstance(value, bool):
        return
    if isinstance(value, int):
        if not -_INT64 <= value < _INT64:
            raise InvalidRequest("integers must fit in 64 bits", field="payload")
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise InvalidRequest("numbers must be finite", field="payload")
    elif isinstance(value, str):
        if "\x00" in value:
            raise InvalidRequest("text must not contain U+0000", field="payload")
    elif isinstance(value, list):
        for item in value:
            _check_json(item, depth=depth + 1)
    elif isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise InvalidRequest("object keys must be text", field="payload")
            _check_json(key, depth=depth + 1)
            _check_json(item, depth=depth + 1)
    else:
        raise InvalidRequest(
            f"must hold only JSON values, not {type(value).__name__}", field="payload"
        )


def _json_size(payload: dict[str, Any]) -> int:
    """The payload's size as compact UTF-8 JSON (its values were checked just before)."""
    return len(json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode())


def checked_dedupe_key(key: object) -> str | None:
    if key is None:
        return None
    if not isinstance(key, str) or not key or "\x00" in key:
        raise InvalidRequest("must be non-empty text without U+0000", field="dedupe_key")
    if len(key) > MAX_DEDUPE_KEY_LENGTH:
        raise InvalidRequest(
            f"must be at most {MAX_DEDUPE_KEY_LENGTH} characters", field="dedupe_key"
        )
    return key


def checked_max_attempts(value: object) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise InvalidRequest("must be an integer", field="max_attempts")
    if not 1 <= value <= MAX_ATTEMPTS_LIMIT:
        raise InvalidRequest(f"must be between 1 and {MAX_ATTEMPTS_LIMIT}", field="max_attempts")
    return value


def error_text(error: BaseException) -> str:
    """What a failure leaves in `last_error`: its type and message, bounded."""
    message = str(error).replace("\x00", "")
    text = f"{type(error).__name__}: {message}" if message else type(error).__name__
    return text[:MAX_ERROR_LENGTH]


@dataclass(frozen=True, slots=True)
class Backoff:
    """How long a failed job waits before its next attempt.

    delay(n) = min(cap, base * factor ** (n - 1)) * (1 - jitter * u), where n is the number of
    attempts made so far and u in [0, 1) is drawn from a hash of (job id, n): deterministic,
    yet jobs that failed together do not all come back in the same instant. Jitter only
    shortens a delay, so `cap` is a true upper bound.
    """

    base: timedelta = timedelta(seconds=30)
    factor: float = 2.0
    cap: timedelta = timedelta(hours=1)
    jitter: float = 0.2

    def __post_init__(self) -> None:
        if self.base <= timedelta(0) or self.cap < self.base:
            raise ValueError("backoff needs 0 < base <= cap")
        if self.factor < 1 or not 0 <= self.jitter < 1:
            raise ValueError("backoff needs factor >= 1 and 0 <= jitter < 1")

    def delay(self, *, attempts: int, job_id: int) -> timedelta:
        exponent = max(attempts - 1, 0)
        cap_s = self.cap.total_seconds()
        # Past the cap the power no longer matters (and may overflow a float).
        grown = self.base.total_seconds() * self.factor ** min(exponent, 64)
        seconds = min(cap_s, grown)
        return timedelta(seconds=seconds * (1 - self.jitter * _unit(job_id, attempts)))


def _unit(job_id: int, attempts: int) -> float:
    digest = hashlib.sha256(f"{job_id}:{attempts}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def slot_start(*, now: datetime, every: timedelta) -> datetime:
    """The start of the schedule slot `now` falls in (slots of `every`, from SLOT_EPOCH)."""
    step = int(every.total_seconds() * 1_000_000)
    elapsed = (now - SLOT_EPOCH) // timedelta(microseconds=1)
    return SLOT_EPOCH + timedelta(microseconds=elapsed - elapsed % step)


def slot_dedupe_key(*, kind: str, slot: datetime) -> str:
    """The key that makes a schedule enqueue one job per slot, on every instance."""
    return f"schedule:{kind}@{slot.astimezone(UTC):%Y-%m-%dT%H:%M:%S.%fZ}"
