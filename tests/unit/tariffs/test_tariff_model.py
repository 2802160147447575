"""The OCPI 2.2.1 Tariff model: parsing, field-level validation and lossless export."""

from __future__ import annotations

import copy
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any

import pytest

from evbilling.tariffs.domain import (
    DayOfWeek,
    InvalidTariff,
    Price,
    ReservationRestrictionType,
    Tariff,
    TariffDimensionType,
    TariffType,
    dumps_ocpi,
    format_ocpi_datetime,
    loads_ocpi,
    parse_ocpi_datetime,
    parse_tariff,
    tariff_to_ocpi,
)
from tests.fixtures import OCPI_EXAMPLES

EXAMPLES = OCPI_EXAMPLES
TARIFF_FILES = sorted(path.name for path in EXAMPLES.glob("tariff*.json"))


def read_example(name: str) -> Any:
    return loads_ocpi((EXAMPLES / name).read_text())


def minimal_tariff(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "country_code": "NL",
        "party_id": "EVB",
        "id": "T1",
        "currency": "EUR",
        "elements": [
            {"price_components": [{"type": "ENERGY", "price": Decimal("0.25"), "step_size": 1}]}
        ],
        "last_updated": "2025-01-01T00:00:00Z",
    }
    data.update(overrides)
    return data


def errors_of(data: Any) -> list[str]:
    with pytest.raises(InvalidTariff) as caught:
        parse_tariff(data)
    return caught.value.messages


class TestSpecExamples:
    def test_finds_every_tariff_example_of_the_spec(self) -> None:
        assert len(TARIFF_FILES) == 20

    @pytest.mark.parametrize("name", TARIFF_FILES)
    def test_parses_and_round_trips_every_spec_example(self, name: str) -> None:
        original = read_example(name)

        tariff = parse_tariff(original)
        exported = tariff_to_ocpi(tariff)

        assert loads_ocpi(dumps_ocpi(exported)) == original
        assert parse_tariff(exported) == tariff

    @pytest.mark.parametrize("name", TARIFF_FILES)
    def test_writes_numbers_back_with_their_original_digits(self, name: str) -> None:
        text = (EXAMPLES / name).read_text()

        exported = dumps_ocpi(tariff_to_ocpi(parse_tariff(loads_ocpi(text))))

        for number in ("2.00", "0.25", "10.0", "32.00"):
            if f": {number}" in text:
                assert f": {number}" in exported

    def test_parses_the_tariff_embedded_in_the_cdr_example(self) -> None:
        cdr = read_example("cdr_example.json")

        tariff = parse_tariff(cdr["tariffs"][0])

        assert tariff.id == "12"
        assert tariff.elements[0].price_components[0].step_size == 300

    def test_reads_every_field_of_the_complex_example(self) -> None:
        tariff = parse_tariff(read_example("tariff_4_complex.json"))

        assert tariff.type is TariffType.REGULAR
        assert tariff.tariff_alt_url == "https://company.com/tariffs/14"
        assert tariff.last_updated == datetime(2015, 6, 29, 20, 39, 9, tzinfo=UTC)
        flat = tariff.elements[0].price_components[0]
        assert flat.type is TariffDimensionType.FLAT
        assert flat.price == Decimal("2.50")
        assert flat.vat == Decimal("15.0")
        weekend = tariff.elements[5].restrictions
        assert weekend is not None
        assert weekend.start_time == time(10, 0)
        assert weekend.end_time == time(17, 0)
        assert weekend.day_of_week == (DayOfWeek.SATURDAY,)
        assert tariff.elements[1].restrictions is not None
        assert tariff.elements[1].restrictions.max_current == Decimal("32.00")

    def test_reads_prices_and_validity_window(self) -> None:
        tariff = parse_tariff(read_example("tariff_6_025kwh_start_max_price.json"))

        assert tariff.max_price == Price(excl_vat=Decimal("10.00"), incl_vat=Decimal("11.00"))
        assert tariff.end_date_time == datetime(2019, 6, 30, 23, 59, 59, tzinfo=UTC)

    def test_reads_reservation_restrictions(self) -> None:
        tariff = parse_tariff(read_example("tariff_17_reservation_with_expire_fee.json"))

        kinds = [
            element.restrictions and element.restrictions.reservation for element in tariff.elements
        ]

        assert kinds == [
            ReservationRestrictionType.RESERVATION_EXPIRES,
            ReservationRestrictionType.RESERVATION,
            None,
        ]

    def test_accepts_a_tariff_without_last_updated_like_the_put_example(self) -> None:
        tariff = parse_tariff(read_example("tariff_put_example.json"))

        assert tariff.last_updated is None
        assert "last_updated" not in tariff_to_ocpi(tariff)


