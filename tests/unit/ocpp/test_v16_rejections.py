"""The OCPP-J 1.6 decoder refuses bad frames with the exact error code and message id."""

from __future__ import annotations

import copy

import pytest

from evbilling.ocpp.v16.decoder import FrameDecoder
from evbilling.ocpp.v16.frames import (
    ErrorCode,
    call_error_json,
)
from tests.unit.ocpp.payloads import (
    TIMESTAMP,
    VALID_REQUESTS,
    call,
    meter_values_payload,
    rejection,
    start_transaction_payload,
    stop_transaction_payload,
)

# ---------------------------------------------------------------------------------------
# Decoding frames
# ---------------------------------------------------------------------------------------


class TestRejectFrame:
    @pytest.mark.parametrize(
        "raw",
        [b"", b"not json", b'[2, "a", "Heartbeat", {}', b"\xff\xfe", b"[1,]", b"[1] [2]"],
    )
    def test_rejects_invalid_json_with_formation_violation_and_id_minus_one(
        self, raw: bytes
    ) -> None:
        rejected = rejection(raw)

        assert (rejected.code, rejected.message_id) == (ErrorCode.FORMATION_VIOLATION, "-1")
        assert rejected.answer

    def test_rejects_a_byte_order_mark_with_formation_violation(self) -> None:
        raw = '\ufeff[2, "abc", "Heartbeat", {}]'.encode()

        rejected = rejection(raw)

        assert (rejected.code, rejected.message_id) == (ErrorCode.FORMATION_VIOLATION, "-1")

    def test_rejects_a_lone_surrogate_echoing_the_recovered_id(self) -> None:
        raw = '[2, "abc", "Authorize", {"idTag": "\\ud800"}]'

        rejected = rejection(raw)

        assert (rejected.code, rejected.message_id) == (ErrorCode.FORMATION_VIOLATION, "abc")

    def test_rejects_absurd_nesting_with_formation_violation(self) -> None:
        raw = "[" * 5000 + "]" * 5000

        rejected = rejection(raw)

        assert (rejected.code, rejected.message_id) == (ErrorCode.FORMATION_VIOLATION, "-1")

    @pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
    def test_rejects_nan_and_infinity_with_formation_violation_echoing_the_id(
        self, literal: str
    ) -> None:
        raw = (
            '[2, "abc", "MeterValues", {"connectorId": 1, "meterValue": '
            f'[{{"timestamp": "{TIMESTAMP}", "sampledValue": [{{"value": {literal}}}]}}]}}]'
        )

        rejected = rejection(raw)

        assert (rejected.code, rejected.message_id) == (ErrorCode.FORMATION_VIOLATION, "abc")
        assert rejected.details["field"] == "meterValue[0].sampledValue[0].value"

    def test_rejects_nan_as_message_id_with_id_minus_one(self) -> None:
        rejected = rejection('[2, NaN, "Heartbeat", {}]')

        assert (rejected.code, rejected.message_id) == (ErrorCode.FORMATION_VIOLATION, "-1")
        assert rejected.details["field"] == "messageId"

    def test_rejects_a_number_beyond_double_range_with_type_constraint_violation(self) -> None:
        raw = '[2, "abc", "StartTransaction", {"connectorId": 1e999}]'

        rejected = rejection(raw)

        assert (rejected.code, rejected.message_id) == (
            ErrorCode.TYPE_CONSTRAINT_VIOLATION,
            "abc",
        )
        assert rejected.details["field"] == "connectorId"

    def test_rejects_a_call_result_with_nan_without_answering(self) -> None:
        rejected = rejection('[3, "abc", {"interval": NaN}]')

        assert (rejected.message_id, rejected.answer) == ("abc", False)
        assert rejected.details["field"] == "payload.interval"

    @pytest.mark.parametrize("raw", [b"{}", b'"Heartbeat"', b"2", b"null"])
    def test_rejects_json_that_is_not_an_array_with_formation_violation(self, raw: bytes) -> None:
        rejected = rejection(raw)

        assert (rejected.code, rejected.message_id) == (ErrorCode.FORMATION_VIOLATION, "-1")

    def test_rejects_an_empty_array_with_protocol_error(self) -> None:
        rejected = rejection(b"[]")

        assert (rejected.code, rejected.message_id) == (ErrorCode.PROTOCOL_ERROR, "-1")

    def test_rejects_a_frame_without_message_id_with_protocol_error(self) -> None:
        rejected = rejection(b"[2]")

        assert (rejected.code, rejected.message_id) == (ErrorCode.PROTOCOL_ERROR, "-1")

    @pytest.mark.parametrize("raw", [b'[2, "abc", "Heartbeat"]', b'[2, "abc"]'])
    def test_rejects_a_call_with_missing_elements_with_protocol_error(self, raw: bytes) -> None:
        rejected = rejection(raw)

        assert (rejected.code, rejected.message_id) == (ErrorCode.PROTOCOL_ERROR, "abc")

    def test_rejects_a_call_with_extra_elements_with_formation_violation(self) -> None:
        rejected = rejection(b'[2, "abc", "Heartbeat", {}, {}]')

        assert (rejected.code, rejected.message_id) == (ErrorCode.FORMATION_VIOLATION, "abc")

    @pytest.mark.parametrize("type_id", ["5", "1", '"2"', "2.0", "true", "null"])
    def test_rejects_an_unknown_message_type_id_with_formation_violation(
        self, type_id: str
    ) -> None:
        rejected = rejection(f'[{type_id}, "abc", "Heartbeat", {{}}]')

        assert (rejected.code, rejected.message_id) == (ErrorCode.FORMATION_VIOLATION, "abc")
        assert rejected.details["field"] == "messageTypeId"

    @pytest.mark.parametrize("message_id", ["1234", "null", '["a"]', "true", "1.5"])
    def test_rejects_a_non_string_message_id_with_id_minus_one(self, message_id: str) -> None:
        rejected = rejection(f'[2, {message_id}, "Heartbeat", {{}}]')

        assert (rejected.code, rejected.message_id) == (ErrorCode.FORMATION_VIOLATION, "-1")
        assert rejected.details["field"] == "messageId"

    def test_rejects_an_empty_message_id_with_id_minus_one(self) -> None:
        rejected = rejection(call("Heartbeat", {}, message_id=""))

        assert (rejected.code, rejected.message_id) == (ErrorCode.FORMATION_VIOLATION, "-1")

    def test_rejects_an_over_long_message_id_without_echoing_it(self) -> None:
        rejected = rejection(call("Heartbeat", {}, message_id="x" * 37))

        assert (rejected.code, rejected.message_id) == (ErrorCode.FORMATION_VIOLATION, "-1")
        assert rejected.details == {
            "field": "messageId",
            "reason": "must be 1 to 36 characters, got 37",
        }

    @pytest.mark.parametrize("action", ["1", "null", "{}"])
    def test_rejects_a_non_string_action_with_formation_violation(self, action: str) -> None:
        rejected = rejection(f'[2, "abc", {action}, {{}}]')

        assert (rejected.code, rejected.message_id) == (ErrorCode.FORMATION_VIOLATION, "abc")
        assert rejected.details["field"] == "action"

    @pytest.mark.parametrize("action", ["TransactionEvent", "heartbeat", "", "Heartbeat "])
    def test_rejects_an_action_outside_ocpp16_with_not_supported(self, action: str) -> None:
        rejected = rejection(call(action, {}))

        assert (rejected.code, rejected.message_id) == (ErrorCode.NOT_SUPPORTED, "m-1")

    def test_rejects_a_csms_to_station_action_with_not_implemented(self) -> None:
        rejected = rejection(call("RemoteStartTransaction", {"idTag": "x"}))

        assert (rejected.code, rejected.message_id) == (ErrorCode.NOT_IMPLEMENTED, "m-1")

    def test_rejects_an_unhandled_inbound_action_with_not_implemented(self) -> None:
        decoder = FrameDecoder(handled_actions=frozenset({"Heartbeat"}))

        rejected = rejection(call("BootNotification", VALID_REQUESTS["BootNotification"]), decoder)

        assert (rejected.code, rejected.message_id) == (ErrorCode.NOT_IMPLEMENTED, "m-1")

    @pytest.mark.parametrize("payload", [[], None, "x", 1])
    def test_rejects_a_payload_that_is_not_an_object_with_formation_violation(
        self, payload: object
    ) -> None:
        rejected = rejection(call("Heartbeat", payload))

        assert (rejected.code, rejected.message_id) == (ErrorCode.FORMATION_VIOLATION, "m-1")
        assert rejected.details["field"] == "payload"

    @pytest.mark.parametrize(
        "timestamp",
        [
            "yesterday",
            "2026-02-30T00:00:00Z",
            "2026-03-02T25:00:00Z",
            "2026-03-02T09:00:60Z",
            "2026-03-02 09:00:00Z",
            "2026-03-02",
            "2026-03-02T09:00:00+0100",
            "2026-03-02T09:00:00.1234567890Z",
            "2026-03-02T09:00:00Z\n",
            "\uff12\uff10\uff12\uff16-03-02T09:00:00Z",
            "9999-12-31T23:59:59-01:00",
            "",
        ],
    )
    def test_rejects_unparseable_timestamp_with_type_constraint_violation(
        self, timestamp: str
    ) -> None:
        payload = start_transaction_payload(timestamp=timestamp)

        rejected = rejection(call("StartTransaction", payload))

        assert (rejected.code, rejected.message_id) == (
            ErrorCode.TYPE_CONSTRAINT_VIOLATION,
            "m-1",
        )
        assert rejected.details["field"] == "timestamp"

    def test_rejects_an_unparseable_timestamp_inside_an_array(self) -> None:
        payload = stop_transaction_payload()
        payload["transactionData"][1]["timestamp"] = "2026-13-01T00:00:00Z"

        rejected = rejection(call("StopTransaction", payload))

        assert rejected.code == ErrorCode.TYPE_CONSTRAINT_VIOLATION
        assert rejected.details["field"] == "transactionData[1].timestamp"

    @pytest.mark.parametrize(
        ("action", "field"),
        [
            ("StartTransaction", "connectorId"),
            ("StartTransaction", "meterStart"),
            ("StartTransaction", "reservationId"),
            ("StopTransaction", "meterStop"),
            ("StopTransaction", "transactionId"),
            ("MeterValues", "transactionId"),
            ("LogStatusNotification", "requestId"),
        ],
    )
    def test_rejects_a_negative_integer_with_property_constraint_violation(
        self, action: str, field: str
    ) -> None:
        payload = copy.deepcopy(VALID_REQUESTS[action])
        payload[field] = -1

        rejected = rejection(call(action, payload))

        assert (rejected.code, rejected.message_id) == (
            ErrorCode.PROPERTY_CONSTRAINT_VIOLATION,
            "m-1",
        )
        assert rejected.details["field"] == field

    @pytest.mark.parametrize("number", [str(2**63), str(2**64 - 1), str(2**64), "1e300"])
    def test_rejects_an_integer_beyond_int64_with_type_constraint_violation(
        self, number: str
    ) -> None:
        raw = call("StartTransaction", start_transaction_payload(meterStart=0)).replace(
            b'"meterStart":0', f'"meterStart":{number}'.encode()
        )

        rejected = rejection(raw)

        assert (rejected.code, rejected.message_id) == (
            ErrorCode.TYPE_CONSTRAINT_VIOLATION,
            "m-1",
        )
        assert rejected.details["field"] == "meterStart"

    @pytest.mark.parametrize("value", [True, False])
    def test_rejects_a_boolean_as_integer_with_type_constraint_violation(self, value: bool) -> None:
        payload = start_transaction_payload(connectorId=value)

        rejected = rejection(call("StartTransaction", payload))

        assert rejected.code == ErrorCode.TYPE_CONSTRAINT_VIOLATION
        assert rejected.details["field"] == "connectorId"

    @pytest.mark.parametrize("value", [1.5, 1.0, -0.0])
    def test_rejects_a_float_where_an_integer_is_required(self, value: float) -> None:
        payload = start_transaction_payload(connectorId=value)

        rejected = rejection(call("StartTransaction", payload))

        assert rejected.code == ErrorCode.TYPE_CONSTRAINT_VIOLATION
        assert rejected.details["field"] == "connectorId"

    def test_rejects_a_float_integer_in_a_draft06_security_schema(self) -> None:
        rejected = rejection(call("LogStatusNotification", {"status": "Idle", "requestId": 1.0}))

        assert rejected.code == ErrorCode.TYPE_CONSTRAINT_VIOLATION
        assert rejected.details["field"] == "requestId"

    @pytest.mark.parametrize(
        "value",
        ["abc", "NaN", "nan", "inf", "-Infinity", "1e999", "", " 1", "1 ", "1_000", "0x10",
         "1,5", "\u0661\u0662", "e3", "."],
    )  # fmt: skip
    def test_rejects_a_raw_value_that_is_not_a_finite_decimal_with_property_constraint_violation(
        self, value: str
    ) -> None:
        payload = meter_values_payload()
        payload["meterValue"][0]["sampledValue"][2]["value"] = value

        rejected = rejection(call("MeterValues", payload))

        assert (rejected.code, rejected.message_id) == (
            ErrorCode.PROPERTY_CONSTRAINT_VIOLATION,
            "m-1",
        )
        assert rejected.details["field"] == "meterValue[0].sampledValue[2].value"

    def test_rejects_a_non_numeric_value_without_format_in_stop_transaction(self) -> None:
        payload = stop_transaction_payload()
        payload["transactionData"][1]["sampledValue"][0]["value"] = "n/a"

        rejected = rejection(call("StopTransaction", payload))

        assert rejected.code == ErrorCode.PROPERTY_CONSTRAINT_VIOLATION
        assert rejected.details["field"] == "transactionData[1].sampledValue[0].value"

    def test_rejects_a_missing_required_property_with_protocol_error(self) -> None:
        payload = meter_values_payload()
        del payload["meterValue"][0]["sampledValue"][1]["value"]

        rejected = rejection(call("MeterValues", payload))

        assert (rejected.code, rejected.message_id) == (ErrorCode.PROTOCOL_ERROR, "m-1")
        assert rejected.details["field"] == "meterValue[0].sampledValue[1].value"

    def test_rejects_an_unknown_property_with_formation_violation(self) -> None:
        payload = start_transaction_payload(connector_id=1)

        rejected = rejection(call("StartTransaction", payload))

        assert (rejected.code, rejected.message_id) == (ErrorCode.FORMATION_VIOLATION, "m-1")
        assert rejected.details["field"] == "connector_id"

    def test_rejects_an_over_long_string_with_type_constraint_violation(self) -> None:
        payload = start_transaction_payload(idTag="X" * 21)

        rejected = rejection(call("StartTransaction", payload))

        assert rejected.code == ErrorCode.TYPE_CONSTRAINT_VIOLATION
        assert rejected.details == {
            "field": "idTag",
            "reason": "must be at most 20 characters, got 21",
        }

    def test_rejects_a_value_outside_the_enum_with_property_constraint_violation(self) -> None:
        payload = meter_values_payload()
        payload["meterValue"][0]["sampledValue"][11]["unit"] = "wh"

        rejected = rejection(call("MeterValues", payload))

        assert rejected.code == ErrorCode.PROPERTY_CONSTRAINT_VIOLATION
        assert rejected.details["field"] == "meterValue[0].sampledValue[11].unit"

    def test_rejects_a_value_outside_a_referenced_enum(self) -> None:
        payload = {"status": "Done", "requestId": 1}

        rejected = rejection(call("SignedFirmwareStatusNotification", payload))

        assert rejected.code == ErrorCode.PROPERTY_CONSTRAINT_VIOLATION
        assert rejected.details["field"] == "status"

    def test_rejects_an_empty_meter_value_list_with_occurence_constraint_violation(self) -> None:
        payload = {"connectorId": 1, "meterValue": []}

        rejected = rejection(call("MeterValues", payload))

        assert rejected.code == ErrorCode.OCCURENCE_CONSTRAINT_VIOLATION
        assert rejected.details["field"] == "meterValue"

    @pytest.mark.parametrize("value", [1, None, ["x"]])
    def test_rejects_a_wrong_type_with_type_constraint_violation(self, value: object) -> None:
        payload = start_transaction_payload(idTag=value)

        rejected = rejection(call("StartTransaction", payload))

        assert rejected.code == ErrorCode.TYPE_CONSTRAINT_VIOLATION
        assert rejected.details["field"] == "idTag"

    @pytest.mark.parametrize(
        "raw",
        [b'[3, "abc"]', b'[3, "abc", []]', b'[3, "abc", {}, 1]', b'[4, "abc", 1, "d", {}]',
         b'[4, "abc", "GenericError", "d", null]', b'[4, "abc", "GenericError", "d"]'],
    )  # fmt: skip
    def test_rejects_a_malformed_call_result_or_error_without_answering(self, raw: bytes) -> None:
        rejected = rejection(raw)

        assert (rejected.message_id, rejected.answer) == ("abc", False)

    def test_caps_station_text_reflected_in_the_answer(self) -> None:
        rejected = rejection(call("X" * 5000, {}))

        assert len(call_error_json(rejected)) < 300
