"""Rating results: price bounds and VAT, rounding, CDR shape, timestamps, invalid sessions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest

from evbilling.rating.engine import (
    CdrDimension,
    CdrDimensionType,
    ChargingPeriodInput,
    InvalidSession,
    InvalidTimeZone,
    LineKind,
    RatedCdr,
    TariffNotApplicable,
    apportion,
    rate_ocpi_cdr,
    rated_cdr_to_ocpi,
)
from evbilling.tariffs.domain import (
    Price,
    dumps_ocpi,
    loads_ocpi,
    tariff_to_ocpi,
)
from tests.unit.rating.builders import (
    BERLIN,
    MONDAY,
    berlin,
    charging,
    component,
    element,
    parking,
    rate,
    reservation,
    spec_tariff,
    tariff,
    totals,
    utc,
)


class TestPriceBoundsAndVat:
    def test_keeps_the_vat_ratio_for_a_minimum_without_incl_vat(self) -> None:
        minimum = tariff(
            element(component("ENERGY", "0.30")), min_price={"excl_vat": Decimal("1.00")}
        )

        rated = rate(minimum, [charging(MONDAY, "2")], MONDAY + timedelta(minutes=20))

        assert totals(rated) == ("1.00", "1.20")
        assert rated.lines[-1].kind is LineKind.MIN_PRICE

    def test_a_component_without_vat_costs_the_same_including_vat(self) -> None:
        # OCPI: "If omitted, no VAT is applicable" -- incl. VAT equals excl. VAT.
        no_vat = tariff(element(component("ENERGY", "0.25", vat=None)))

        rated = rate(no_vat, [charging(MONDAY, "20")], MONDAY + timedelta(hours=1))

        assert totals(rated) == ("5.00", "5.00")
        assert (rated.lines[0].vat, rated.lines[0].amount_incl_vat) == (None, Decimal("5.00"))
        assert rated.total_energy_cost == Price(Decimal("5.00"), Decimal("5.00"))

    def test_adds_vat_only_to_the_components_that_give_it(self) -> None:
        mixed = tariff(
            element(component("FLAT", "1.00", vat=None), component("ENERGY", "0.25", vat="10"))
        )

        rated = rate(mixed, [charging(MONDAY, "20")], MONDAY + timedelta(hours=1))

        assert totals(rated) == ("6.00", "6.50")
        assert rated.total_fixed_cost == Price(Decimal("1.00"), Decimal("1.00"))

    def test_a_minimum_without_vat_lifts_a_free_session_to_the_same_amount_incl_vat(
        self,
    ) -> None:
        minimum = tariff(
            element(component("ENERGY", "0.25", vat="10")),
            min_price={"excl_vat": Decimal("0.50")},
        )

        rated = rate(minimum, [charging(MONDAY)], MONDAY + timedelta(minutes=5))

        assert totals(rated) == ("0.50", "0.50")
        assert rated.total_price_adjustment == Price(Decimal("0.50"), Decimal("0.50"))

    def test_caps_excl_and_incl_vat_independently(self) -> None:
        # VAT 50 %: the incl. cap (11.00) bites before the excl. cap (10.00) does.
        capped = tariff(
            element(component("ENERGY", "1.00", vat="50")),
            max_price={"excl_vat": Decimal("10.00"), "incl_vat": Decimal("11.00")},
        )

        rated = rate(capped, [charging(MONDAY, "8")], MONDAY + timedelta(hours=1))

        assert totals(rated) == ("8.00", "11.00")
        assert (rated.lines[-1].amount_excl_vat, rated.lines[-1].amount_incl_vat) == (
            Decimal("0.00"),
            Decimal("-1.00"),
        )

    @pytest.mark.parametrize(
        ("currency", "price", "kwh", "expected"),
        [
            ("JPY", "35", "7.3", ("256", "281")),
            ("KWD", "0.0875", "3.3", ("0.289", "0.318")),
        ],
    )
    def test_rounds_to_the_currency_minor_unit(
        self, currency: str, price: str, kwh: str, expected: tuple[str, str]
    ) -> None:
        priced = tariff(element(component("ENERGY", price, vat="10")), currency=currency)

        rated = rate(priced, [charging(MONDAY, kwh)], MONDAY + timedelta(hours=1))

        assert totals(rated) == expected
        assert str(rated.lines[0].amount_excl_vat) == expected[0]


class TestApportion:
    def test_gives_missing_minor_units_to_the_largest_remainders(self) -> None:
        total, lines = apportion(
            [Decimal("2.875"), Decimal("3.000"), Decimal("4.125")], currency="EUR"
        )

        assert total == Decimal("10.00")
        assert lines == [Decimal("2.88"), Decimal("3.00"), Decimal("4.12")]

    def test_handles_negative_adjustments(self) -> None:
        total, lines = apportion([Decimal("13.75"), Decimal("-2.746")], currency="EUR")

        assert total == Decimal("11.00")
        assert sum(lines) == total
        assert lines == [Decimal("13.75"), Decimal("-2.75")]

    def test_returns_zero_for_no_lines(self) -> None:
        assert apportion([], currency="JPY") == (Decimal("0"), [])


class TestRatedCdrShape:
    def combination(self) -> RatedCdr:
        tou = tariff(
            element(component("ENERGY", "0.45"), start_time="17:00", end_time="21:00"),
            element(
                component("FLAT", "1.00"), component("ENERGY", "0.25"), component("TIME", "0.60")
            ),
            element(component("PARKING_TIME", "3.00", step=300)),
        )
        periods = [
            charging(berlin(2025, 3, 4, 16, 0), "7", min_power="6", max_power="8"),
            charging(berlin(2025, 3, 4, 16, 50), "4"),
            parking(berlin(2025, 3, 4, 17, 20)),
        ]
        return rate(tou, periods, berlin(2025, 3, 4, 17, 42))

    def test_covers_the_session_with_contiguous_periods(self) -> None:
        rated = self.combination()

        periods = rated.charging_periods
        assert periods[0].start_date_time == rated.start_date_time
        assert periods[-1].end_date_time == rated.end_date_time
        assert all(a.end_date_time == b.start_date_time for a, b in pairwise(periods))
        assert sum(p.energy_kwh for p in periods) == rated.total_energy == Decimal(11)

    def test_describes_each_period_with_ocpi_dimensions(self) -> None:
        rated = self.combination()

        assert rated.charging_periods[0].dimensions == (
            CdrDimension(CdrDimensionType.ENERGY, Decimal("7")),
            CdrDimension(CdrDimensionType.TIME, Decimal("0.833333")),
            CdrDimension(CdrDimensionType.MIN_POWER, Decimal("6")),
            CdrDimension(CdrDimensionType.MAX_POWER, Decimal("8")),
        )
        assert rated.charging_periods[-1].dimensions[-1].type is CdrDimensionType.PARKING_TIME

    def test_adds_lines_up_to_every_total(self) -> None:
        rated = self.combination()

        assert sum(line.amount_excl_vat for line in rated.lines) == rated.total_cost.excl_vat
        assert sum(line.amount_incl_vat or 0 for line in rated.lines) == rated.total_cost.incl_vat
        categories = (
            rated.total_fixed_cost,
            rated.total_energy_cost,
            rated.total_time_cost,
            rated.total_parking_cost,
            rated.total_reservation_cost,
            rated.total_price_adjustment,
        )
        assert sum(price.excl_vat for price in categories) == rated.total_cost.excl_vat

    def test_re_rates_its_own_cdr_to_the_same_totals(self) -> None:
        rated = self.combination()
        tou = tariff(
            element(component("ENERGY", "0.45"), start_time="17:00", end_time="21:00"),
            element(
                component("FLAT", "1.00"), component("ENERGY", "0.25"), component("TIME", "0.60")
            ),
            element(component("PARKING_TIME", "3.00", step=300)),
        )

        cdr = loads_ocpi(dumps_ocpi(rated_cdr_to_ocpi(rated)))
        again = rate_ocpi_cdr(tariff_json=tariff_to_ocpi(tou), cdr_json=cdr, time_zone=BERLIN)

        assert again["total_cost"] == cdr["total_cost"]
        assert again["audit"]["matches"] is True
        assert again["breakdown"] == cdr["breakdown"]


class TestTimestamps:
    def test_accepts_aware_datetimes_in_any_zone_and_reports_utc(self) -> None:
        eastern = ZoneInfo("America/New_York")
        start = datetime(2025, 3, 4, 5, 0, tzinfo=eastern)

        rated = rate(
            spec_tariff("tariff_1_simple_2hour.json"),
            [charging(start, "10")],
            datetime(2025, 3, 4, 7, 30, tzinfo=eastern),
        )

        assert rated.start_date_time == utc(2025, 3, 4, 10, 0)
        assert rated.start_date_time.tzinfo is UTC
        assert rated.end_date_time == utc(2025, 3, 4, 12, 30)
        assert totals(rated) == ("5.00", "5.50")


class TestInvalidSessions:
    @pytest.mark.parametrize(
        ("periods", "end", "message"),
        [
            ([], MONDAY, "a session needs at least one period"),
            (
                [ChargingPeriodInput(start=datetime(2025, 1, 1))],  # noqa: DTZ001 - the point
                MONDAY,
                "periods[0].start must be timezone-aware",
            ),
            (
                [charging(MONDAY), charging(MONDAY)],
                MONDAY + timedelta(hours=1),
                "periods[1] must start after periods[0]",
            ),
            (
                [charging(MONDAY)],
                MONDAY - timedelta(seconds=1),
                "end must not be before the start of the last period",
            ),
            (
                [charging(MONDAY, "-1")],
                MONDAY + timedelta(hours=1),
                "periods[0].energy_kwh must be a finite Decimal >= 0",
            ),
            (
                [charging(MONDAY), reservation(MONDAY + timedelta(minutes=5))],
                MONDAY + timedelta(hours=1),
                "periods[1]: reservation periods must come first",
            ),
        ],
    )
    def test_refuses_periods_that_are_not_a_session(
        self, periods: list[ChargingPeriodInput], end: datetime, message: str
    ) -> None:
        with pytest.raises(InvalidSession, match=message.replace("[", r"\[").replace("]", r"\]")):
            rate(spec_tariff("tariff_8_simple_025kwh.json"), periods, end)

    def test_refuses_an_unknown_time_zone(self) -> None:
        with pytest.raises(InvalidTimeZone):
            rate(
                spec_tariff("tariff_8_simple_025kwh.json"),
                [charging(MONDAY)],
                MONDAY + timedelta(hours=1),
                "Mars/Olympus",
            )

    def test_refuses_a_session_after_the_tariff_ended(self) -> None:
        late = utc(2019, 7, 1, 0, 0)

        with pytest.raises(TariffNotApplicable):
            rate(
                spec_tariff("tariff_6_025kwh_start_max_price.json"),
                [charging(late)],
                late + timedelta(hours=1),
            )