class TestParseTariffAcceptance:
    def test_accepts_a_window_crossing_midnight(self) -> None:
        data = minimal_tariff()
        data["elements"][0]["restrictions"] = {"start_time": "22:00", "end_time": "06:00"}

        tariff = parse_tariff(data)

        restrictions = tariff.elements[0].restrictions
        assert restrictions is not None
        assert (restrictions.start_time, restrictions.end_time) == (time(22, 0), time(6, 0))

    def test_accepts_all_restriction_fields(self) -> None:
        restrictions = {
            "start_time": "08:00",
            "end_time": "18:30",
            "start_date": "2025-01-01",
            "end_date": "2026-01-01",
            "min_kwh": Decimal("1.5"),
            "max_kwh": 40,
            "min_current": 6,
            "max_current": Decimal("32.0"),
            "min_power": Decimal("3.7"),
            "max_power": 22,
            "min_duration": 0,
            "max_duration": 3600,
            "day_of_week": ["MONDAY", "FRIDAY"],
        }
        data = minimal_tariff()
        data["elements"][0]["restrictions"] = restrictions

        tariff = parse_tariff(data)

        parsed = tariff.elements[0].restrictions
        assert parsed is not None
        assert parsed.start_date == date(2025, 1, 1)
        assert parsed.max_kwh == 40
        assert parsed.day_of_week == (DayOfWeek.MONDAY, DayOfWeek.FRIDAY)
        assert tariff_to_ocpi(tariff)["elements"][0]["restrictions"] == restrictions

    def test_treats_null_as_absent(self) -> None:
        tariff = parse_tariff(minimal_tariff(type=None, min_price=None, tariff_alt_text=None))

        assert tariff.type is None
        assert tariff.min_price is None
        assert tariff.tariff_alt_text == ()

    def test_keeps_energy_mix_as_an_opaque_read_only_copy(self) -> None:
        mix = {
            "is_green_energy": True,
            "energy_sources": [{"source": "SOLAR", "percentage": Decimal("100")}],
        }
        data = minimal_tariff(energy_mix=mix)

        tariff = parse_tariff(data)
        mix["is_green_energy"] = False

        assert tariff.energy_mix is not None
        assert tariff.energy_mix["is_green_energy"] is True
        with pytest.raises(TypeError):
            tariff.energy_mix["is_green_energy"] = False  # type: ignore[index]
        assert tariff_to_ocpi(tariff)["energy_mix"]["energy_sources"][0]["percentage"] == 100

    def test_accepts_an_integral_decimal_step_size(self) -> None:
        data = minimal_tariff()
        data["elements"][0]["price_components"][0]["step_size"] = Decimal("300.0")

        assert parse_tariff(data).elements[0].price_components[0].step_size == 300

    def test_is_hashable_and_compares_by_value(self) -> None:
        first = parse_tariff(minimal_tariff())
        second = parse_tariff(copy.deepcopy(minimal_tariff()))

        assert first == second
        assert hash(first) == hash(second)
        assert isinstance(first, Tariff)


