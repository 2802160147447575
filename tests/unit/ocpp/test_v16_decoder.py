"""The OCPP-J 1.6 frame decoder: exact error codes and ids, and the CALLERROR answers."""

from __future__ import annotations

import copy

import orjson
import pytest
from ocpp import exceptions as ocpp_errors
from ocpp.messages import Call, _validate_payload

from evbilling.ocpp.v16.decoder import FrameDecoder, decode_frame
from evbilling.ocpp.v16.frames import (
    CallErrorFrame,
    CallFrame,
    CallResultFrame,
    ErrorCode,
    FrameRejected,
    UnknownAction,
    call_error_json,
    to_ocpp_error,
)
from evbilling.ocpp.v16.schemas import INBOUND_ACTIONS
from tests.unit.ocpp.payloads import (
    INT64_MAX,
    VALID_REQUESTS,
    call,
    meter_values_payload,
    rejection,
    sampled_value,
    start_transaction_payload,
)

# ---------------------------------------------------------------------------------------
# Decoding frames
# ---------------------------------------------------------------------------------------


class TestDecodeFrame:
    @pytest.mark.parametrize("action", sorted(INBOUND_ACTIONS))
    def test_accepts_a_valid_call_of_every_handled_action(self, action: str) -> None:
        payload = VALID_REQUESTS[action]

        frame = decode_frame(call(action, payload, message_id="42"))

        assert frame == CallFrame(message_id="42", action=action, payload=payload)

    def test_valid_examples_are_valid_for_the_library_too(self) -> None:
        for action, payload in VALID_REQUESTS.items():
            _validate_payload(Call("1", action, copy.deepcopy(payload)), "1.6")

    def test_keeps_payload_keys_in_camel_case(self) -> None:
        frame = decode_frame(call("StartTransaction", start_transaction_payload()))

        assert isinstance(frame, CallFrame)
        assert set(frame.payload) == {"connectorId", "idTag", "meterStart", "timestamp"}

    def test_accepts_text_frames(self) -> None:
        frame = decode_frame('[2, "abc", "Heartbeat", {}]')

        assert frame == CallFrame(message_id="abc", action="Heartbeat", payload={})

    def test_decodes_a_call_result_without_validating_its_payload(self) -> None:
        frame = decode_frame(b'[3, "abc", {"currentTime": "2026-03-02T09:00:00Z"}]')

        assert frame == CallResultFrame(
            message_id="abc", payload={"currentTime": "2026-03-02T09:00:00Z"}
        )

    def test_decodes_a_call_error_keeping_its_code_as_sent(self) -> None:
        frame = decode_frame(b'[4, "abc", "FormatViolation", "bad", {"x": 1}]')

        assert frame == CallErrorFrame(
            message_id="abc", code="FormatViolation", description="bad", details={"x": 1}
        )

    def test_accepts_a_message_id_of_36_characters(self) -> None:
        message_id = "0" * 36

        frame = decode_frame(call("Heartbeat", {}, message_id=message_id))

        assert frame.message_id == message_id

    def test_accepts_a_timestamp_without_zone_as_utc(self) -> None:
        payload = start_transaction_payload(timestamp="2026-03-02T09:00:00")

        frame = decode_frame(call("StartTransaction", payload))

        assert isinstance(frame, CallFrame)

    def test_accepts_opaque_signed_data_values(self) -> None:
        payload = meter_values_payload()
        payload["meterValue"][0]["sampledValue"] = [
            sampled_value(format="SignedData", value="OCMF|{...}|{...}")
        ]

        frame = decode_frame(call("MeterValues", payload))

        assert isinstance(frame, CallFrame)

    @pytest.mark.parametrize("value", ["0", "-1.5", "+2", ".5", "5.", "1e3", "1.5E-3", "0007"])
    def test_accepts_finite_decimal_raw_values(self, value: str) -> None:
        payload = meter_values_payload()
        payload["meterValue"][0]["sampledValue"][0]["value"] = value

        frame = decode_frame(call("MeterValues", payload))

        assert isinstance(frame, CallFrame)

    def test_accepts_the_largest_int64(self) -> None:
        payload = start_transaction_payload(meterStart=INT64_MAX)

        frame = decode_frame(call("StartTransaction", payload))

        assert isinstance(frame, CallFrame)


class TestFrameDecoder:
    def test_exposes_the_handled_actions(self) -> None:
        decoder = FrameDecoder(handled_actions=frozenset({"Heartbeat", "MeterValues"}))

        assert decoder.handled_actions == frozenset({"Heartbeat", "MeterValues"})

    @pytest.mark.parametrize("action", ["RemoteStartTransaction", "Foo"])
    def test_refuses_actions_a_station_does_not_send(self, action: str) -> None:
        with pytest.raises(UnknownAction):
            FrameDecoder(handled_actions=frozenset({action}))


# ---------------------------------------------------------------------------------------
# Answers
# ---------------------------------------------------------------------------------------


class TestCallErrorAnswer:
    def test_serialises_a_call_error_frame(self) -> None:
        rejected = rejection(call("StartTransaction", start_transaction_payload(connectorId=-2)))

        answer = orjson.loads(call_error_json(rejected))

        assert answer == [
            4,
            "m-1",
            "PropertyConstraintViolation",
            "connectorId: must not be negative, got -2",
            {"field": "connectorId", "reason": "must not be negative, got -2"},
        ]

    @pytest.mark.parametrize("code", list(ErrorCode))
    def test_maps_every_code_to_the_library_exception(self, code: ErrorCode) -> None:
        rejected = FrameRejected(message_id="1", code=code, description="d", details={"a": 1})

        error = to_ocpp_error(rejected)

        assert isinstance(error, ocpp_errors.OCPPError)
        assert (error.code, error.description, error.details) == (code.value, "d", {"a": 1})
