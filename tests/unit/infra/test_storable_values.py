"""Values neither database can store (integers beyond 64 bits, text with U+0000) are found
wherever they are in a request, and named."""

from __future__ import annotations

import pytest
from pydantic import Field

from evbilling.infra.http.parameters import unstorable_parameter
from evbilling.infra.http.schemas import Input
from evbilling.infra.validation import (
    INT64_MESSAGE,
    MAX_INT64,
    MAX_REPORTED,
    MIN_INT64,
    NUL_MESSAGE,
    required_text,
    unstorable_values,
)
from evbilling.kit.errors import InvalidRequest


class TestUnstorableValues:
    def test_the_64_bit_range_is_storable_and_one_beyond_either_end_is_not(self) -> None:
        assert unstorable_values({"a": MAX_INT64, "b": MIN_INT64, "c": True}) == []
        assert unstorable_values({"a": MAX_INT64 + 1, "b": MIN_INT64 - 1}) == [
            ("a", INT64_MESSAGE),
            ("b", INT64_MESSAGE),
        ]

    def test_nested_values_are_named_by_their_dotted_path_in_document_order(self) -> None:
        document = {
            "name": "ok",
            "ocpi": {
                "id": "T\x001",
                "elements": [{"price_components": [{"step_size": 10**30}]}],
            },
            "tags": ["fine", "bad\x00"],
        }

        assert unstorable_values(document) == [
            ("ocpi.id", NUL_MESSAGE),
            ("ocpi.elements.0.price_components.0.step_size", INT64_MESSAGE),
            ("tags.1", NUL_MESSAGE),
        ]

    def test_member_names_with_u0000_are_refused_at_their_object(self) -> None:
        assert unstorable_values({"outer": {"a\x00": 1}}) == [
            ("outer", f"member names {NUL_MESSAGE}")
        ]

    def test_a_bare_value_is_named_body(self) -> None:
        assert unstorable_values("\x00") == [("body", NUL_MESSAGE)]

    def test_deep_nesting_does_not_exhaust_the_stack(self) -> None:
        deep: object = 10**30
        for _ in range(50_000):
            deep = [deep]

        found = unstorable_values(deep)

        assert len(found) == 1
        assert found[0][1] == INT64_MESSAGE

    def test_reports_are_bounded(self) -> None:
        assert len(unstorable_values(["\x00"] * 10_000)) == MAX_REPORTED

    def test_services_refuse_u0000_in_text(self) -> None:
        with pytest.raises(InvalidRequest, match="U\\+0000") as refused:
            required_text("Depot\x00", field="name", max_length=200)

        assert refused.value.field == "name"


class Body(Input):
    count: int = Field(ge=0)
    label: str


class TestInputSchemas:
    def test_a_body_with_unstorable_values_is_refused_naming_every_field(self) -> None:
        with pytest.raises(InvalidRequest) as refused:
            Body.model_validate({"count": 2**64, "label": "a\x00b"})

        assert refused.value.errors == (("count", INT64_MESSAGE), ("label", NUL_MESSAGE))

    def test_storable_bodies_validate_as_before(self) -> None:
        assert Body.model_validate({"count": 3, "label": "ok"}).count == 3


class TestParameters:
    @pytest.mark.parametrize(
        "raw",
        ["9223372036854775808", "-9223372036854775809", "1" + "0" * 30, " 1_0000000000000000000 "],
    )
    def test_integer_parameters_beyond_64_bits_are_refused(self, raw: str) -> None:
        assert unstorable_parameter(raw, integral=True) == INT64_MESSAGE

    @pytest.mark.parametrize("raw", ["9223372036854775807", "abc", "1e30", ""])
    def test_other_integer_text_is_left_to_the_routes_validation(self, raw: str) -> None:
        assert unstorable_parameter(raw, integral=True) is None

    def test_text_parameters_may_be_long_digit_strings_but_never_hold_u0000(self) -> None:
        assert unstorable_parameter("99999999999999999999", integral=False) is None
        assert unstorable_parameter("04A\x00", integral=False) == NUL_MESSAGE
