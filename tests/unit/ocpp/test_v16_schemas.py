"""The compiled OCPP 1.6 schemas: payloads we send or receive as responses, and properties:
never looser than the OCPP 1.6 schemas, never stricter without a documented reason."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from datetime import date
from functools import cache
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ocpp import exceptions as ocpp_errors
from ocpp.messages import Call, CallResult, _validate_payload

from evbilling.ocpp.v16.decoder import decode_frame
from evbilling.ocpp.v16.frames import ErrorCode, FrameRejected, UnknownAction
from evbilling.ocpp.v16.schemas import (
    INBOUND_ACTIONS,
    OCPP16_ACTIONS,
    integer_bounds,
    validate_request,
    validate_response,
)
from tests.unit.ocpp.payloads import INT64_MAX, SCHEMA_DIR, TIMESTAMP


class TestValidatePayloads:
    def test_accepts_a_valid_boot_notification_response(self) -> None:
        payload = {"status": "Accepted", "currentTime": TIMESTAMP, "interval": 300}

        assert validate_response(action="BootNotification", payload=payload) == payload

    def test_rejects_a_negative_heartbeat_interval_without_answering(self) -> None:
        payload = {"status": "Accepted", "currentTime": TIMESTAMP, "interval": -5}

        with pytest.raises(FrameRejected) as caught:
            validate_response(action="BootNotification", payload=payload)

        assert caught.value.code == ErrorCode.PROPERTY_CONSTRAINT_VIOLATION
        assert caught.value.answer is False

    def test_accepts_list_version_minus_one(self) -> None:
        payload = {"listVersion": -1}

        assert validate_response(action="GetLocalListVersion", payload=payload) == payload

    def test_accepts_limits_that_are_multiples_of_a_tenth_despite_float_rounding(self) -> None:
        payload = {
            "connectorId": 1,
            "csChargingProfiles": {
                "chargingProfileId": 1,
                "stackLevel": 0,
                "chargingProfilePurpose": "TxDefaultProfile",
                "chargingProfileKind": "Absolute",
                "chargingSchedule": {
                    "chargingRateUnit": "A",
                    "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 21.4}],
                },
            },
        }

        assert validate_request(action="SetChargingProfile", payload=payload) == payload

    def test_rejects_a_limit_that_is_not_a_multiple_of_a_tenth(self) -> None:
        payload = {
            "status": "Accepted",
            "chargingSchedule": {
                "chargingRateUnit": "W",
                "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 4.11}],
            },
        }

        with pytest.raises(FrameRejected) as caught:
            validate_response(action="GetCompositeSchedule", payload=payload)

        assert caught.value.code == ErrorCode.PROPERTY_CONSTRAINT_VIOLATION
        assert caught.value.details["field"] == "chargingSchedule.chargingSchedulePeriod[0].limit"

    def test_rejects_a_huge_integer_without_printing_it(self) -> None:
        payload = {"status": "Accepted", "currentTime": TIMESTAMP, "interval": 10**5000}

        with pytest.raises(FrameRejected) as caught:
            validate_response(action="BootNotification", payload=payload)

        assert caught.value.code == ErrorCode.TYPE_CONSTRAINT_VIOLATION
        assert caught.value.details["reason"].endswith("a 16610-bit integer")

    def test_rejects_an_unknown_action_as_a_programming_error(self) -> None:
        with pytest.raises(UnknownAction):
            validate_request(action="TransactionEvent", payload={})

    @pytest.mark.parametrize("action", sorted(OCPP16_ACTIONS))
    def test_compiles_both_schemas_of_every_ocpp16_action(self, action: str) -> None:
        outcomes = {
            outcome(lambda: validate_request(action=action, payload={})),
            outcome(lambda: validate_response(action=action, payload={})),
        }

        assert outcomes <= {"accepted", ErrorCode.PROTOCOL_ERROR}


def outcome(validation: Callable[[], object]) -> str:
    try:
        validation()
    except FrameRejected as rejected:
        return rejected.code
    return "accepted"


# ---------------------------------------------------------------------------------------
# Properties: never looser than the OCPP 1.6 schemas, never stricter without a reason
# ---------------------------------------------------------------------------------------

SCHEMA_NAMES = sorted(path.stem for path in SCHEMA_DIR.glob("*.json"))
INT64_EDGES = [0, 1, -1, INT64_MAX, 2**63, 2**64 - 1, 2**64, -(2**63), -(2**63) - 1]
TEXT_EDGES = [
    "",
    "2026-03-02T09:00:00Z",
    "2026-03-02T09:00:00",
    "2026-13-02T09:00:00Z",
    "12.5",
    "NaN",
    "inf",
    "1e999",
    "Raw",
    "SignedData",
    "Accepted",
    "L1",
    "Wh",
]
JUNK: st.SearchStrategy[Any] = st.one_of(
    st.none(),
    st.booleans(),
    st.sampled_from(INT64_EDGES),
    st.integers(),
    st.sampled_from([1.0, 0.5, -0.0, 21.4, 4.11, 1e300]),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from(TEXT_EDGES),
    st.text(max_size=60),
    st.just([]),
    st.just({}),
    st.lists(st.integers(0, 3), max_size=2),
)


def load_schema(name: str) -> dict[str, Any]:
    schema: dict[str, Any] = json.loads((SCHEMA_DIR / f"{name}.json").read_text("utf-8-sig"))
    return schema


def timestamps() -> st.SearchStrategy[str]:
    zones = st.sampled_from(["Z", "z", "", "+00:00", "+05:30", "-11:00"])
    fractions = st.sampled_from(["", ".1", ".123", ".123456", ".1234567", ".123456789"])
    days = st.dates(min_value=date(1900, 1, 1), max_value=date(2200, 1, 1))
    return st.builds(
        lambda day, t, clock, fraction, zone: (
            f"{day.isoformat()}{t}{clock:%H:%M:%S}{fraction}{zone}"
        ),
        days,
        st.sampled_from(["T", "t"]),
        st.times(),
        fractions,
        zones,
    )


def valid_values(node: dict[str, Any], *, root: dict[str, Any], name: str | None) -> Any:
    """A strategy for values the schema and our extra rules both accept."""
    if "$ref" in node:
        target = root["definitions"][node["$ref"].rsplit("/", 1)[1]]
        return valid_values(target, root=root, name=name)
    kind = node.get("type")
    if kind == "object":
        properties = node.get("properties", {})
        required = set(node.get("required", ()))
        strategies = {
            key: valid_values(sub, root=root, name=key) for key, sub in properties.items()
        }
        return st.fixed_dictionaries(
            {key: s for key, s in strategies.items() if key in required},
            optional={key: s for key, s in strategies.items() if key not in required},
        )
    if kind == "array":
        items = valid_values(node["items"], root=root, name=name)
        return st.lists(items, min_size=node.get("minItems", 0), max_size=3)
    if kind == "integer":
        low, high = integer_bounds(name)
        return st.one_of(st.integers(low, high), st.sampled_from([low, 0, high]))
    if kind == "number":
        if "multipleOf" in node:
            return st.integers(-(10**6), 10**6).map(lambda tenths: tenths / 10)
        return st.floats(allow_nan=False, allow_infinity=False)
    if kind == "boolean":
        return st.booleans()
    if "enum" in node:
        return st.sampled_from(node["enum"])
    if node.get("format") == "date-time":
        return timestamps()
    if node.get("format") == "uri":
        return st.sampled_from(["ftp://logs.example.com/upload", "https://fw.example.com/1.bin"])
    if name == "value":  # SampledValue.value: a Raw decimal number
        decimals = st.decimals(min_value=-(10**12), max_value=10**12, places=3)
        return decimals.map(str)
    # U+0000 is refused in every inbound string (PostgreSQL text cannot hold it).
    return st.text(
        st.characters(codec="utf-8", exclude_characters="\x00"), max_size=node.get("maxLength", 30)
    )


@cache
def valid_payloads(schema_name: str) -> st.SearchStrategy[dict[str, Any]]:
    schema = load_schema(schema_name)
    strategy: st.SearchStrategy[dict[str, Any]] = valid_values(schema, root=schema, name=None)
    return strategy


def slots(node: Any) -> list[tuple[Any, Any]]:
    """Every (container, key) inside a payload, for mutations."""
    found: list[tuple[Any, Any]] = []
    if isinstance(node, dict):
        for key, child in node.items():
            found.append((node, key))
            found.extend(slots(child))
    elif isinstance(node, list):
        for index, child in enumerate(node):
            found.append((node, index))
            found.extend(slots(child))
    return found


@st.composite
def near_valid_payloads(draw: st.DrawFn, schema_name: str) -> dict[str, Any]:
    """A valid payload with up to three mutations: a replaced, removed or added value."""
    payload = copy.deepcopy(draw(valid_payloads(schema_name)))
    for _ in range(draw(st.integers(0, 3))):
        candidates = slots(payload)
        kind = draw(st.sampled_from(["replace", "delete", "add"]))
        if kind == "add" or not candidates:
            containers = [payload, *(c for c, _ in candidates if isinstance(c, dict))]
            container = draw(st.sampled_from(containers))
            key = draw(st.sampled_from(["extra", "connectorid", "value", "timestamp"]))
            container[key] = draw(JUNK)
            continue
        container, key = draw(st.sampled_from(candidates))
        if kind == "replace":
            container[key] = draw(JUNK)
        else:
            del container[key]
    return payload


def library_accepts(schema_name: str, payload: Any) -> bool:
    """The ocpp library's own validation path (Draft4Validator, Decimal where it uses it)."""
    if schema_name.endswith("Response"):
        message: Call | CallResult = CallResult("1", payload, schema_name.removesuffix("Response"))
    else:
        message = Call("1", schema_name, payload)
    try:
        _validate_payload(message, "1.6")
    except ocpp_errors.OCPPError:
        return False
    return True


