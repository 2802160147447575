"""`evbilling rate` prices the volumes the partner reported, not the gaps between timestamps."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from evbilling.rating.engine import InvalidCdr, rate_ocpi_cdr
from evbilling.tariffs.domain import loads_ocpi
from tests.unit.rating.builders import EXAMPLES


def example(name: str) -> Any:
    return loads_ocpi((EXAMPLES / name).read_text())


def one_period(*dimensions: tuple[str, str], end: str = "2025-03-04T12:00:00Z") -> dict[str, Any]:
    return {
        "currency": "EUR",
        "end_date_time": end,
        "charging_periods": [
            {
                "start_date_time": "2025-03-04T10:00:00Z",
                "dimensions": [{"type": kind, "volume": Decimal(v)} for kind, v in dimensions],
            }
        ],
    }


class TestPartnerVolumes:
    def test_bills_the_reported_charging_time_not_the_period_length(self) -> None:
        # Two hours between start and end, of which the partner reports one of charging.
        cdr = one_period(("ENERGY", "11"), ("TIME", "1"))

        out = rate_ocpi_cdr(
            tariff_json=example("tariff_1_simple_2hour.json"), cdr_json=cdr, time_zone=None
        )

        assert out["total_time_cost"] == {"excl_vat": Decimal("2.00"), "incl_vat": Decimal("2.20")}
        assert [p["dimensions"] for p in out["charging_periods"]] == [
            [{"type": "ENERGY", "volume": Decimal("11")}, {"type": "TIME", "volume": Decimal(1)}],
            [{"type": "ENERGY", "volume": Decimal(0)}],
        ]
        assert out["total_time"] == Decimal("2.000000")

    def test_bills_the_reported_parking_time_after_the_charging_time(self) -> None:
        cdr = one_period(("TIME", "0.5"), ("PARKING_TIME", "0.25"))

        out = rate_ocpi_cdr(
            tariff_json=example("tariff_13_simple_3hour_5parking.json"),
            cdr_json=cdr,
            time_zone=None,
        )

        assert out["total_time_cost"]["excl_vat"] == Decimal("1.50")
        assert out["total_parking_cost"]["excl_vat"] == Decimal("1.25")
        assert out["total_parking_time"] == Decimal("0.250000")
        starts = [p["start_date_time"] for p in out["charging_periods"]]
        assert starts == ["2025-03-04T10:00:00Z", "2025-03-04T10:30:00Z", "2025-03-04T10:45:00Z"]

    def test_a_period_reporting_only_energy_is_no_charging_time(self) -> None:
        cdr = one_period(("ENERGY", "20"))

        out = rate_ocpi_cdr(
            tariff_json=example("tariff_1_simple_2hour.json"), cdr_json=cdr, time_zone=None
        )

        assert out["total_cost"] == {"excl_vat": Decimal("0.00"), "incl_vat": Decimal("0.00")}
        assert out["total_energy"] == Decimal("20")

    def test_volumes_rounded_to_three_decimals_fill_their_period(self) -> None:
        # 1 h 59 min 58 s is 1.999444 h; the partner wrote 1.999.
        cdr = one_period(("TIME", "1.999"), end="2025-03-04T11:59:58Z")

        out = rate_ocpi_cdr(
            tariff_json=example("tariff_1_simple_2hour.json"), cdr_json=cdr, time_zone=None
        )

        assert len(out["charging_periods"]) == 1
        assert out["breakdown"][0]["quantity"] == Decimal("2.000000")  # 119m58s -> 120 min

    def test_refuses_volumes_longer_than_their_period(self) -> None:
        cdr = one_period(("TIME", "1.5"), ("PARKING_TIME", "0.6"))

        with pytest.raises(InvalidCdr) as caught:
            rate_ocpi_cdr(
                tariff_json=example("tariff_13_simple_3hour_5parking.json"),
                cdr_json=cdr,
                time_zone=None,
            )

        assert [str(error) for error in caught.value.errors] == [
            "charging_periods[0].dimensions: TIME and PARKING_TIME exceed the period's 2.000000 h"
        ]

    def test_rates_the_volumes_of_the_specs_finished_session_example(self) -> None:
        # Its first two periods report ENERGY and current only, the third 0.718 h of
        # PARKING_TIME (43 min 7 s until end_date_time): priced with the tariff they name (12,
        # TIME only), nothing of it is charging time the partner reported.
        session = example("session_example_2_short_finished.json")

        out = rate_ocpi_cdr(
            tariff_json=example("tariff_1_simple_2hour.json"), cdr_json=session, time_zone=None
        )

        assert out["total_energy"] == Decimal("41120")  # the volumes as reported
        assert out["total_time_cost"]["excl_vat"] == Decimal("0.00")
        assert out["total_parking_time"] == Decimal("0.718611")
        assert [[d["type"] for d in p["dimensions"]] for p in out["charging_periods"]] == [
            ["ENERGY", "MAX_CURRENT"],
            ["ENERGY", "MIN_CURRENT"],
            ["ENERGY", "PARKING_TIME"],
        ]
        assert out["audit"]["matches"] is False

    def test_rates_the_specs_cdr_example_by_its_time_volume(self) -> None:
        cdr = example("cdr_example.json")

        out = rate_ocpi_cdr(tariff_json=cdr["tariffs"][0], cdr_json=cdr, time_zone=None)

        # 1.973 h reported (1 h 58 min 23 s between the timestamps), billed per 5 minutes.
        assert out["breakdown"][0]["quantity"] == Decimal("2.000000")
        assert out["total_cost"] == {"excl_vat": Decimal("4.00"), "incl_vat": Decimal("4.40")}
        assert out["audit"]["matches"] is True
