"""Structured logs through structlog: one event name plus fields.

Every line goes through the same processors: context bound for the current request or
station connection (contextvars), then pseudonymization of personal data: the values of
fields named in `PERSONAL_FIELDS` (RFID UIDs, e-mail addresses, client addresses) become
short keyed hashes, so lines can be correlated within a deployment's logs but never
reversed. `configure_logging` (called by `main.py` with the settings) picks JSON lines when
the output is not a terminal and readable lines when it is. Records go through the standard
`logging` module, so its handlers, levels and pytest's capture all see them.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import sys
from typing import Any

import structlog
from structlog.typing import EventDict, WrappedLogger

PERSONAL_FIELDS = frozenset(
    {"id_tag", "parent_id_tag", "uid", "token_uid", "email", "address", "client", "peer"}
)


class _Pseudonyms:
    """The key pseudonyms are made with: random per process unless configured."""

    key: bytes = secrets.token_bytes(16)


def pseudonymize(value: str) -> str:
    """A short keyed hash standing in for an RFID UID, e-mail or client address in logs."""
    digest = hmac.new(_Pseudonyms.key, value.strip().upper().encode(), hashlib.sha256)
    return "p:" + digest.hexdigest()[:12]


def _pseudonymize_personal_fields(_: WrappedLogger, __: str, event_dict: EventDict) -> EventDict:
    for name in PERSONAL_FIELDS.intersection(event_dict):
        value = event_dict[name]
        if value is not None and not (isinstance(value, str) and value.startswith("p:")):
            event_dict[name] = pseudonymize(str(value))
    return event_dict


_SHARED: list[Any] = [
    structlog.contextvars.merge_contextvars,
    structlog.stdlib.add_log_level,
    _pseudonymize_personal_fields,
]

# Until `configure_logging` runs (tests, library use), each record's message is the event and
# its fields as key=value text.
structlog.configure(
    processors=[*_SHARED, structlog.processors.KeyValueRenderer(key_order=["event"])],
    logger_factory=structlog.stdlib.LoggerFactory(),
    wrapper_class=structlog.stdlib.BoundLogger,
    cache_logger_on_first_use=False,
)


def get_logger(name: str) -> structlog.stdlib.BoundLogger:
    logger: structlog.stdlib.BoundLogger = structlog.stdlib.get_logger(name)
    return logger


def bind_request(**fields: Any) -> None:
    """Bind fields (request id, station) to every line logged by the current task."""
    structlog.contextvars.bind_contextvars(**fields)


def unbind_request() -> None:
    structlog.contextvars.clear_contextvars()


def configure_logging(
    *, level: str, pseudonym_key: bytes | None, json_lines: bool | None = None
) -> None:
    """Route structlog and the standard library's loggers to stderr as JSON lines (or as
    readable lines on a terminal). `pseudonym_key`: None keeps the random per-process key."""
    if pseudonym_key:
        _Pseudonyms.key = pseudonym_key
    as_json = (not sys.stderr.isatty()) if json_lines is None else json_lines
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if as_json
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    timestamper = structlog.processors.TimeStamper(fmt="iso", utc=True)
    structlog.configure(
        processors=[
            *_SHARED,
            timestamper,
            structlog.processors.format_exc_info,
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        # Lines from other libraries (uvicorn, alembic) get the same shape.
        foreign_pre_chain=[*_SHARED, structlog.stdlib.add_logger_name, timestamper],
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
    )
    handler = logging.StreamHandler()
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    logging.getLogger("ocpp").setLevel(logging.WARNING)
    # uvicorn writes each WebSocket's client address into its message text, out of reach of
    # the pseudonymizing processor; the gateway logs connections with pseudonyms instead.
    if logging.getLevelName(level.upper()) != logging.DEBUG:
        logging.getLogger("uvicorn.error").setLevel(logging.WARNING)
