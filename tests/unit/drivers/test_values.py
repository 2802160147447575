"""Drivers' and tokens' value objects: idTag and e-mail address."""

from __future__ import annotations

import pytest

from evbilling.charging import domain as charging
from evbilling.drivers.domain import Email, IdTag
from evbilling.kit.values import InvalidValue


class TestIdTag:
    @pytest.mark.parametrize(
        ("given", "stored"),
        [
            ("04a2b3c4", "04A2B3C4"),
            (" 04A2B3C4 ", "04A2B3C4"),
            ("X" * 20, "X" * 20),
            ("A B", "A B"),
        ],
    )
    def test_stores_the_tag_upper_case_without_surrounding_blanks(
        self, given: str, stored: str
    ) -> None:
        assert IdTag.parse(given) == stored

    @pytest.mark.parametrize("given", ["04a2b3c4", " 04A2\t", "ab-cd\n", "x"])
    def test_normalises_as_charging_compares_tags(self, given: str) -> None:
        assert IdTag.normalize(given) == charging.normalize_id_tag(given)

    @pytest.mark.parametrize("tag", ["04A2\n9", "04A2\x00", "\x00", "", "   ", "X" * 21, "CAFÉ"])
    def test_refuses_anything_else(self, tag: str) -> None:
        with pytest.raises(InvalidValue) as raised:
            IdTag.parse(tag)
        assert raised.value.field == "uid"
        assert str(raised.value) == "must be 1 to 20 printable ASCII characters"

    def test_names_the_field_it_is_read_for(self) -> None:
        with pytest.raises(InvalidValue) as raised:
            IdTag.parse("X" * 21, field="parent_id_tag")
        assert raised.value.field == "parent_id_tag"


class TestEmail:
    @pytest.mark.parametrize(
        ("given", "stored"),
        [("ada@example.com", "ada@example.com"), (" ada@example.com\n", "ada@example.com")],
    )
    def test_accepts_an_address(self, given: str, stored: str) -> None:
        assert Email.parse(given) == stored

    @pytest.mark.parametrize(
        "email",
        ["ada", "ada@", "@example.com", "ada @example.com", "ada@example.com\nx", "ada@ex\x00.com",
         "a@" + "b" * 320 + ".com"],
    )  # fmt: skip
    def test_refuses_anything_else(self, email: str) -> None:
        with pytest.raises(InvalidValue) as raised:
            Email.parse(email)
        assert raised.value.field == "email"
