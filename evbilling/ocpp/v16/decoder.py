"""Decode and validate OCPP-J 1.6 frames, fast and strictly (the CSMS side).

The ``ocpp`` library validates payloads with jsonschema's Draft4Validator in a thread pool
(slow), never checks ``format: date-time``, lets negative, larger-than-int64 and non-finite
numbers through, and drops unparseable frames without a CALLERROR. This module parses with
orjson, checks the frame structure, and validates each payload with the compiled and tightened
schemas of ``schemas.py`` (which lists the payload rules). It never accepts a payload the
OCPP 1.6 JSON schemas reject; it rejects more.

Frame rules (OCPP-J 1.6 §4):

============================================================  ============================
Problem                                                       Error code
============================================================  ============================
not JSON (syntax, invalid UTF-8, BOM, lone surrogate)         FormationViolation
literal ``NaN`` / ``Infinity`` / ``-Infinity`` (not JSON)     FormationViolation
a number beyond the double range (``1e999``)                  TypeConstraintViolation
not an array; unknown or non-integer MessageTypeId            FormationViolation
fewer elements than the PDU has ("incomplete")                ProtocolError
more elements than the PDU has                                FormationViolation
message id not a string, empty, or longer than 36 chars       FormationViolation (id "-1")
action not a string; payload not an object                    FormationViolation
action not in OCPP 1.6                                        NotSupported
OCPP 1.6 action the decoder does not handle                   NotImplemented
arrays / objects nested deeper than ``MAX_NESTING_DEPTH``     FormationViolation
U+0000 in a string or property name (StopTransaction: below)  PropertyConstraintViolation
============================================================  ============================

Decisions:

* When the message id cannot be read or is unusable (not a string, empty, over 36
  characters) the CALLERROR carries id ``"-1"`` (the OCPP 2.0.1 convention); an over-long
  id is not echoed or truncated, since a truncated id correlates with nothing.
* When orjson cannot parse a frame, the stdlib parser (with NaN/Infinity hooks) tries to
  recover the message id so the CALLERROR can still be correlated; ``details["field"]``
  then names the offending element.
* A rejected CALLRESULT or CALLERROR has ``answer=False``: OCPP-J answers only CALLs, so
  the caller logs it instead of sending a CALLERROR back.
* Payload keys stay camelCase as sent; the caller converts.
* A StopTransaction is exempt from the U+0000 rule: a refused stop is resent for ever and its
  session never closes, so the charging side takes it as it is (an idTag with U+0000 is
  answered Invalid and stored nowhere, a sampled value with it is unreadable evidence).
* Depth and U+0000 are checked on the parsed frame before anything else looks at it, but
  only when the raw text could hold them (more opening brackets than the depth limit, or a
  ``\\u0000`` escape: JSON cannot carry a raw NUL inside a string), so ordinary frames pay
  two C-speed scans of their text and no walk.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from typing import Any, Final

import orjson

from evbilling.ocpp.v16.frames import (
    ELEMENT_NAMES,
    FRAME_LENGTH,
    MAX_DESCRIPTION,
    MAX_MESSAGE_ID_LENGTH,
    MAX_NESTING_DEPTH,
    MESSAGE_TYPE_CALL,
    MESSAGE_TYPE_CALL_ERROR,
    MESSAGE_TYPE_CALL_RESULT,
    UNKNOWN_MESSAGE_ID,
    CallErrorFrame,
    CallFrame,
    CallResultFrame,
    DecodedFrame,
    ErrorCode,
    FrameRejected,
    UnknownAction,
    clip,
    clip_text,
    join_path,
    json_type,
    rejection,
)
from evbilling.ocpp.v16.schemas import (
    INBOUND_ACTIONS,
    OCPP16_ACTIONS,
    PayloadValidator,
    payload_validator,
)

__all__ = ["FrameDecoder", "decode_frame"]


class _NonFinite:
    """Stands in for NaN/Infinity or an overflowing number while locating it."""

    __slots__ = ("literal", "overflow")

    def __init__(self, literal: str, *, overflow: bool) -> None:
        self.literal = literal
        self.overflow = overflow


def _on_constant(literal: str) -> _NonFinite:
    return _NonFinite(literal, overflow=False)


def _on_float(literal: str) -> float | _NonFinite:
    number = float(literal)
    return number if math.isfinite(number) else _NonFinite(literal, overflow=True)


def _find_non_finite(node: Any, path: str) -> tuple[str, _NonFinite] | None:
    if isinstance(node, _NonFinite):
        return path, node
    children: Iterator[tuple[str, Any]]
    if isinstance(node, dict):
        children = ((join_path(path, key), child) for key, child in node.items())
    elif isinstance(node, list):
        children = ((f"{path}[{index}]", child) for index, child in enumerate(node))
    else:
        return None
    for child_path, child in children:
        found = _find_non_finite(child, child_path)
        if found is not None:
            return found
    return None


def _readable_id(frame: list[Any]) -> str:
    """The frame's message id if it is usable in an answer, else "-1"."""
    if len(frame) > 1:
        candidate = frame[1]
        if type(candidate) is str and 0 < len(candidate) <= MAX_MESSAGE_ID_LENGTH:
            return candidate
    return UNKNOWN_MESSAGE_ID


