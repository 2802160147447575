"""Decode and validate OCPP-J 1.6 frames, fast and strictly (the CSMS side).

The ``ocpp`` library validates payloads with jsonschema's Draft4Validator in a thread pool
(slow), never checks ``format: date-time``, lets negative, larger-than-int64 and non-finite
numbers through, and drops unparseable frames without a CALLERROR. This module parses with
orjson, validates with fastjsonschema validators compiled once per action and direction
(draft-04 semantics for every 1.6 schema, also the security-extension ones that declare
draft-06), and adds the checks listed below. It never accepts a payload the OCPP 1.6 JSON
schemas reject; it rejects more.

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
============================================================  ============================

Payload rules (schema keyword or extra check -> code, following the §4 definitions):

============================================================  ============================
``type`` (bool is never an integer, 1.0 is not an integer)    TypeConstraintViolation
``format`` date-time (RFC 3339, zone optional = UTC)          TypeConstraintViolation
``format`` uri (locations we send; fastjsonschema's check)    TypeConstraintViolation
``maxLength`` (CiString20Type etc. are data types)            TypeConstraintViolation
integer outside signed int64                                  TypeConstraintViolation
``required`` ("payload for Action is incomplete")             ProtocolError
``additionalProperties`` (not the PDU structure)              FormationViolation
``minItems`` / ``maxItems`` (cardinality)                     OccurenceConstraintViolation
``enum``, ``multipleOf``                                      PropertyConstraintViolation
negative integer where OCPP 1.6 means a count, an id, a       PropertyConstraintViolation
register or a duration (``NON_NEGATIVE_INTEGER_FIELDS``)
Raw sampledValue.value not a finite decimal number            PropertyConstraintViolation
anything else the schema rejects (the library's default)      FormationViolation
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
* Raw sampled values must match ``[+-]?digits[.digits][e[+-]digits]`` in ASCII digits and
  be finite as a double: "NaN", "inf", "1e999", "", " 1", "1_000", "0x10" are rejected.
  SignedData values are opaque strings and are kept as sent.
* Payload keys stay camelCase as sent; the caller converts.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from pathlib import Path
from typing import Any, ClassVar, Final, TypeAlias

import fastjsonschema
import ocpp
import orjson
from ocpp import exceptions as ocpp_errors
from ocpp.v16.enums import Action

from evbilling.kit.clock import InvalidTimestamp, parse_utc_timestamp
from evbilling.kit.errors import EVBillingError

JsonObject: TypeAlias = dict[str, Any]

__all__ = [
    "INBOUND_ACTIONS",
    "NON_NEGATIVE_INTEGER_FIELDS",
    "OCPP16_ACTIONS",
    "SIGNED_INTEGER_FIELDS",
    "UNKNOWN_MESSAGE_ID",
    "CallErrorFrame",
    "CallFrame",
    "CallResultFrame",
    "DecodedFrame",
    "ErrorCode",
    "FrameDecoder",
    "FrameRejected",
    "JsonObject",
    "SchemaNotSupported",
    "UnknownAction",
    "call_error_json",
    "decode_frame",
    "to_ocpp_error",
    "validate_request",
    "validate_response",
]

UNKNOWN_MESSAGE_ID: Final = "-1"
MAX_MESSAGE_ID_LENGTH: Final = 36

OCPP16_ACTIONS: Final[frozenset[str]] = frozenset(action.value for action in Action)

# What a charge point sends to the central system (core profile + security whitepaper).
INBOUND_ACTIONS: Final[frozenset[str]] = frozenset(
    {
        "Authorize",
        "BootNotification",
        "DataTransfer",
        "DiagnosticsStatusNotification",
        "FirmwareStatusNotification",
        "Heartbeat",
        "LogStatusNotification",
        "MeterValues",
        "SecurityEventNotification",
        "SignCertificate",
        "SignedFirmwareStatusNotification",
        "StartTransaction",
        "StatusNotification",
        "StopTransaction",
    }
)

# Integer fields of the 1.6 schemas where a negative value has no meaning: connector 0 is
# the charge point itself, ids are issued by us or the station counting up, meter values
# are Wh registers, the rest are seconds, retries, phases and stack levels (spec: >= 0).
NON_NEGATIVE_INTEGER_FIELDS: Final[frozenset[str]] = frozenset(
    {
        "chargingProfileId",
        "connectorId",
        "duration",
        "id",
        "interval",
        "meterStart",
        "meterStop",
        "numberPhases",
        "requestId",
        "reservationId",
        "retries",
        "retryInterval",
        "stackLevel",
        "startPeriod",
        "transactionId",
    }
)
# GetLocalListVersion.conf uses listVersion -1 for "no local list support".
SIGNED_INTEGER_FIELDS: Final[frozenset[str]] = frozenset({"listVersion"})

_INT64_MIN: Final = -(2**63)
_INT64_MAX: Final = 2**63 - 1
_DRAFT_04: Final = "http://json-schema.org/draft-04/schema#"
_SCHEMA_DIR: Final = Path(ocpp.__file__).parent / "v16" / "schemas"
_CLIP: Final = 40
_MAX_DESCRIPTION: Final = 255  # errorDescription is a string[0..255] in OCPP 2.0.1

_MESSAGE_TYPE_CALL: Final = 2
_MESSAGE_TYPE_CALL_RESULT: Final = 3
_MESSAGE_TYPE_CALL_ERROR: Final = 4
# PDU lengths per MessageTypeId and the names of their elements, for error details.
_FRAME_LENGTH: Final = {2: 4, 3: 3, 4: 5}
_ELEMENT_NAMES: Final = {
    2: ("messageTypeId", "messageId", "action", "payload"),
    3: ("messageTypeId", "messageId", "payload"),
    4: ("messageTypeId", "messageId", "errorCode", "errorDescription", "errorDetails"),
}


class ErrorCode(StrEnum):
    """The OCPP 1.6 CALLERROR codes (1.6 spellings: FormationViolation, Occurence...)."""

    FORMATION_VIOLATION = "FormationViolation"
    PROTOCOL_ERROR = "ProtocolError"
    TYPE_CONSTRAINT_VIOLATION = "TypeConstraintViolation"
    PROPERTY_CONSTRAINT_VIOLATION = "PropertyConstraintViolation"
    OCCURENCE_CONSTRAINT_VIOLATION = "OccurenceConstraintViolation"
    NOT_IMPLEMENTED = "NotImplemented"
    NOT_SUPPORTED = "NotSupported"
    GENERIC_ERROR = "GenericError"
    # Never produced by the decoder; here so one serialiser answers every failure.
    INTERNAL_ERROR = "InternalError"
    SECURITY_ERROR = "SecurityError"


_OCPP_ERRORS: Final[dict[ErrorCode, type[ocpp_errors.OCPPError]]] = {
    ErrorCode.FORMATION_VIOLATION: ocpp_errors.FormationViolationError,
    ErrorCode.PROTOCOL_ERROR: ocpp_errors.ProtocolError,
    ErrorCode.TYPE_CONSTRAINT_VIOLATION: ocpp_errors.TypeConstraintViolationError,
    ErrorCode.PROPERTY_CONSTRAINT_VIOLATION: ocpp_errors.PropertyConstraintViolationError,
    ErrorCode.OCCURENCE_CONSTRAINT_VIOLATION: ocpp_errors.OccurenceConstraintViolationError,
    ErrorCode.NOT_IMPLEMENTED: ocpp_errors.NotImplementedError,
    ErrorCode.NOT_SUPPORTED: ocpp_errors.NotSupportedError,
    ErrorCode.GENERIC_ERROR: ocpp_errors.GenericError,
    ErrorCode.INTERNAL_ERROR: ocpp_errors.InternalError,
    ErrorCode.SECURITY_ERROR: ocpp_errors.SecurityError,
}


class FrameRejected(EVBillingError):
    """A frame or payload breaks OCPP 1.6; carries what the CALLERROR must say.

    ``answer`` is False when the frame was a CALLRESULT / CALLERROR (or a payload we
    validate ourselves): those are logged, never answered.
    """

    def __init__(
        self,
        *,
        message_id: str,
        code: ErrorCode,
        description: str,
        details: JsonObject,
        answer: bool = True,
    ) -> None:
        super().__init__(f"{code}: {description}")
        self.message_id = message_id
        self.code = code
        self.description = description
        self.details = details
        self.answer = answer


class UnknownAction(EVBillingError, ValueError):
    """An action name is not an OCPP 1.6 action (a programming error on our side)."""


class SchemaNotSupported(EVBillingError):
    """An OCPP schema uses something this module does not know how to tighten."""


@dataclass(frozen=True, slots=True)
class CallFrame:
    message_type_id: ClassVar[int] = _MESSAGE_TYPE_CALL
    message_id: str
    action: str
    payload: JsonObject


@dataclass(frozen=True, slots=True)
class CallResultFrame:
    """A CALLRESULT; its payload is validated by the caller, who knows the action."""

    message_type_id: ClassVar[int] = _MESSAGE_TYPE_CALL_RESULT
    message_id: str
    payload: JsonObject


@dataclass(frozen=True, slots=True)
class CallErrorFrame:
    """A CALLERROR; ``code`` is kept as sent (stations also use 2.0.1 spellings)."""

    message_type_id: ClassVar[int] = _MESSAGE_TYPE_CALL_ERROR
    message_id: str
    code: str
    description: str
    details: JsonObject


DecodedFrame: TypeAlias = CallFrame | CallResultFrame | CallErrorFrame


def to_ocpp_error(rejected: FrameRejected) -> ocpp_errors.OCPPError:
    """The ``ocpp`` library exception for a rejection (for code built on its ChargePoint)."""
    error: ocpp_errors.OCPPError = _OCPP_ERRORS[rejected.code](
        description=rejected.description, details=rejected.details
    )
    return error


def call_error_json(rejected: FrameRejected) -> str:
    """The CALLERROR frame ``[4, id, code, description, details]`` answering a rejection."""
    frame = [
        _MESSAGE_TYPE_CALL_ERROR,
        rejected.message_id,
        rejected.code.value,
        rejected.description,
        rejected.details,
    ]
    return orjson.dumps(frame).decode()


# ---------------------------------------------------------------------------------------
# Compiling validators
# ---------------------------------------------------------------------------------------


def _is_rfc3339(text: str) -> bool:
    # parse_utc_timestamp's regex matches Unicode digits and a trailing newline ('$'), and
    # year 1 / 9999 with an offset overflows while converting to UTC: guard all three.
    if not text.isascii() or text.endswith("\n"):
        return False
    try:
        parse_utc_timestamp(text)
    except (InvalidTimestamp, ValueError, OverflowError):
        return False
    return True


# The 1.6 schemas use date-time and uri; uri (locations we send) keeps fastjsonschema's regex.
_FORMATS: Final[dict[str, Callable[[str], bool]]] = {"date-time": _is_rfc3339}
_ENUM_FORMAT: Final = "enum:"  # prefix of the formats standing in for string enums

# A step in a path through a payload: a property name, or None for "every array item".
_Step: TypeAlias = str | None


@dataclass(frozen=True, slots=True)
class _PayloadValidator:
    schema_check: Callable[[Any], Any]
    # Paths to SampledValue objects, whose Raw value must be a finite decimal number.
    sampled_value_paths: tuple[tuple[_Step, ...], ...]

    def validate(self, payload: object, *, message_id: str, answer: bool) -> JsonObject:
        if not isinstance(payload, dict):
            raise _rejected(
                ErrorCode.FORMATION_VIOLATION,
                "payload",
                f"must be a JSON object, got {_json_type(payload)}",
                message_id=message_id,
                answer=answer,
            )
        try:
            self.schema_check(payload)
        except fastjsonschema.JsonSchemaValueException as exc:
            raise _schema_rejection(exc, message_id=message_id, answer=answer) from exc
        for steps in self.sampled_value_paths:
            _check_sampled_values(payload, steps, message_id=message_id, answer=answer)
        return payload


def _subschemas(node: Any, *, name: str | None) -> Iterator[tuple[JsonObject, str | None]]:
    """Every schema node with the property name it describes (None when not a property)."""
    if not isinstance(node, dict):
        return
    yield node, name
    for prop, sub in node.get("properties", {}).items():
        yield from _subschemas(sub, name=prop)
    yield from _subschemas(node.get("items"), name=name)
    for sub in node.get("definitions", {}).values():
        yield from _subschemas(sub, name=None)


def _tighten(schema: JsonObject) -> dict[str, Callable[[str], bool]]:
    """Rewrite a schema (in place) for speed and strictness; returns the formats it uses.

    Integers get int64 bounds and, where negatives mean nothing, a minimum of 0. String
    enums become a format backed by a frozenset (fastjsonschema tests an enum with a chain
    of comparisons), and the schemas' no-op ``additionalProperties`` on strings goes.
    """
    formats = dict(_FORMATS)
    for node, name in list(_subschemas(schema, name=None)):
        kind = node.get("type")
        if kind == "integer":
            if name in NON_NEGATIVE_INTEGER_FIELDS:
                node["minimum"] = 0
            elif name in SIGNED_INTEGER_FIELDS:
                node["minimum"] = _INT64_MIN
            else:
                raise SchemaNotSupported(f"integer field {name!r} is not classified as signed")
            node["maximum"] = _INT64_MAX
        elif kind == "string":
            node.pop("additionalProperties", None)
            enum = node.get("enum")
            if enum is not None and "format" not in node and all(type(v) is str for v in enum):
                del node["enum"]
                node["format"] = f"{_ENUM_FORMAT}{len(formats)}"
                formats[node["format"]] = frozenset(enum).__contains__
    return formats


def _sampled_value_paths(node: Any, prefix: tuple[_Step, ...] = ()) -> Iterator[tuple[_Step, ...]]:
    """Where the schema has SampledValue objects (value + format enum with SignedData)."""
    if not isinstance(node, dict):
        return
    properties = node.get("properties", {})
    if "SignedData" in properties.get("format", {}).get("enum", ()) and "value" in properties:
        yield prefix
        return
    for prop, sub in properties.items():
        yield from _sampled_value_paths(sub, (*prefix, prop))
    if isinstance(node.get("items"), dict):
        yield from _sampled_value_paths(node["items"], (*prefix, None))


@cache
def _payload_validator(schema_name: str) -> _PayloadValidator:
    """Compile a 1.6 schema once; cached by schema name, i.e. per action and direction."""
    text = (_SCHEMA_DIR / f"{schema_name}.json").read_text(encoding="utf-8-sig")
    schema = json.loads(text)
    # The security-extension schemas declare draft-06 (where 1.0 is an integer); the
    # library validates all of them as draft-04, so do we, never being looser.
    schema["$schema"] = _DRAFT_04
    sampled_value_paths = tuple(_sampled_value_paths(schema))
    formats = _tighten(schema)
    return _PayloadValidator(
        schema_check=fastjsonschema.compile(schema, formats=formats),
        sampled_value_paths=sampled_value_paths,
    )


def _known_action(action: str) -> str:
    if action not in OCPP16_ACTIONS:
        raise UnknownAction(f"{action!r} is not an OCPP 1.6 action")
    return action


def validate_request(*, action: str, payload: object) -> JsonObject:
    """Validate a CALL payload (e.g. one we send to a station); raises FrameRejected."""
    validator = _payload_validator(_known_action(action))
    return validator.validate(payload, message_id=UNKNOWN_MESSAGE_ID, answer=False)


def validate_response(*, action: str, payload: object) -> JsonObject:
    """Validate a CALLRESULT payload we send or receive; raises FrameRejected."""
    validator = _payload_validator(_known_action(action) + "Response")
    return validator.validate(payload, message_id=UNKNOWN_MESSAGE_ID, answer=False)


# ---------------------------------------------------------------------------------------
# Checks beyond the schema and error mapping
# ---------------------------------------------------------------------------------------

_RAW_DECIMAL: Final = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


def _nodes_at(payload: JsonObject, steps: tuple[_Step, ...]) -> list[Any]:
    # The schema already proved the shape; optional properties may be absent.
    nodes: list[Any] = [payload]
    for step in steps:
        if step is None:
            nodes = [item for node in nodes for item in node]
        else:
            nodes = [node[step] for node in nodes if step in node]
    return nodes


def _path_to(node: Any, target: object, path: str) -> str | None:
    """The path of ``target`` inside ``node`` (error path only, so it may be slow)."""
    if node is target:
        return path
    children: Iterator[tuple[str, Any]]
    if isinstance(node, dict):
        children = ((_join(path, key), child) for key, child in node.items())
    elif isinstance(node, list):
        children = ((f"{path}[{index}]", child) for index, child in enumerate(node))
    else:
        return None
    for child_path, child in children:
        found = _path_to(child, target, child_path)
        if found is not None:
            return found
    return None


def _check_sampled_values(
    payload: JsonObject, steps: tuple[_Step, ...], *, message_id: str, answer: bool
) -> None:
    for sampled in _nodes_at(payload, steps):
        if sampled.get("format", "Raw") != "Raw":
            continue
        value = sampled["value"]
        if _RAW_DECIMAL.fullmatch(value) is None or not math.isfinite(float(value)):
            raise _rejected(
                ErrorCode.PROPERTY_CONSTRAINT_VIOLATION,
                f"{_path_to(payload, sampled, '')}.value",
                f"a Raw value must be a finite decimal number, got {_clip(value)}",
                message_id=message_id,
                answer=answer,
            )


def _clip(value: object) -> str:
    """Station-controlled text reflected in an answer, bounded."""
    if isinstance(value, int) and value.bit_length() > 128:
        # repr() of a huge int is slow and, past 4300 digits, raises ValueError.
        return f"a {value.bit_length()}-bit integer"
    return _clip_text(repr(value))


def _clip_text(text: str) -> str:
    return text if len(text) <= _CLIP else text[: _CLIP - 3] + "..."


def _json_type(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _rejected(
    code: ErrorCode, field: str | None, reason: str, *, message_id: str, answer: bool
) -> FrameRejected:
    details: JsonObject = {"field": field, "reason": reason} if field else {"reason": reason}
    description = f"{field}: {reason}" if field else reason
    return FrameRejected(
        message_id=message_id,
        code=code,
        description=description[:_MAX_DESCRIPTION],
        details=details,
        answer=answer,
    )


def _schema_rejection(
    exc: fastjsonschema.JsonSchemaValueException, *, message_id: str, answer: bool
) -> FrameRejected:
    name: str = exc.name or "data"
    path = name[5:] if name.startswith("data.") else name.removeprefix("data")
    rule: str | None = exc.rule
    definition: JsonObject = exc.definition if isinstance(exc.definition, dict) else {}
    value: Any = exc.value
    code = ErrorCode.FORMATION_VIOLATION
    reason = f"breaks the OCPP 1.6 schema ({rule})"
    if rule == "type":
        code = ErrorCode.TYPE_CONSTRAINT_VIOLATION
        reason = f"must be {definition.get('type')}, got {_json_type(value)}"
    elif rule == "format" and str(definition.get("format")).startswith(_ENUM_FORMAT):
        code = ErrorCode.PROPERTY_CONSTRAINT_VIOLATION
        reason = f"{_clip(value)} is not one of the OCPP 1.6 values"
    elif rule == "format":
        code = ErrorCode.TYPE_CONSTRAINT_VIOLATION
        fmt = definition.get("format")
        wanted = "an RFC 3339 date-time" if fmt == "date-time" else f"a {fmt}"
        reason = f"must be {wanted}, got {_clip(value)}"
    elif rule == "maxLength":
        code = ErrorCode.TYPE_CONSTRAINT_VIOLATION
        reason = f"must be at most {definition['maxLength']} characters, got {len(value)}"
    elif rule == "enum":
        code = ErrorCode.PROPERTY_CONSTRAINT_VIOLATION
        reason = f"{_clip(value)} is not one of the OCPP 1.6 values"
    elif rule == "multipleOf":
        code = ErrorCode.PROPERTY_CONSTRAINT_VIOLATION
        reason = f"must be a multiple of {definition['multipleOf']}, got {_clip(value)}"
    elif rule == "minimum" and definition.get("minimum") == 0:
        code = ErrorCode.PROPERTY_CONSTRAINT_VIOLATION
        reason = f"must not be negative, got {_clip(value)}"
    elif rule in ("minimum", "maximum"):
        code = ErrorCode.TYPE_CONSTRAINT_VIOLATION
        reason = f"must be a signed 64-bit integer, got {_clip(value)}"
    elif rule == "required":
        code = ErrorCode.PROTOCOL_ERROR
        missing = sorted(set(definition.get("required", ())) - set(value))
        path = _join(path, missing[0] if missing else "?")
        reason = "required property is missing"
    elif rule == "additionalProperties":
        extra = sorted(set(value) - set(definition.get("properties", {})))
        path = _join(path, _clip_text(extra[0]) if extra else "?")
        reason = "property is not defined by the OCPP 1.6 schema"
    elif rule in ("minItems", "maxItems"):
        code = ErrorCode.OCCURENCE_CONSTRAINT_VIOLATION
        bound = "at least" if rule == "minItems" else "at most"
        reason = f"must have {bound} {definition[rule]} items, got {len(value)}"
    return _rejected(code, path or "payload", reason, message_id=message_id, answer=answer)


# ---------------------------------------------------------------------------------------
# Decoding frames
# ---------------------------------------------------------------------------------------


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
        children = ((_join(path, key), child) for key, child in node.items())
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
    return type_id if type(type_id) is int and type_id in _FRAME_LENGTH else None


def _is_answered(frame: list[Any]) -> bool:
    # Only CALLs get a CALLERROR back; anything not recognisably a CALLRESULT/ERROR does.
    return _type_id_of(frame) not in (_MESSAGE_TYPE_CALL_RESULT, _MESSAGE_TYPE_CALL_ERROR)


def _element_path(frame: list[Any], path: str) -> str:
    """'[3].meterValue[0]' -> 'meterValue[0]' in a CALL payload; else a named element."""
    index_text, _, rest = path.removeprefix("[").partition("]")
    index = int(index_text)
    type_id = _type_id_of(frame)
    if type_id == _MESSAGE_TYPE_CALL and index == 3 and rest:
        return rest.removeprefix(".")
    names = _ELEMENT_NAMES.get(type_id or 0, ())
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
        return _rejected(
            ErrorCode.FORMATION_VIOLATION,
            None,
            reason[:_MAX_DESCRIPTION],
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
            reason = f"number {_clip(marker.literal)} is beyond the range of a double"
        else:
            reason = f"{marker.literal} is not a JSON value"
    return _rejected(
        code, field, reason, message_id=_readable_id(frame), answer=_is_answered(frame)
    )


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
        self._validators: dict[str, _PayloadValidator] = {
            action: _payload_validator(action) for action in handled_actions
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
            raise _rejected(
                ErrorCode.FORMATION_VIOLATION,
                "frame",
                f"must be a JSON array, got {_json_type(frame)}",
                message_id=UNKNOWN_MESSAGE_ID,
                answer=True,
            )
        type_id = self._message_type_id(frame)
        answer = type_id == _MESSAGE_TYPE_CALL
        message_id = self._message_id(frame, answer=answer)
        self._check_length(frame, type_id=type_id, message_id=message_id, answer=answer)
        if type_id == _MESSAGE_TYPE_CALL:
            return self._call(frame, message_id)
        if type_id == _MESSAGE_TYPE_CALL_RESULT:
            payload = frame[2]
            if type(payload) is not dict:
                raise _rejected(
                    ErrorCode.FORMATION_VIOLATION,
                    "payload",
                    f"must be a JSON object, got {_json_type(payload)}",
                    message_id=message_id,
                    answer=False,
                )
            return CallResultFrame(message_id=message_id, payload=payload)
        return self._call_error(frame, message_id)

    @staticmethod
    def _message_type_id(frame: list[Any]) -> int:
        if not frame:
            raise _rejected(
                ErrorCode.PROTOCOL_ERROR,
                "messageTypeId",
                "frame is empty",
                message_id=UNKNOWN_MESSAGE_ID,
                answer=True,
            )
        type_id = frame[0]
        if type(type_id) is int and type_id in _FRAME_LENGTH:
            return type_id
        raise _rejected(
            ErrorCode.FORMATION_VIOLATION,
            "messageTypeId",
            f"must be 2, 3 or 4, got {_clip(type_id)}",
            message_id=_readable_id(frame),
            answer=True,
        )

    @staticmethod
    def _message_id(frame: list[Any], *, answer: bool) -> str:
        if len(frame) < 2:
            raise _rejected(
                ErrorCode.PROTOCOL_ERROR,
                "messageId",
                "frame has no message id",
                message_id=UNKNOWN_MESSAGE_ID,
                answer=answer,
            )
        message_id = frame[1]
        if type(message_id) is not str:
            reason = f"must be a string, got {_json_type(message_id)}"
        elif not 0 < len(message_id) <= MAX_MESSAGE_ID_LENGTH:
            reason = f"must be 1 to {MAX_MESSAGE_ID_LENGTH} characters, got {len(message_id)}"
        else:
            return message_id
        raise _rejected(
            ErrorCode.FORMATION_VIOLATION,
            "messageId",
            reason,
            message_id=UNKNOWN_MESSAGE_ID,
            answer=answer,
        )

    @staticmethod
    def _check_length(frame: list[Any], *, type_id: int, message_id: str, answer: bool) -> None:
        expected = _FRAME_LENGTH[type_id]
        if len(frame) == expected:
            return
        # Missing elements: the message is incomplete; extra ones: not the PDU structure.
        code = ErrorCode.PROTOCOL_ERROR if len(frame) < expected else ErrorCode.FORMATION_VIOLATION
        raise _rejected(
            code,
            "frame",
            f"must have {expected} elements, got {len(frame)}",
            message_id=message_id,
            answer=answer,
        )

    def _call(self, frame: list[Any], message_id: str) -> CallFrame:
        action = frame[2]
        if type(action) is not str:
            raise _rejected(
                ErrorCode.FORMATION_VIOLATION,
                "action",
                f"must be a string, got {_json_type(action)}",
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
            code, reason = ErrorCode.NOT_SUPPORTED, f"{_clip(action)} is not an OCPP 1.6 action"
        return _rejected(code, "action", reason, message_id=message_id, answer=True)

    @staticmethod
    def _call_error(frame: list[Any], message_id: str) -> CallErrorFrame:
        code, description, details = frame[2], frame[3], frame[4]
        for field, value, wanted in (
            ("errorCode", code, str),
            ("errorDescription", description, str),
            ("errorDetails", details, dict),
        ):
            if type(value) is not wanted:
                raise _rejected(
                    ErrorCode.FORMATION_VIOLATION,
                    field,
                    f"must be {'a string' if wanted is str else 'an object'}, "
                    f"got {_json_type(value)}",
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
