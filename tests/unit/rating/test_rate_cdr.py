"""Re-rating a partner's OCPI CDR (`evbilling rate`): periods from dimensions, audit, errors."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from evbilling.rating.engine import (
    InvalidCdr,
    rate_ocpi_cdr,
)
from evbilling.tariffs.domain import (
    InvalidTariff,
    dumps_ocpi,
    loads_ocpi,
)
from tests.unit.rating.builders import (
    EXAMPLES,
)


class TestRateOcpiCdr:
    def cdr(self, *periods: dict[str, Any], end: str = "2025-03-04T12:00:00Z") -> dict[str, Any]:
        return {
            "currency": "EUR",
            "start_date_time": periods[0]["start_date_time"],
            "end_date_time": end,
            "charging_periods": list(periods),
        }

    def test_needs_a_time_zone_for_local_time_restrictions(self) -> None:
        cdr = self.cdr(
            {
                "start_date_time": "2025-03-04T10:00:00Z",
                "dimensions": [{"type": "TIME", "volume": 2}],
            }
        )

        with pytest.raises(InvalidCdr, match="time_zone"):
            rate_ocpi_cdr(
                tariff_json=loads_ocpi((EXAMPLES / "tariff_14_step_size.json").read_text()),
                cdr_json=cdr,
                time_zone=None,
            )

    def test_splits_a_period_reporting_both_charging_and_parking_time(self) -> None:
        cdr = self.cdr(
            {
                "start_date_time": "2025-03-04T10:00:00Z",
                "dimensions": [
                    {"type": "ENERGY", "volume": Decimal("20")},
                    {"type": "TIME", "volume": Decimal("1.5")},
                    {"type": "PARKING_TIME", "volume": Decimal("0.5")},
                ],
            }
        )
        tariff_json = loads_ocpi((EXAMPLES / "tariff_13_simple_3hour_5parking.json").read_text())

        out = rate_ocpi_cdr(tariff_json=tariff_json, cdr_json=cdr, time_zone=None)

        assert out["total_time_cost"]["excl_vat"] == Decimal("4.50")
        assert out["total_parking_cost"]["excl_vat"] == Decimal("2.50")
        assert out["total_parking_time"] == Decimal("0.500000")

    def test_accepts_every_ocpi_221_dimension_type(self) -> None:
        cdr = self.cdr(
            {
                "start_date_time": "2025-03-04T10:00:00Z",
                "dimensions": [
                    {"type": "ENERGY", "volume": Decimal("10")},
                    {"type": "ENERGY_IMPORT", "volume": Decimal("10")},
                    {"type": "ENERGY_EXPORT", "volume": Decimal("0.5")},
                    {"type": "CURRENT", "volume": Decimal("-12.5")},
                    {"type": "POWER", "volume": Decimal("-3.2")},
                    {"type": "STATE_OF_CHARGE", "volume": Decimal("80")},
                    {"type": "MIN_CURRENT", "volume": Decimal("6")},
                    {"type": "MAX_CURRENT", "volume": Decimal("32")},
                    {"type": "MIN_POWER", "volume": Decimal("3")},
                    {"type": "MAX_POWER", "volume": Decimal("11")},
                    {"type": "TIME", "volume": Decimal("2")},
                ],
            }
        )
        tariff_json = loads_ocpi((EXAMPLES / "tariff_8_simple_025kwh.json").read_text())

        out = rate_ocpi_cdr(tariff_json=tariff_json, cdr_json=cdr, time_zone=None)

        assert out["total_energy"] == Decimal("10")
        assert out["total_cost"]["excl_vat"] == Decimal("2.50")

    def test_prices_energy_import_when_a_partner_reports_no_energy(self) -> None:
        cdr = self.cdr(
            {
                "start_date_time": "2025-03-04T10:00:00Z",
                "dimensions": [
                    {"type": "ENERGY_IMPORT", "volume": Decimal("8")},
                    {"type": "TIME", "volume": Decimal("2")},
                ],
            }
        )
        tariff_json = loads_ocpi((EXAMPLES / "tariff_8_simple_025kwh.json").read_text())

        out = rate_ocpi_cdr(tariff_json=tariff_json, cdr_json=cdr, time_zone=None)

        assert out["total_cost"]["excl_vat"] == Decimal("2.00")

    @pytest.mark.parametrize(
        ("power_kw", "price_per_kwh"),
        [(Decimal("11"), Decimal("0.20")), (Decimal("22"), Decimal("0.35"))],
    )
    def test_average_power_chooses_the_power_restricted_element(
        self, power_kw: Decimal, price_per_kwh: Decimal
    ) -> None:
        cdr = self.cdr(
            {
                "start_date_time": "2025-03-04T10:00:00Z",
                "dimensions": [
                    {"type": "ENERGY", "volume": Decimal("10")},
                    {"type": "POWER", "volume": power_kw},
                    {"type": "TIME", "volume": Decimal("2")},
                ],
            }
        )
        tariff_json = loads_ocpi(
            (EXAMPLES / "tariffrestriction_example_max_power.json").read_text()
        )

        out = rate_ocpi_cdr(tariff_json=tariff_json, cdr_json=cdr, time_zone=None)

        assert out["total_cost"]["excl_vat"] == 10 * price_per_kwh

    def test_a_tariff_without_an_id_is_the_one_the_periods_name(self) -> None:
        cdr = self.cdr(
            {
                "start_date_time": "2025-03-04T10:00:00Z",
                "tariff_id": "12",
                "dimensions": [{"type": "ENERGY", "volume": Decimal("4")}],
            }
        )
        tariff_json = dict(loads_ocpi((EXAMPLES / "tariff_8_simple_025kwh.json").read_text()))
        del tariff_json["id"]

        out = rate_ocpi_cdr(tariff_json=tariff_json, cdr_json=cdr, time_zone=None)

        assert out["total_cost"]["excl_vat"] == Decimal("1.00")
        assert out["warnings"] == ["tariff.id: missing; rated as '12'"]

    def test_malformed_identification_is_still_an_error(self) -> None:
        cdr = self.cdr(
            {
                "start_date_time": "2025-03-04T10:00:00Z",
                "dimensions": [{"type": "ENERGY", "volume": Decimal("4")}],
            }
        )
        tariff_json = dict(loads_ocpi((EXAMPLES / "tariff_8_simple_025kwh.json").read_text()))
        tariff_json["party_id"] = "TOO-LONG"

        with pytest.raises(InvalidTariff, match="party_id"):
            rate_ocpi_cdr(tariff_json=tariff_json, cdr_json=cdr, time_zone=None)

    def test_a_complete_tariff_gives_no_warnings(self) -> None:
        cdr = loads_ocpi((EXAMPLES / "cdr_example.json").read_text())

        out = rate_ocpi_cdr(tariff_json=cdr["tariffs"][0], cdr_json=cdr, time_zone=None)

        assert "warnings" not in out

    def test_only_current_and_power_may_be_negative(self) -> None:
        cdr = self.cdr(
            {
                "start_date_time": "2025-03-04T10:00:00Z",
                "dimensions": [
                    {"type": "ENERGY_EXPORT", "volume": Decimal("-1")},
                    {"type": "TIME", "volume": Decimal("2")},
                ],
            }
        )
        tariff_json = loads_ocpi((EXAMPLES / "tariff_8_simple_025kwh.json").read_text())

        with pytest.raises(InvalidCdr) as caught:
            rate_ocpi_cdr(tariff_json=tariff_json, cdr_json=cdr, time_zone=None)

        assert [str(error) for error in caught.value.errors] == [
            "charging_periods[0].dimensions[0].volume: must be a finite number >= 0"
        ]

    def test_lists_every_cdr_error_with_its_path(self) -> None:
        cdr = {
            "currency": "USD",
            "end_date_time": "soon",
            "charging_periods": [
                {
                    "start_date_time": "2025-03-04T10:00:00Z",
                    "tariff_id": "99",
                    "dimensions": [
                        {"type": "ENERGY", "volume": 1.5},
                        {"type": "SPEED", "volume": 1},
                    ],
                }
            ],
        }

        with pytest.raises(InvalidCdr) as caught:
            rate_ocpi_cdr(
                tariff_json=loads_ocpi((EXAMPLES / "tariff_8_simple_025kwh.json").read_text()),
                cdr_json=cdr,
                time_zone="UTC",
            )

        assert [str(error) for error in caught.value.errors] == [
            "currency: is 'USD', the tariff's is EUR",
            "end_date_time: must be an ISO 8601 DateTime in UTC",
            "charging_periods[0].tariff_id: is '99', not the rated tariff",
            "charging_periods[0].dimensions[0].volume: "
            "must be a decimal number (parse JSON with parse_float=Decimal)",
            "charging_periods[0].dimensions[1].type: is not a CdrDimensionType",
        ]

    def test_returns_json_ready_output(self) -> None:
        cdr = loads_ocpi((EXAMPLES / "cdr_example.json").read_text())

        out = rate_ocpi_cdr(
            tariff_json=cdr["tariffs"][0], cdr_json=cdr, time_zone="Europe/Brussels"
        )

        assert loads_ocpi(dumps_ocpi(out)) == out
        assert out["charging_periods"][0]["dimensions"][-1] == {
            "type": "TIME",
            "volume": Decimal("1.973056"),
        }