def _type_id_of(frame: list[Any]) -> int | None:
    type_id = frame[0] if frame else None
    return type_id if type(type_id) is int and type_id in FRAME_LENGTH else None


def _is_answered(frame: list[Any]) -> bool:
    # Only CALLs get a CALLERROR back; anything not recognisably a CALLRESULT/ERROR does.
    return _type_id_of(frame) not in (MESSAGE_TYPE_CALL_RESULT, MESSAGE_TYPE_CALL_ERROR)


def _element_path(frame: list[Any], path: str) -> str:
    """'[3].meterValue[0]' -> 'meterValue[0]' in a CALL payload; else a named element."""
    index_text, _, rest = path.removeprefix("[").partition("]")
    index = int(index_text)
    type_id = _type_id_of(frame)
    if type_id == MESSAGE_TYPE_CALL and index == 3 and rest.startswith("."):
        return rest.removeprefix(".")
    names = ELEMENT_NAMES.get(type_id or 0, ())
    return (names[index] if index < len(names) else f"frame[{index}]") + rest


def _unparseable(raw: str | bytes, error: orjson.JSONDecodeError) -> FrameRejected:
    """Reject a frame orjson refused; recover the id with the stdlib parser if possible."""
    reason = f"not valid JSON: {error}"
    try:
        text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
        frame = json.loads(text, parse_constant=_on_constant, parse_float=_on_float)
    except (ValueError, RecursionError):
        frame = None
    if not isinstance(frame, list):
        return rejection(
            ErrorCode.FORMATION_VIOLATION,
            None,
            reason[:MAX_DESCRIPTION],
            message_id=UNKNOWN_MESSAGE_ID,
            answer=True,
        )
    try:
        found = _find_non_finite(frame, "")
    except RecursionError:
        found = None
    code = ErrorCode.FORMATION_VIOLATION
    field = None
    if found is not None:
        path, marker = found
        field = _element_path(frame, path)
        if marker.overflow:
            code = ErrorCode.TYPE_CONSTRAINT_VIOLATION
            reason = f"number {clip(marker.literal)} is beyond the range of a double"
        else:
            reason = f"{marker.literal} is not a JSON value"
    return rejection(
        code, field, reason, message_id=_readable_id(frame), answer=_is_answered(frame)
    )


_MAX_FIELD_PATH: Final = 120


def _could_be_malformed(raw: str | bytes) -> tuple[bool, bool]:
    """(could be too deep, could hold U+0000), from the raw text alone."""
    if isinstance(raw, bytes):
        return raw.count(b"[") + raw.count(b"{") > MAX_NESTING_DEPTH, b"\\u0000" in raw
    return raw.count("[") + raw.count("{") > MAX_NESTING_DEPTH, "\\u0000" in raw


def _visible(text: str) -> str:
    return clip_text(text.replace("\x00", "\\u0000"))


