"""Bounds the decoder holds every frame to: nesting depth, U+0000, 32-bit ids and counts,
numbers beyond int64 or the double range. Each gets a CALLERROR naming the field."""

from __future__ import annotations

import pytest

from evbilling.ocpp.v16.decoder import FrameDecoder
from evbilling.ocpp.v16.frames import MAX_NESTING_DEPTH, CallFrame, ErrorCode, FrameRejected
from evbilling.ocpp.v16.schemas import validate_request
from tests.unit.ocpp.payloads import (
    VALID_REQUESTS,
    call,
    meter_values_payload,
    rejection,
    start_transaction_payload,
    stop_transaction_payload,
)

T0 = "2026-03-02T09:00:00Z"
NUL_VALUE = {"value": "1\u0000"}


def nested(depth: int) -> str:
    """A JSON value of `depth` nested arrays."""
    return "[" * depth + "]" * depth


class TestNestingDepth:
    @pytest.mark.parametrize("depth", [MAX_NESTING_DEPTH, 200, 999, 1_020])
    def test_a_deeply_nested_payload_is_a_formation_violation_with_its_id(self, depth: int) -> None:
        raw = '[2,"m-1","DataTransfer",{"vendorId":"v","data":' + nested(depth) + "}]"

        rejected = rejection(raw)

        assert (rejected.code, rejected.message_id) == (ErrorCode.FORMATION_VIOLATION, "m-1")
        assert rejected.details["field"].startswith("data[0]")
        assert "nested deeper than 32 levels" in rejected.description
        assert rejected.answer

    @pytest.mark.parametrize("depth", [1_025, 5_000, 100_000])
    def test_nesting_beyond_what_json_parsers_follow_is_refused_without_recursion_error(
        self, depth: int
    ) -> None:
        rejected = rejection('[2,"m-1","Heartbeat",' + nested(depth) + "]")

        assert rejected.code == ErrorCode.FORMATION_VIOLATION
        assert rejected.answer

    @pytest.mark.parametrize(
        ("raw", "field"),
        [
            (nested(40), "frame[0]"),
            ('[2,"m-1",' + nested(40) + ',"Heartbeat",{}]', "action"),
            ('[4,"m-1","GenericError","",{"a":' + nested(40) + "}]", "errorDetails.a"),
            ('[3,"m-1",{"a":' + nested(40) + "}]", "payload.a"),
        ],
    )
    def test_depth_is_checked_in_every_element_of_every_frame_type(
        self, raw: str, field: str
    ) -> None:
        rejected = rejection(raw)

        assert rejected.code == ErrorCode.FORMATION_VIOLATION
        assert rejected.details["field"].startswith(field)
        # Answers (CALLRESULT / CALLERROR) are never answered back.
        assert rejected.answer == (raw[1] not in "34")

    def test_the_deepest_ocpp_payloads_are_far_below_the_limit(self) -> None:
        decoded = FrameDecoder().decode(call("MeterValues", meter_values_payload()))

        assert isinstance(decoded, CallFrame)

    def test_many_brackets_inside_strings_are_no_nesting(self) -> None:
        payload = {"vendorId": "v", "data": "[{" * 500}

        decoded = FrameDecoder().decode(call("DataTransfer", payload))

        assert isinstance(decoded, CallFrame)
        assert decoded.payload == payload


class TestNul:
    def test_a_stop_transaction_with_u0000_is_decoded_for_the_charging_side_to_judge(
        self,
    ) -> None:
        # A refused StopTransaction is resent for ever and its session never closes: the
        # charging side answers its idTag Invalid and takes the stop.
        raw = call("StopTransaction", dict(stop_transaction_payload(), idTag="\u0000"))

        frame = FrameDecoder().decode(raw)

        assert isinstance(frame, CallFrame)
        assert frame.payload["idTag"] == "\x00"

    @pytest.mark.parametrize(
        ("action", "payload", "field"),
        [
            ("Authorize", {"idTag": "04A1\u0000"}, "idTag"),
            ("StartTransaction", start_transaction_payload(idTag="\u0000"), "idTag"),
            (
                "MeterValues",
                dict(
                    meter_values_payload(),
                    meterValue=[{"timestamp": T0, "sampledValue": [NUL_VALUE]}],
                ),
                "meterValue[0].sampledValue[0].value",
            ),
            ("DataTransfer", {"vendorId": "v", "data": "a\u0000b"}, "data"),
            ("BootNotification", dict(VALID_REQUESTS["BootNotification"], imsi="\u0000"), "imsi"),
            ("Heartbeat", {"\u0000": 1}, "\\u0000"),
        ],
    )
    def test_u0000_in_any_string_is_a_property_constraint_violation_naming_the_field(
        self, action: str, payload: dict[str, object], field: str
    ) -> None:
        rejected = rejection(call(action, payload))

        assert (rejected.code, rejected.message_id) == (
            ErrorCode.PROPERTY_CONSTRAINT_VIOLATION,
            "m-1",
        )
        assert rejected.details["field"] == field
        assert "U+0000" in rejected.description

    def test_u0000_in_the_action_is_refused_too(self) -> None:
        rejected = rejection(call("Heart\u0000beat", {}))

        assert rejected.code == ErrorCode.PROPERTY_CONSTRAINT_VIOLATION
        assert rejected.details["field"] == "action"

    def test_an_escaped_backslash_before_u0000_is_plain_text(self) -> None:
        raw = rb'[2,"m-1","DataTransfer",{"vendorId":"v","data":"\\u0000"}]'

        decoded = FrameDecoder().decode(raw)

        assert isinstance(decoded, CallFrame)
        assert decoded.payload["data"] == "\\u0000"

    def test_a_raw_nul_byte_is_not_json(self) -> None:
        rejected = rejection(b'[2,"m-1","Authorize",{"idTag":"\x00"}]')

        assert (rejected.code, rejected.message_id) == (ErrorCode.FORMATION_VIOLATION, "-1")


