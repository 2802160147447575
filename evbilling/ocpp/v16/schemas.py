"""The OCPP 1.6 JSON schemas, compiled once per action and direction, and tightened.

Payload rules (schema keyword or extra check -> code, following the OCPP-J 1.6 §4 definitions):

============================================================  ============================
``type`` (bool is never an integer, 1.0 is not an integer)    TypeConstraintViolation
``format`` date-time (RFC 3339, zone optional = UTC)          TypeConstraintViolation
``format`` uri (locations we send; fastjsonschema's check)    TypeConstraintViolation
``maxLength`` (CiString20Type etc. are data types)            TypeConstraintViolation
integer outside signed int32 (int64 for the Wh registers)    TypeConstraintViolation
``required`` ("payload for Action is incomplete")             ProtocolError
``additionalProperties`` (not the PDU structure)              FormationViolation
``minItems`` / ``maxItems`` (cardinality)                     OccurenceConstraintViolation
``enum``, ``multipleOf``                                      PropertyConstraintViolation
charging rate beyond ±1e9 (``MAX_CHARGING_NUMBER``)           PropertyConstraintViolation
negative integer where OCPP 1.6 means a count, an id, a       PropertyConstraintViolation
register or a duration (``NON_NEGATIVE_INTEGER_FIELDS``)
Raw sampledValue.value not a finite decimal number            PropertyConstraintViolation
anything else the schema rejects (the library's default)      FormationViolation
============================================================  ============================

OCPP 1.6 defines its integers as 32-bit; ids, connector numbers, counts and seconds are
held to that (they are 32-bit columns, and chargers keep them in 32 bits), while
``meterStart`` / ``meterStop`` may use the whole signed 64-bit range, so that an absurd
register reaches the evidence checks instead of being refused (``WIDE_INTEGER_FIELDS``).

Validators are fastjsonschema functions (draft-04 semantics for every 1.6 schema, also the
security-extension ones that declare draft-06). Nothing the OCPP 1.6 JSON schemas reject is
ever accepted; more is rejected. Raw sampled values must match
``[+-]?digits[.digits][e[+-]digits]`` in ASCII digits and be finite as a double: "NaN",
"inf", "1e999", "", " 1", "1_000", "0x10" are rejected. SignedData values are opaque strings
and are kept as sent.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Final, TypeAlias

import fastjsonschema
import ocpp
from ocpp.v16.enums import Action

from evbilling.kit.clock import InvalidTimestamp, parse_utc_timestamp
from evbilling.ocpp.v16.frames import (
    UNKNOWN_MESSAGE_ID,
    ErrorCode,
    FrameRejected,
    JsonObject,
    SchemaNotSupported,
    UnknownAction,
    clip,
    clip_text,
    join_path,
    json_type,
    rejection,
)

__all__ = [
    "INBOUND_ACTIONS",
    "NON_NEGATIVE_INTEGER_FIELDS",
    "OCPP16_ACTIONS",
    "SIGNED_INTEGER_FIELDS",
    "WIDE_INTEGER_FIELDS",
    "PayloadValidator",
    "integer_bounds",
    "payload_validator",
    "validate_request",
    "validate_response",
]

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
# Wh registers: 64-bit columns; every other integer is OCPP 1.6's 32-bit integer.
WIDE_INTEGER_FIELDS: Final[frozenset[str]] = frozenset({"meterStart", "meterStop"})

_INT32_MAX: Final = 2**31 - 1
# The magnitude of a charging rate (limit, minChargingRate): 1 GW or 1 GA, far beyond any EVSE.
MAX_CHARGING_NUMBER: Final = 1_000_000_000
_INT64_MAX: Final = 2**63 - 1
_DRAFT_04: Final = "http://json-schema.org/draft-04/schema#"
_SCHEMA_DIR: Final = Path(ocpp.__file__).parent / "v16" / "schemas"


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


def integer_bounds(name: str | None) -> tuple[int, int]:
    """The accepted range of the integer property `name` (our tightening of the schemas)."""
    if name in NON_NEGATIVE_INTEGER_FIELDS:
        low = 0
    elif name in SIGNED_INTEGER_FIELDS:
        low = None
    else:
        raise SchemaNotSupported(f"integer field {name!r} is not classified as signed")
    high = _INT64_MAX if name in WIDE_INTEGER_FIELDS else _INT32_MAX
    return (-high - 1 if low is None else low), high


def _integer_bits(maximum: object) -> int:
    return 64 if maximum == _INT64_MAX else 32


@dataclass(frozen=True, slots=True)
class PayloadValidator:
    schema_check: Callable[[Any], Any]
    # Paths to SampledValue objects, whose Raw value must be a finite decimal number.
    sampled_value_paths: tuple[tuple[_Step, ...], ...]

    def validate(self, payload: object, *, message_id: str, answer: bool) -> JsonObject:
        if not isinstance(payload, dict):
            raise rejection(
                ErrorCode.FORMATION_VIOLATION,
                "payload",
                f"must be a JSON object, got {json_type(payload)}",
                message_id=message_id,
                answer=answer,
            )
        try:
            self.schema_check(payload)
        except fastjsonschema.JsonSchemaValueException as exc:
            raise schema_rejection(exc, message_id=message_id, answer=answer) from exc
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

    Integers get int32 bounds (int64 for registers) and, where negatives mean nothing, a
    minimum of 0; charging rates (numbers with a multipleOf) at most MAX_CHARGING_NUMBER. String
    enums become a format backed by a frozenset (fastjsonschema tests an enum with a chain
    of comparisons), and the schemas' no-op ``additionalProperties`` on strings goes.
    """
    formats = dict(_FORMATS)
    for node, name in list(_subschemas(schema, name=None)):
        kind = node.get("type")
        if kind == "integer":
            node["minimum"], node["maximum"] = integer_bounds(name)
        elif kind == "number" and "multipleOf" in node:
            # Charging limits (A or W, one decimal): beyond this no EVSE draws, and a
            # multipleOf check on a value like 1e300 overflows decimal arithmetic.
            node["minimum"] = max(node.get("minimum", -MAX_CHARGING_NUMBER), -MAX_CHARGING_NUMBER)
            node["maximum"] = min(node.get("maximum", MAX_CHARGING_NUMBER), MAX_CHARGING_NUMBER)
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
def payload_validator(schema_name: str) -> PayloadValidator:
    """Compile a 1.6 schema once; cached by schema name, i.e. per action and direction."""
    text = (_SCHEMA_DIR / f"{schema_name}.json").read_text(encoding="utf-8-sig")
    schema = json.loads(text)
    # The security-extension schemas declare draft-06 (where 1.0 is an integer); the
    # library validates all of them as draft-04, so do we, never being looser.
    schema["$schema"] = _DRAFT_04
    sampled_value_paths = tuple(_sampled_value_paths(schema))
    formats = _tighten(schema)
    return PayloadValidator(
        schema_check=fastjsonschema.compile(schema, formats=formats),
        sampled_value_paths=sampled_value_paths,
    )


