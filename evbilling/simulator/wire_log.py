"""Logging the frames the ocpp library logs: RFID idTags in them are pseudonymized."""

from __future__ import annotations

import logging
import re

from evbilling.infra.logging import pseudonymize

ID_TAG_IN_FRAME = re.compile(
    r"""(["'](?:parentIdTag|idTag|parent_id_tag|id_tag)["']\s*:\s*["'])([^"']*)"""
)


def redact_id_tags(text: str) -> str:
    return ID_TAG_IN_FRAME.sub(lambda m: m.group(1) + pseudonymize(m.group(2)), text)


class WireLogger:
    """The ocpp library logs every frame at INFO, and frames carry RFID idTags: re-log them at
    DEBUG with the tags pseudonymized; warnings and errors keep their level."""

    __slots__ = ("_logger",)

    def __init__(self) -> None:
        self._logger = logging.getLogger(__name__)

    def _log(self, level: int, msg: object, args: tuple[object, ...], exc_info: bool) -> None:
        if not self._logger.isEnabledFor(level):
            return
        try:
            text = str(msg) % args if args else str(msg)
        except (TypeError, ValueError):
            text = " ".join(str(part) for part in (msg, *args))
        self._logger.log(level, "%s", redact_id_tags(text), exc_info=exc_info)

    def debug(self, msg: object, *args: object, **_: object) -> None:
        self._log(logging.DEBUG, msg, args, False)

    def info(self, msg: object, *args: object, **_: object) -> None:
        self._log(logging.DEBUG, msg, args, False)

    def warning(self, msg: object, *args: object, **_: object) -> None:
        self._log(logging.WARNING, msg, args, False)

    def error(self, msg: object, *args: object, **_: object) -> None:
        self._log(logging.ERROR, msg, args, False)

    def exception(self, msg: object, *args: object, **_: object) -> None:
        self._log(logging.ERROR, msg, args, True)


WIRE_LOGGER = WireLogger()
