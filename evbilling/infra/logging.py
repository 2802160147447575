"""Structured logs: one event name plus key=value fields; personal data pseudonymized."""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
from typing import Any

# A per-process key unless configured: pseudonyms correlate lines within a deployment's logs
# without letting anyone reverse them to the RFID UID or e-mail address.
_PSEUDONYM_KEY = os.environ.get("EVBILLING_LOG_PSEUDONYM_KEY", "").encode() or os.urandom(16)


def pseudonymize(value: str) -> str:
    """A short keyed hash standing in for an RFID UID or e-mail address in logs."""
    digest = hmac.new(_PSEUDONYM_KEY, value.strip().upper().encode(), hashlib.sha256)
    return "p:" + digest.hexdigest()[:12]


class StructuredLogger:
    __slots__ = ("_logger",)

    def __init__(self, name: str) -> None:
        self._logger = logging.getLogger(name)

    def _emit(self, level: int, event: str, fields: dict[str, Any]) -> None:
        if self._logger.isEnabledFor(level):
            rendered = " ".join(f"{key}={value!r}" for key, value in fields.items())
            self._logger.log(level, "%s %s", event, rendered)

    def debug(self, event: str, **fields: Any) -> None:
        self._emit(logging.DEBUG, event, fields)

    def info(self, event: str, **fields: Any) -> None:
        self._emit(logging.INFO, event, fields)

    def warning(self, event: str, **fields: Any) -> None:
        self._emit(logging.WARNING, event, fields)

    def error(self, event: str, **fields: Any) -> None:
        self._emit(logging.ERROR, event, fields)

    def exception(self, event: str, **fields: Any) -> None:
        rendered = " ".join(f"{key}={value!r}" for key, value in fields.items())
        self._logger.exception("%s %s", event, rendered)


def get_logger(name: str) -> StructuredLogger:
    return StructuredLogger(name)
