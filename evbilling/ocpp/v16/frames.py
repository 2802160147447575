"""The OCPP-J 1.6 frame vocabulary: message types, decoded frames, CALLERROR codes, and the
rejection that carries what a CALLERROR must say (shared by the decoder and the schemas)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any, ClassVar, Final, TypeAlias

import orjson
from ocpp import exceptions as ocpp_errors

from evbilling.kit.errors import EVBillingError

JsonObject: TypeAlias = dict[str, Any]

__all__ = [
    "MAX_MESSAGE_ID_LENGTH",
    "MAX_NESTING_DEPTH",
    "UNKNOWN_MESSAGE_ID",
    "CallErrorFrame",
    "CallFrame",
    "CallResultFrame",
    "DecodedFrame",
    "ErrorCode",
    "FrameRejected",
    "JsonObject",
    "SchemaNotSupported",
    "UnknownAction",
    "call_error_json",
    "to_ocpp_error",
]

UNKNOWN_MESSAGE_ID: Final = "-1"
MAX_MESSAGE_ID_LENGTH: Final = 36
_CLIP: Final = 40
MAX_DESCRIPTION: Final = 255  # errorDescription is a string[0..255] in OCPP 2.0.1
# Arrays and objects, the frame itself included. OCPP 1.6 needs 6 (a MeterValues sampled
# value); the rest is room for vendors' CALLERROR details. Deeper frames are refused before
# any recursive code (repr, error paths) could meet them.
MAX_NESTING_DEPTH: Final = 32

MESSAGE_TYPE_CALL: Final = 2
MESSAGE_TYPE_CALL_RESULT: Final = 3
MESSAGE_TYPE_CALL_ERROR: Final = 4
# PDU lengths per MessageTypeId and the names of their elements, for error details.
FRAME_LENGTH: Final = {2: 4, 3: 3, 4: 5}
ELEMENT_NAMES: Final = {
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
    message_type_id: ClassVar[int] = MESSAGE_TYPE_CALL
    message_id: str
    action: str
    payload: JsonObject


@dataclass(frozen=True, slots=True)
class CallResultFrame:
    """A CALLRESULT; its payload is validated by the caller, who knows the action."""

    message_type_id: ClassVar[int] = MESSAGE_TYPE_CALL_RESULT
    message_id: str
    payload: JsonObject


@dataclass(frozen=True, slots=True)
class CallErrorFrame:
    """A CALLERROR; ``code`` is kept as sent (stations also use 2.0.1 spellings)."""

    message_type_id: ClassVar[int] = MESSAGE_TYPE_CALL_ERROR
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
        MESSAGE_TYPE_CALL_ERROR,
        rejected.message_id,
        rejected.code.value,
        rejected.description,
        rejected.details,
    ]
    return orjson.dumps(frame).decode()


# ---------------------------------------------------------------------------------------
# Describing a rejection (station-controlled text is bounded)
# ---------------------------------------------------------------------------------------


def clip(value: object) -> str:
    """Station-controlled text reflected in an answer, bounded."""
    if isinstance(value, int) and value.bit_length() > 128:
        # repr() of a huge int is slow and, past 4300 digits, raises ValueError.
        return f"a {value.bit_length()}-bit integer"
    return clip_text(repr(value))


def clip_text(text: str) -> str:
    return text if len(text) <= _CLIP else text[: _CLIP - 3] + "..."


def json_type(value: object) -> str:
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


def join_path(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def rejection(
    code: ErrorCode, field: str | None, reason: str, *, message_id: str, answer: bool
) -> FrameRejected:
    details: JsonObject = {"field": field, "reason": reason} if field else {"reason": reason}
    description = f"{field}: {reason}" if field else reason
    return FrameRejected(
        message_id=message_id,
        code=code,
        description=description[:MAX_DESCRIPTION],
        details=details,
        answer=answer,
    )