def _structure_problem(frame: list[Any], *, nul: bool) -> tuple[str, ErrorCode, str] | None:
    """The first element nested too deep, or (when `nul`) the first string holding U+0000."""
    stack: list[tuple[Any, str, int]] = [(frame, "", 1)]
    while stack:
        node, path, depth = stack.pop()
        kind = type(node)
        if kind is dict or kind is list:
            if depth > MAX_NESTING_DEPTH:
                reason = f"nested deeper than {MAX_NESTING_DEPTH} levels"
                return path, ErrorCode.FORMATION_VIOLATION, reason
            if kind is list:
                for index, child in enumerate(node):
                    stack.append((child, f"{path}[{index}]", depth + 1))
                continue
            for key, child in node.items():
                if nul and "\x00" in key:
                    reason = "property names must not contain U+0000"
                    return (
                        join_path(path, _visible(key)),
                        ErrorCode.PROPERTY_CONSTRAINT_VIOLATION,
                        reason,
                    )
                stack.append((child, join_path(path, key), depth + 1))
        elif nul and kind is str and "\x00" in node:
            return path, ErrorCode.PROPERTY_CONSTRAINT_VIOLATION, "must not contain U+0000"
    return None


def _check_structure(raw: str | bytes, frame: list[Any]) -> None:
    deep, nul = _could_be_malformed(raw)
    nul = nul and not _stops_a_transaction(frame)
    if not (deep or nul):
        return
    problem = _structure_problem(frame, nul=nul)
    if problem is None:
        return
    path, code, reason = problem
    field = _element_path(frame, path)
    if len(field) > _MAX_FIELD_PATH:  # station-chosen keys, up to 32 levels of them
        field = field[: _MAX_FIELD_PATH - 3] + "..."
    raise rejection(
        code,
        field,
        reason,
        message_id=_readable_id(frame),
        answer=_is_answered(frame),
    )


def _stops_a_transaction(frame: list[Any]) -> bool:
    return len(frame) == 4 and frame[0] == 2 and frame[2] == "StopTransaction"