class TestParseTariffErrors:
    def test_reports_the_step_size_of_a_component_by_path(self) -> None:
        data = minimal_tariff()
        data["elements"][0]["price_components"].append(
            {"type": "TIME", "price": Decimal("1.00"), "step_size": 0}
        )

        assert errors_of(data) == [
            "elements[0].price_components[1].step_size: must be a positive integer"
        ]

    def test_collects_every_error_in_one_report(self) -> None:
        data = {
            "country_code": "NLD",
            "party_id": "EV",
            "currency": "eur",
            "elements": [
                {
                    "price_components": [
                        {"type": "SPEED", "price": Decimal("-1"), "vat": 120, "step_size": -5}
                    ],
                    "restrictions": {"start_time": "24:00", "day_of_week": ["FUNDAY"]},
                }
            ],
            "last_updated": "yesterday",
        }

        assert errors_of(data) == [
            "country_code: must match ^[A-Za-z]{2}$",
            "party_id: must match ^[A-Za-z0-9]{3}$",
            "id: is required",
            "currency: must be an ISO 4217 code of three upper-case letters",
            "elements[0].price_components[0].type: must be one of ENERGY, FLAT, PARKING_TIME, TIME",
            "elements[0].price_components[0].price: must not be negative",
            "elements[0].price_components[0].vat: must be at most 100",
            "elements[0].price_components[0].step_size: must be a positive integer",
            "elements[0].restrictions.day_of_week[0]: must be one of MONDAY, TUESDAY, "
            "WEDNESDAY, THURSDAY, FRIDAY, SATURDAY, SUNDAY",
            "elements[0].restrictions.start_time: must be a time of day HH:MM (00:00 to 23:59)",
            "last_updated: must be an ISO 8601 DateTime in UTC, e.g. 2015-06-29T20:39:09Z",
        ]

    @pytest.mark.parametrize(
        ("change", "message"),
        [
            (lambda d: d.pop("elements"), "elements: is required"),
            (lambda d: d.update(elements=[]), "elements: must contain at least one item"),
            (lambda d: d.update(elements={}), "elements: must be a list"),
            (lambda d: d.update(colour="green"), "colour: unknown field"),
            (
                lambda d: d.update(type="CHEAP"),
                "type: must be one of AD_HOC_PAYMENT, PROFILE_CHEAP, PROFILE_FAST, "
                "PROFILE_GREEN, REGULAR",
            ),
            (lambda d: d.update(id="x" * 37), "id: must be at most 36 characters"),
            (lambda d: d.update(id="tariff\u00e9"), "id: must be printable ASCII"),
            (lambda d: d.update(tariff_alt_url=7), "tariff_alt_url: must be a string"),
            (lambda d: d.update(min_price={"incl_vat": 1}), "min_price.excl_vat: is required"),
            (
                lambda d: d.update(min_price={"excl_vat": 5}, max_price={"excl_vat": 4}),
                "min_price.excl_vat: must not exceed max_price.excl_vat",
            ),
            (
                lambda d: d.update(
                    start_date_time="2025-02-01T00:00:00Z", end_date_time="2025-01-01T00:00:00Z"
                ),
                "end_date_time: must be after start_date_time",
            ),
            (
                lambda d: d.update(tariff_alt_text=[{"language": "english", "text": "hi"}]),
                "tariff_alt_text[0].language: must match ^[A-Za-z]{2}$",
            ),
            (lambda d: d.update(energy_mix=[]), "energy_mix: must be an object"),
        ],
    )
    def test_reports_tariff_level_errors(self, change: Any, message: str) -> None:
        data = minimal_tariff()
        change(data)

        assert errors_of(data) == [message]

    @pytest.mark.parametrize(
        ("component", "message"),
        [
            (
                {"type": "ENERGY", "price": 0.25, "step_size": 1},
                "elements[0].price_components[0].price: "
                "must be a decimal number (parse JSON with parse_float=Decimal)",
            ),
            (
                {"type": "ENERGY", "price": "0.25", "step_size": 1},
                "elements[0].price_components[0].price: must be a number",
            ),
            (
                {"type": "ENERGY", "price": Decimal("NaN"), "step_size": 1},
                "elements[0].price_components[0].price: must be a finite number",
            ),
            (
                {"type": "ENERGY", "price": True, "step_size": 1},
                "elements[0].price_components[0].price: must be a number",
            ),
            (
                {"type": "ENERGY", "step_size": 1},
                "elements[0].price_components[0].price: is required",
            ),
            (
                {"type": "ENERGY", "price": 1, "step_size": Decimal("1.5")},
                "elements[0].price_components[0].step_size: must be a positive integer",
            ),
            (
                {"type": "FLAT", "price": 1, "step_size": -1},
                "elements[0].price_components[0].step_size: must be an integer >= 0",
            ),
            (
                {"type": "ENERGY", "price": 1, "vat": -1, "step_size": 1},
                "elements[0].price_components[0].vat: must not be negative",
            ),
            (
                {"type": "ENERGY", "price": 1, "step": 1},
                "elements[0].price_components[0].step: unknown field",
            ),
        ],
    )
    def test_reports_component_errors(self, component: dict[str, Any], message: str) -> None:
        data = minimal_tariff(elements=[{"price_components": [component]}])

        assert message in errors_of(data)

    @pytest.mark.parametrize(
        ("restrictions", "message"),
        [
            ({"min_kwh": 10, "max_kwh": 5}, "min_kwh: must be less than max_kwh"),
            (
                {"min_duration": 60, "max_duration": 60},
                "min_duration: must be less than max_duration",
            ),
            ({"min_power": Decimal("-1")}, "min_power: must not be negative"),
            ({"max_duration": Decimal("1.5")}, "max_duration: must be an integer >= 0"),
            ({"start_date": "2025-02-30"}, "start_date: is not a calendar date"),
            ({"end_date": "25-01-01"}, "end_date: must be a date YYYY-MM-DD"),
            (
                {"start_date": "2025-02-01", "end_date": "2025-02-01"},
                "start_date: must be before end_date (end_date is exclusive)",
            ),
            ({"end_time": "7:00"}, "end_time: must be a time of day HH:MM (00:00 to 23:59)"),
            ({"day_of_week": ["MONDAY", "MONDAY"]}, "day_of_week[1]: MONDAY is listed twice"),
            (
                {"reservation": "MAYBE"},
                "reservation: must be one of RESERVATION, RESERVATION_EXPIRES",
            ),
            ({"max_speed": 3}, "max_speed: unknown field"),
        ],
    )
    def test_reports_restriction_errors(self, restrictions: dict[str, Any], message: str) -> None:
        data = minimal_tariff()
        data["elements"][0]["restrictions"] = restrictions

        assert errors_of(data) == [f"elements[0].restrictions.{message}"]

    def test_refuses_two_components_of_one_dimension_in_an_element(self) -> None:
        component = {"type": "ENERGY", "price": Decimal("0.25"), "step_size": 1}
        data = minimal_tariff(elements=[{"price_components": [component, dict(component)]}])

        assert errors_of(data) == [
            "elements[0].price_components[1].type: "
            "ENERGY appears twice in this element (one component per dimension)"
        ]

    def test_refuses_energy_in_a_reservation_element(self) -> None:
        data = minimal_tariff()
        data["elements"][0]["restrictions"] = {"reservation": "RESERVATION"}

        assert errors_of(data) == [
            "elements[0].price_components[0].type: "
            "a reservation element may only have FLAT and TIME components"
        ]

    def test_refuses_something_that_is_not_an_object(self) -> None:
        assert errors_of(["not", "a", "tariff"]) == ["$: must be an object"]

    def test_carries_structured_field_errors(self) -> None:
        with pytest.raises(InvalidTariff) as caught:
            parse_tariff(minimal_tariff(currency="euro"))

        assert [(error.path, error.message) for error in caught.value.errors] == [
            ("currency", "must be an ISO 4217 code of three upper-case letters")
        ]
        assert str(caught.value) == "currency: must be an ISO 4217 code of three upper-case letters"


