"""A station's value objects: each rule written once, refused whole (fullmatch)."""

from __future__ import annotations

import pytest

from evbilling.kit.errors import InvalidRequest
from evbilling.kit.values import InvalidValue
from evbilling.stations.domain import EvseUid, StationIdentity


class TestStationIdentity:
    @pytest.mark.parametrize("identity", ["CP-1", "a", "x" * 48, "site.1_bay~2:A-"])
    def test_accepts_unreserved_url_characters_exactly_as_given(self, identity: str) -> None:
        assert StationIdentity.parse(identity) == identity

    @pytest.mark.parametrize(
        "identity",
        [
            "CP-9\n",
            "\nCP-9",
            "CP\n9",
            "CP-9\x00",
            "\x00",
            "",
            "x" * 49,
            "CP/1",
            "CP 1",
            " CP-1",
            "é",
        ],
    )
    def test_refuses_anything_else(self, identity: str) -> None:
        with pytest.raises(InvalidValue) as raised:
            StationIdentity.parse(identity)
        assert raised.value.field == "identity"
        assert "A-Z a-z 0-9" in str(raised.value)

    def test_refuses_what_is_not_text_as_an_invalid_request(self) -> None:
        with pytest.raises(InvalidRequest) as raised:
            StationIdentity.parse(42)
        assert raised.value.field == "identity"


class TestEvseUid:
    @pytest.mark.parametrize(
        ("given", "stored"),
        [
            ("DE*ABC*E1234", "DE*ABC*E1234"),
            ("de*abc*e1234", "DE*ABC*E1234"),
            ("DEABCE1", "DEABCE1"),
        ],
    )
    def test_stores_the_id_upper_case(self, given: str, stored: str) -> None:
        assert EvseUid.parse(given) == stored

    def test_trims_surrounding_blanks(self) -> None:
        assert EvseUid.parse(" DE*ABC*E1 \n") == "DE*ABC*E1"

    @pytest.mark.parametrize(
        "uid",
        [
            "DE*ABC*E1\n9",
            "DE*ABC*E1\x00",
            "nonsense",
            "D*ABC*E1",
            "DE*ABC*X1",
            "DE*ABC*E" + "1" * 41,
        ],
    )
    def test_refuses_anything_else(self, uid: str) -> None:
        with pytest.raises(InvalidValue) as raised:
            EvseUid.parse(uid)
        assert raised.value.field == "uid"