class FrameDecoder:
    """Decodes inbound OCPP-J 1.6 frames for a CSMS that handles ``handled_actions``.

    All request validators of the handled actions are compiled here, once.
    """

    __slots__ = ("_handled_actions", "_validators")

    def __init__(self, *, handled_actions: frozenset[str] = INBOUND_ACTIONS) -> None:
        not_inbound = sorted(handled_actions - INBOUND_ACTIONS)
        if not_inbound:
            raise UnknownAction(f"not actions a charge point sends in OCPP 1.6: {not_inbound}")
        self._handled_actions = frozenset(handled_actions)
        self._validators: dict[str, PayloadValidator] = {
            action: payload_validator(action) for action in handled_actions
        }

    @property
    def handled_actions(self) -> frozenset[str]:
        return self._handled_actions

    def decode(self, raw: str | bytes) -> DecodedFrame:
        """Parse and validate one frame; raises FrameRejected with the answer to send."""
        try:
            frame = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise _unparseable(raw, exc) from exc
        if type(frame) is not list:
            raise rejection(
                ErrorCode.FORMATION_VIOLATION,
                "frame",
                f"must be a JSON array, got {json_type(frame)}",
                message_id=UNKNOWN_MESSAGE_ID,
                answer=True,
            )
        _check_structure(raw, frame)
        type_id = self._message_type_id(frame)
        answer = type_id == MESSAGE_TYPE_CALL
        message_id = self._message_id(frame, answer=answer)
        self._check_length(frame, type_id=type_id, message_id=message_id, answer=answer)
        if type_id == MESSAGE_TYPE_CALL:
            return self._call(frame, message_id)
        if type_id == MESSAGE_TYPE_CALL_RESULT:
            payload = frame[2]
            if type(payload) is not dict:
                raise rejection(
                    ErrorCode.FORMATION_VIOLATION,
                    "payload",
                    f"must be a JSON object, got {json_type(payload)}",
                    message_id=message_id,
                    answer=False,
                )
            return CallResultFrame(message_id=message_id, payload=payload)
        return self._call_error(frame, message_id)

    @staticmethod
    def _message_type_id(frame: list[Any]) -> int:
        if not frame:
            raise rejection(
                ErrorCode.PROTOCOL_ERROR,
                "messageTypeId",
                "frame is empty",
                message_id=UNKNOWN_MESSAGE_ID,
                answer=True,
            )
        type_id = frame[0]
        if type(type_id) is int and type_id in FRAME_LENGTH:
            return type_id
        raise rejection(
            ErrorCode.FORMATION_VIOLATION,
            "messageTypeId",
            f"must be 2, 3 or 4, got {clip(type_id)}",
            message_id=_readable_id(frame),
            answer=True,
        )

    @staticmethod
    def _message_id(frame: list[Any], *, answer: bool) -> str:
        if len(frame) < 2:
            raise rejection(
                ErrorCode.PROTOCOL_ERROR,
                "messageId",
                "frame has no message id",
                message_id=UNKNOWN_MESSAGE_ID,
                answer=answer,
            )
        message_id = frame[1]
        if type(message_id) is not str:
            reason = f"must be a string, got {json_type(message_id)}"
        elif not 0 < len(message_id) <= MAX_MESSAGE_ID_LENGTH:
            reason = f"must be 1 to {MAX_MESSAGE_ID_LENGTH} characters, got {len(message_id)}"
        else:
            return message_id
        raise rejection(
            ErrorCode.FORMATION_VIOLATION,
            "messageId",
            reason,
            message_id=UNKNOWN_MESSAGE_ID,
            answer=answer,
        )

    @staticmethod
    def _check_length(frame: list[Any], *, type_id: int, message_id: str, answer: bool) -> None:
        expected = FRAME_LENGTH[type_id]
        if len(frame) == expected:
            return
        # Missing elements: the message is incomplete; extra ones: not the PDU structure.
        code = ErrorCode.PROTOCOL_ERROR if len(frame) < expected else ErrorCode.FORMATION_VIOLATION
        raise rejection(
            code,
            "frame",
            f"must have {expected} elements, got {len(frame)}",
            message_id=message_id,
            answer=answer,
        )

    def _call(self, frame: list[Any], message_id: str) -> CallFrame:
        action = frame[2]
        if type(action) is not str:
            raise rejection(
                ErrorCode.FORMATION_VIOLATION,
                "action",
                f"must be a string, got {json_type(action)}",
                message_id=message_id,
                answer=True,
            )
        validator = self._validators.get(action)
        if validator is None:
            raise self._unhandled(action, message_id)
        payload = validator.validate(frame[3], message_id=message_id, answer=True)
        return CallFrame(message_id=message_id, action=action, payload=payload)

    @staticmethod
    def _unhandled(action: str, message_id: str) -> FrameRejected:
        # Mirrors ocpp.charge_point._raise_key_error.
        if action in OCPP16_ACTIONS:
            code, reason = ErrorCode.NOT_IMPLEMENTED, f"no handler for {action} registered"
        else:
            code, reason = ErrorCode.NOT_SUPPORTED, f"{clip(action)} is not an OCPP 1.6 action"
        return rejection(code, "action", reason, message_id=message_id, answer=True)

    @staticmethod
    def _call_error(frame: list[Any], message_id: str) -> CallErrorFrame:
        code, description, details = frame[2], frame[3], frame[4]
        for field, value, wanted in (
            ("errorCode", code, str),
            ("errorDescription", description, str),
            ("errorDetails", details, dict),
        ):
            if type(value) is not wanted:
                raise rejection(
                    ErrorCode.FORMATION_VIOLATION,
                    field,
                    f"must be {'a string' if wanted is str else 'an object'}, "
                    f"got {json_type(value)}",
                    message_id=message_id,
                    answer=False,
                )
        return CallErrorFrame(
            message_id=message_id, code=code, description=description, details=details
        )


_DEFAULT_DECODER: Final = FrameDecoder()


def decode_frame(raw: str | bytes) -> DecodedFrame:
    """Decode one frame with a decoder that handles every inbound OCPP 1.6 action."""
    return _DEFAULT_DECODER.decode(raw)
