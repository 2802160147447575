"""Tariff magnitudes are bounded: each out-of-range number is refused with its field."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from evbilling.tariffs.domain import InvalidTariff, loads_ocpi, parse_tariff
from evbilling.tariffs.domain.limits import (
    MAX_CURRENT,
    MAX_DURATION,
    MAX_KWH,
    MAX_POWER,
    MAX_PRICE,
)

COMPONENT = "elements[0].price_components[0]"
RESTRICTIONS = "elements[0].restrictions"


def tariff_text(*, component: str = "", restrictions: str = "", top: str = "") -> str:
    """A valid tariff's JSON text with one field written as given (numbers stay exact)."""
    fields = {"type": '"ENERGY"', "price": "0.25", "vat": "19", "step_size": "1"}
    for item in filter(None, component.split(";")):
        name, value = item.split("=", 1)
        fields[name] = value
    body = ", ".join(f'"{name}": {value}' for name, value in fields.items())
    element = f'{{"price_components": [{{{body}}}]'
    if restrictions:
        name, value = restrictions.split("=", 1)
        element += f', "restrictions": {{"{name}": {value}}}'
    element += "}"
    extra = f", {top}" if top else ""
    return (
        '{"country_code": "NL", "party_id": "EVB", "id": "B", "currency": "EUR", '
        f'"elements": [{element}]{extra}}}'
    )


def refusal(text: str) -> list[tuple[str, str]]:
    with pytest.raises(InvalidTariff) as caught:
        parse_tariff(loads_ocpi(text))
    return [(error.path, error.message) for error in caught.value.errors]


class TestPriceBounds:
    @pytest.mark.parametrize(
        ("price", "message"),
        [
            ("1e400", f"must be at most {MAX_PRICE}"),
            ("1e30", f"must be at most {MAX_PRICE}"),
            ("1000000000.01", f"must be at most {MAX_PRICE}"),
            ("-0.01", "must not be negative"),
            ("0.0000001", "must have at most 6 decimal places"),
            ("1e-400", "must have at most 6 decimal places"),
        ],
    )
    def test_refuses_a_unit_price_out_of_bounds(self, price: str, message: str) -> None:
        assert refusal(tariff_text(component=f"price={price}")) == [(f"{COMPONENT}.price", message)]

    @pytest.mark.parametrize("price", ["0", "1000000000", "0.000001", "2.000000000"])
    def test_accepts_a_unit_price_at_its_bounds(self, price: str) -> None:
        tariff = parse_tariff(loads_ocpi(tariff_text(component=f"price={price}")))

        assert tariff.elements[0].price_components[0].price == Decimal(price)

    @pytest.mark.parametrize(
        ("field", "value", "path", "message"),
        [
            ("min_price", '{"excl_vat": 1e12}', "min_price.excl_vat", "must be at most"),
            ("max_price", '{"excl_vat": 1, "incl_vat": 1e400}', "max_price.incl_vat", "at most"),
            ("min_price", '{"excl_vat": 0.0000005}', "min_price.excl_vat", "decimal places"),
        ],
    )
    def test_refuses_session_price_bounds_out_of_bounds(
        self, field: str, value: str, path: str, message: str
    ) -> None:
        [(where, said)] = refusal(tariff_text(top=f'"{field}": {value}'))

        assert where == path
        assert message in said

    @pytest.mark.parametrize(
        ("vat", "message"),
        [("100.5", "must be at most 100"), ("19.0000001", "must have at most 6 decimal places")],
    )
    def test_refuses_vat_out_of_bounds(self, vat: str, message: str) -> None:
        assert refusal(tariff_text(component=f"vat={vat}")) == [(f"{COMPONENT}.vat", message)]


class TestStepSizeBounds:
    @pytest.mark.parametrize(
        ("kind", "step", "message"),
        [
            ("ENERGY", "0", "must be a positive integer"),
            ("ENERGY", "1000001", "must be at most 1000000"),
            ("TIME", "86401", "must be at most 86400"),
            ("PARKING_TIME", "1e15", "must be at most 86400"),
            ("FLAT", "1e400", "must be at most 1000000"),
            ("TIME", "1.5", "must be a positive integer"),
        ],
    )
    def test_refuses_a_step_size_out_of_bounds(self, kind: str, step: str, message: str) -> None:
        text = tariff_text(component=f'type="{kind}";step_size={step}')

        assert refusal(text) == [(f"{COMPONENT}.step_size", message)]

    @pytest.mark.parametrize(("kind", "step"), [("TIME", 86_400), ("ENERGY", 1_000_000)])
    def test_accepts_the_largest_step_size(self, kind: str, step: int) -> None:
        tariff = parse_tariff(loads_ocpi(tariff_text(component=f'type="{kind}";step_size={step}')))

        assert tariff.elements[0].price_components[0].step_size == step


class TestRestrictionBounds:
    @pytest.mark.parametrize(
        ("field", "value", "message"),
        [
            ("min_kwh", "100000.5", f"must be at most {MAX_KWH}"),
            ("max_kwh", "1e30", f"must be at most {MAX_KWH}"),
            ("min_kwh", "0.0000001", "must have at most 6 decimal places"),
            ("max_current", "10001", f"must be at most {MAX_CURRENT}"),
            ("min_current", "-1", "must not be negative"),
            ("max_power", "1e400", f"must be at most {MAX_POWER}"),
            ("min_power", "1e-9", "must have at most 6 decimal places"),
            ("min_duration", str(MAX_DURATION + 1), f"must be at most {MAX_DURATION}"),
            ("max_duration", "1e400", f"must be at most {MAX_DURATION}"),
            ("max_duration", "-5", "must be an integer >= 0"),
        ],
    )
    def test_refuses_a_restriction_out_of_bounds(
        self, field: str, value: str, message: str
    ) -> None:
        assert refusal(tariff_text(restrictions=f"{field}={value}")) == [
            (f"{RESTRICTIONS}.{field}", message)
        ]

    @pytest.mark.parametrize(
        ("field", "value"),
        [
            ("max_kwh", "100000"),
            ("max_current", "10000"),
            ("max_power", "10000"),
            ("max_duration", str(MAX_DURATION)),
        ],
    )
    def test_accepts_a_restriction_at_its_bound(self, field: str, value: str) -> None:
        tariff = parse_tariff(loads_ocpi(tariff_text(restrictions=f"{field}={value}")))

        restrictions = tariff.elements[0].restrictions
        assert restrictions is not None
        assert getattr(restrictions, field) == Decimal(value)

    def test_reports_every_bound_broken_at_once(self) -> None:
        text = tariff_text(component="price=1e400;step_size=0", top='"max_price": {"excl_vat": -1}')

        paths: list[Any] = [path for path, _ in refusal(text)]

        assert paths == ["max_price.excl_vat", f"{COMPONENT}.price", f"{COMPONENT}.step_size"]
