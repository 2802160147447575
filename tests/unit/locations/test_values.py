"""A location's value objects: country code and time zone."""

from __future__ import annotations

import pytest

from evbilling.kit.values import InvalidValue
from evbilling.locations.domain import CountryCode, TimeZone


class TestCountryCode:
    @pytest.mark.parametrize(("given", "stored"), [("DEU", "DEU"), (" FRA ", "FRA")])
    def test_accepts_upper_case_alpha_3(self, given: str, stored: str) -> None:
        assert CountryCode.parse(given) == stored

    @pytest.mark.parametrize("country", ["DE\nU", "DEU\x00", "de", "DE", "deu", "DEUT", "", "D3U"])
    def test_refuses_anything_else(self, country: str) -> None:
        with pytest.raises(InvalidValue) as raised:
            CountryCode.parse(country)
        assert raised.value.field == "country"


class TestTimeZone:
    @pytest.mark.parametrize(
        "zone", ["Europe/Berlin", "UTC", "Etc/GMT+1", "America/Argentina/Buenos_Aires"]
    )
    def test_accepts_iana_zones_this_installation_knows(self, zone: str) -> None:
        assert TimeZone.parse(zone) == zone

    @pytest.mark.parametrize(
        "zone",
        ["Europe/Berlin\nUTC", "UTC\x00", "../etc/passwd", "/etc/localtime", "Europe//Berlin", "",
         "A" * 65],
    )  # fmt: skip
    def test_refuses_what_is_no_zone_name(self, zone: str) -> None:
        with pytest.raises(InvalidValue) as raised:
            TimeZone.parse(zone)
        assert raised.value.field == "time_zone"
        assert "IANA time zone" in str(raised.value)

    @pytest.mark.parametrize("zone", ["Mars/Olympus", "Europe", "America"])
    def test_refuses_names_the_zone_database_does_not_know(self, zone: str) -> None:
        with pytest.raises(InvalidValue) as raised:
            TimeZone.parse(zone)
        assert str(raised.value) == f"unknown IANA time zone {zone!r} (e.g. Europe/Berlin)"