def we_accept(schema_name: str, payload: Any) -> bool:
    """Inbound requests go through the whole frame decoder, the rest through validate_*."""
    try:
        if schema_name in INBOUND_ACTIONS:
            decode_frame(json.dumps([2, "p", schema_name, payload]))
        elif schema_name.endswith("Response"):
            validate_response(action=schema_name.removesuffix("Response"), payload=payload)
        else:
            validate_request(action=schema_name, payload=payload)
    except FrameRejected:
        return False
    return True


PROPERTY_SETTINGS = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


class TestNeverLooserThanTheSchema:
    @pytest.mark.parametrize("schema_name", SCHEMA_NAMES)
    @PROPERTY_SETTINGS
    @given(data=st.data())
    def test_anything_we_accept_the_library_accepts(
        self, schema_name: str, data: st.DataObject
    ) -> None:
        payload = data.draw(near_valid_payloads(schema_name))
        # What the library would see after its own json.loads of the same frame.
        as_parsed = json.loads(json.dumps(payload))

        accepted = we_accept(schema_name, payload)

        assert not accepted or library_accepts(schema_name, as_parsed)

    @pytest.mark.parametrize("schema_name", SCHEMA_NAMES)
    @PROPERTY_SETTINGS
    @given(data=st.data())
    def test_we_accept_every_payload_within_the_schema_and_our_documented_rules(
        self, schema_name: str, data: st.DataObject
    ) -> None:
        payload = data.draw(valid_payloads(schema_name))

        accepted = we_accept(schema_name, payload)

        assert accepted
        assert library_accepts(schema_name, json.loads(json.dumps(payload)))