class TestIntegerRanges:
    @pytest.mark.parametrize(
        ("action", "field", "payload"),
        [
            ("StartTransaction", "connectorId", start_transaction_payload(connectorId=2**31)),
            ("StartTransaction", "reservationId", start_transaction_payload(reservationId=2**31)),
            (
                "StopTransaction",
                "transactionId",
                dict(stop_transaction_payload(), transactionId=2**31),
            ),
            (
                "StatusNotification",
                "connectorId",
                dict(VALID_REQUESTS["StatusNotification"], connectorId=2**31),
            ),
            ("MeterValues", "connectorId", dict(meter_values_payload(), connectorId=2**40)),
        ],
    )
    def test_ids_and_connector_numbers_beyond_int32_are_type_constraint_violations(
        self, action: str, field: str, payload: dict[str, object]
    ) -> None:
        rejected = rejection(call(action, payload))

        assert rejected.code == ErrorCode.TYPE_CONSTRAINT_VIOLATION
        assert rejected.details["field"] == field
        assert "signed 32-bit integer" in rejected.description

    def test_the_largest_int32_is_accepted(self) -> None:
        payload = start_transaction_payload(connectorId=2**31 - 1, reservationId=2**31 - 1)

        assert isinstance(FrameDecoder().decode(call("StartTransaction", payload)), CallFrame)

    def test_registers_keep_the_int64_range_for_the_evidence_checks(self) -> None:
        payload = dict(stop_transaction_payload(), meterStop=2**63 - 1)

        assert isinstance(FrameDecoder().decode(call("StopTransaction", payload)), CallFrame)

    @pytest.mark.parametrize(
        ("number", "field", "reason"),
        [
            (str(2**63), "meterStop", "signed 64-bit integer"),
            (str(2**64), "meterStop", "signed 64-bit integer"),
            ("1" + "0" * 30, "transactionId", "signed 32-bit integer"),
            ("1e400", "transactionId", "beyond the range of a double"),
            ("-1e400", "meterStop", "beyond the range of a double"),
        ],
    )
    def test_numbers_beyond_int64_or_the_double_range_name_the_field(
        self, number: str, field: str, reason: str
    ) -> None:
        raw = call("StopTransaction", dict(stop_transaction_payload(), **{field: 7})).replace(
            f'"{field}":7'.encode(), f'"{field}":{number}'.encode()
        )

        rejected = rejection(raw)

        assert (rejected.code, rejected.message_id) == (
            ErrorCode.TYPE_CONSTRAINT_VIOLATION,
            "m-1",
        )
        assert rejected.details["field"] == field
        assert reason in rejected.description


class TestBinaryFrames:
    def test_invalid_utf8_is_a_formation_violation(self) -> None:
        rejected = rejection(b'[2,"m-1","Authorize",{"idTag":"\xff\xfe"}]')

        assert (rejected.code, rejected.message_id) == (ErrorCode.FORMATION_VIOLATION, "-1")


class TestChargingRates:
    def test_a_limit_no_evse_draws_is_refused_before_the_multiple_check_overflows(self) -> None:
        profile = {
            "chargingProfileId": 1,
            "stackLevel": 0,
            "chargingProfilePurpose": "TxProfile",
            "chargingProfileKind": "Relative",
            "chargingSchedule": {
                "chargingRateUnit": "W",
                "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 1e300}],
            },
        }

        with pytest.raises(FrameRejected) as refused:
            validate_request(
                action="RemoteStartTransaction",
                payload={"idTag": "04A1B2C3D4", "chargingProfile": profile},
            )

        assert refused.value.code is ErrorCode.PROPERTY_CONSTRAINT_VIOLATION
        assert "1,000,000,000" in refused.value.description