def _known_action(action: str) -> str:
    if action not in OCPP16_ACTIONS:
        raise UnknownAction(f"{action!r} is not an OCPP 1.6 action")
    return action


def validate_request(*, action: str, payload: object) -> JsonObject:
    """Validate a CALL payload (e.g. one we send to a station); raises FrameRejected."""
    validator = payload_validator(_known_action(action))
    return validator.validate(payload, message_id=UNKNOWN_MESSAGE_ID, answer=False)


def validate_response(*, action: str, payload: object) -> JsonObject:
    """Validate a CALLRESULT payload we send or receive; raises FrameRejected."""
    validator = payload_validator(_known_action(action) + "Response")
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
        children = ((join_path(path, key), child) for key, child in node.items())
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
            raise rejection(
                ErrorCode.PROPERTY_CONSTRAINT_VIOLATION,
                f"{_path_to(payload, sampled, '')}.value",
                f"a Raw value must be a finite decimal number, got {clip(value)}",
                message_id=message_id,
                answer=answer,
            )


def schema_rejection(
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
        reason = f"must be {definition.get('type')}, got {json_type(value)}"
        if definition.get("type") == "integer" and type(value) is float and abs(value) >= 2**63:
            # orjson reads an integer beyond 64 bits as a float: say what was wrong with it.
            bits = _integer_bits(definition.get("maximum"))
            reason = f"must be a signed {bits}-bit integer, got {clip(value)}"
    elif rule == "format" and str(definition.get("format")).startswith(_ENUM_FORMAT):
        code = ErrorCode.PROPERTY_CONSTRAINT_VIOLATION
        reason = f"{clip(value)} is not one of the OCPP 1.6 values"
    elif rule == "format":
        code = ErrorCode.TYPE_CONSTRAINT_VIOLATION
        fmt = definition.get("format")
        wanted = "an RFC 3339 date-time" if fmt == "date-time" else f"a {fmt}"
        reason = f"must be {wanted}, got {clip(value)}"
    elif rule == "maxLength":
        code = ErrorCode.TYPE_CONSTRAINT_VIOLATION
        reason = f"must be at most {definition['maxLength']} characters, got {len(value)}"
    elif rule == "enum":
        code = ErrorCode.PROPERTY_CONSTRAINT_VIOLATION
        reason = f"{clip(value)} is not one of the OCPP 1.6 values"
    elif rule == "multipleOf":
        code = ErrorCode.PROPERTY_CONSTRAINT_VIOLATION
        reason = f"must be a multiple of {definition['multipleOf']}, got {clip(value)}"
    elif rule in ("minimum", "maximum") and definition.get("type") == "number":
        code = ErrorCode.PROPERTY_CONSTRAINT_VIOLATION
        reason = f"must be within ±{MAX_CHARGING_NUMBER:,}, got {clip(value)}"
    elif rule == "minimum" and definition.get("minimum") == 0:
        code = ErrorCode.PROPERTY_CONSTRAINT_VIOLATION
        reason = f"must not be negative, got {clip(value)}"
    elif rule in ("minimum", "maximum"):
        code = ErrorCode.TYPE_CONSTRAINT_VIOLATION
        bits = _integer_bits(definition.get("maximum"))
        reason = f"must be a signed {bits}-bit integer, got {clip(value)}"
    elif rule == "required":
        code = ErrorCode.PROTOCOL_ERROR
        missing = sorted(set(definition.get("required", ())) - set(value))
        path = join_path(path, missing[0] if missing else "?")
        reason = "required property is missing"
    elif rule == "additionalProperties":
        extra = sorted(set(value) - set(definition.get("properties", {})))
        path = join_path(path, clip_text(extra[0]) if extra else "?")
        reason = "property is not defined by the OCPP 1.6 schema"
    elif rule in ("minItems", "maxItems"):
        code = ErrorCode.OCCURENCE_CONSTRAINT_VIOLATION
        bound = "at least" if rule == "minItems" else "at most"
        reason = f"must have {bound} {definition[rule]} items, got {len(value)}"
    return rejection(code, path or "payload", reason, message_id=message_id, answer=answer)
