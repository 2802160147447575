"""OCPP 1.6J: the frame vocabulary (`frames`), the compiled payload schemas (`schemas`), the
strict frame decoder (`decoder`), the actions a station sends turned into charging use cases
(`handlers`), and California pricing on the station's display (`display`)."""

from evbilling.ocpp.v16.decoder import FrameDecoder, decode_frame
from evbilling.ocpp.v16.frames import (
    CallErrorFrame,
    CallFrame,
    CallResultFrame,
    DecodedFrame,
    ErrorCode,
    FrameRejected,
    call_error_json,
)
from evbilling.ocpp.v16.schemas import validate_request, validate_response

__all__ = [
    "CallErrorFrame",
    "CallFrame",
    "CallResultFrame",
    "DecodedFrame",
    "ErrorCode",
    "FrameDecoder",
    "FrameRejected",
    "call_error_json",
    "decode_frame",
    "validate_request",
    "validate_response",
]