class TestOcpiJson:
    def test_writes_decimals_exactly_without_exponents(self) -> None:
        data = {
            "a": Decimal("2.00"),
            "b": Decimal("1E+1"),
            "c": [Decimal("0.0000001"), 3, None, True],
        }

        assert dumps_ocpi(data) == '{"a": 2.00, "b": 10, "c": [0.0000001, 3, null, true]}'

    def test_indents_like_json(self) -> None:
        assert dumps_ocpi({"a": [1, {}], "b": []}, indent=2) == (
            '{\n  "a": [\n    1,\n    {}\n  ],\n  "b": []\n}'
        )

    def test_refuses_floats_and_other_objects(self) -> None:
        with pytest.raises(TypeError):
            dumps_ocpi({"price": 0.1})
        with pytest.raises(TypeError):
            dumps_ocpi({"at": datetime(2025, 1, 1, tzinfo=UTC)})

    def test_loads_numbers_as_decimals(self) -> None:
        assert loads_ocpi('{"price": 0.10, "step": 300}') == {"price": Decimal("0.10"), "step": 300}

    def test_formats_datetimes_in_utc_with_z(self) -> None:
        moment = parse_ocpi_datetime("2015-06-29T20:39:09")

        assert format_ocpi_datetime(moment) == "2015-06-29T20:39:09Z"
        assert format_ocpi_datetime(datetime(2025, 1, 1, 0, 0, 0, 500000, tzinfo=UTC)) == (
            "2025-01-01T00:00:00.5Z"
        )
