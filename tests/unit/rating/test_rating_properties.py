"""Properties of rating that must hold for every tariff and session (hypothesis)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from evbilling.money import currency_exponent
from evbilling.rating.engine import ChargingPeriodInput, PeriodKind, RatedCdr, rate_session
from evbilling.tariffs.domain import Tariff, dumps_ocpi, loads_ocpi, parse_tariff

ZONES = ("Europe/Berlin", "America/New_York", "Asia/Kolkata", "UTC")
DIMENSIONS = ("FLAT", "ENERGY", "TIME", "PARKING_TIME")
TIMES = ("00:00", "06:30", "07:00", "12:00", "17:00", "21:00", "22:15")
DAYS = ("MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY")
PRICES = st.decimals(min_value=0, max_value=5, places=2)


@st.composite
def restrictions(draw: st.DrawFn, *, kinds: frozenset[str]) -> dict[str, Any]:
    """Random OCPI restrictions of the given kinds (a subset is drawn)."""
    out: dict[str, Any] = {}
    if "time" in kinds and draw(st.booleans()):
        start, end = draw(st.sampled_from(TIMES)), draw(st.sampled_from(TIMES))
        out["start_time"], out["end_time"] = start, end
    if "day" in kinds and draw(st.booleans()):
        out["day_of_week"] = sorted(
            draw(st.sets(st.sampled_from(DAYS), min_size=1)), key=DAYS.index
        )
    for name, values in (
        ("kwh", st.integers(0, 40)),
        ("duration", st.integers(0, 4).map(lambda hours: hours * 1800)),
        ("power", st.integers(0, 50)),
        ("current", st.integers(0, 64)),
    ):
        if name not in kinds:
            continue
        low = draw(st.none() | values)
        high = draw(st.none() | values) if f"max_{name}" in kinds else None
        if low is not None and high is not None and low >= high:
            low, high = high, low + 1 if low == high else low
        if low is not None:
            out[f"min_{name}"] = low
        if high is not None:
            out[f"max_{name}"] = high
    return out


ALL_RESTRICTIONS = frozenset(
    {"time", "day", "kwh", "max_kwh", "duration", "max_duration", "power", "max_power",
     "current", "max_current"}
)  # fmt: skip
NO_MAXIMUMS = frozenset({"time", "day", "kwh", "duration", "power", "current"})


@st.composite
def tariffs(
    draw: st.DrawFn,
    *,
    kinds: frozenset[str] = ALL_RESTRICTIONS,
    steps: st.SearchStrategy[int] = st.sampled_from([1, 60, 300, 900, 1000]),
    bounds: bool = True,
    vat: bool = True,
    currency: str = "EUR",
    max_elements: int = 4,
) -> Tariff:
    elements = []
    for _ in range(draw(st.integers(1, max_elements))):
        components = []
        for kind in sorted(draw(st.sets(st.sampled_from(DIMENSIONS), min_size=1))):
            component: dict[str, Any] = {"type": kind, "price": draw(PRICES)}
            if vat:
                component["vat"] = draw(st.sampled_from([Decimal(0), Decimal("7.7"), Decimal(21)]))
            component["step_size"] = draw(steps)
            components.append(component)
        element: dict[str, Any] = {"price_components": components}
        restricted = draw(restrictions(kinds=kinds))
        if restricted:
            element["restrictions"] = restricted
        elements.append(element)
    data: dict[str, Any] = {
        "country_code": "DE",
        "party_id": "EVB",
        "id": "P",
        "currency": currency,
        "elements": elements,
    }
    if bounds and draw(st.booleans()):
        low = draw(PRICES)
        data["min_price"] = {"excl_vat": low, "incl_vat": low * Decimal("1.1")}
    if bounds and "max_kwh" in kinds and draw(st.booleans()):
        high = draw(st.decimals(min_value=5, max_value=50, places=2))
        data["max_price"] = {"excl_vat": high}
    return parse_tariff(loads_ocpi(dumps_ocpi(data)))


@st.composite
def sessions(draw: st.DrawFn) -> tuple[list[ChargingPeriodInput], datetime, str]:
    """Whole-second periods with whole-Wh energy; charging first, parking mostly after."""
    start = datetime(2025, 1, 1, tzinfo=UTC) + timedelta(seconds=draw(st.integers(0, 365 * 86400)))
    periods: list[ChargingPeriodInput] = []
    at = start
    for _ in range(draw(st.integers(1, 6))):
        kind = draw(st.sampled_from([PeriodKind.CHARGING, PeriodKind.CHARGING, PeriodKind.PARKING]))
        seconds = draw(st.integers(1, 3 * 3600))
        wh_per_second = draw(st.integers(0, 15)) if kind is PeriodKind.CHARGING else 0
        power = draw(st.none() | st.integers(0, 60).map(Decimal))
        current = draw(st.none() | st.integers(0, 80).map(Decimal))
        periods.append(
            ChargingPeriodInput(
                start=at,
                kind=kind,
                energy_kwh=Decimal(wh_per_second * seconds).scaleb(-3),
                min_power=power,
                max_power=power,
                min_current=current,
                max_current=current,
            )
        )
        at += timedelta(seconds=seconds)
    return periods, at, draw(st.sampled_from(ZONES))


def rate(tariff: Tariff, session: tuple[list[ChargingPeriodInput], datetime, str]) -> RatedCdr:
    periods, end, zone = session
    return rate_session(tariff=tariff, periods=periods, end=end, time_zone=zone)


def all_prices(rated: RatedCdr) -> list[Decimal]:
    prices = [
        rated.total_cost,
        rated.total_fixed_cost,
        rated.total_energy_cost,
        rated.total_time_cost,
        rated.total_parking_cost,
        rated.total_reservation_cost,
        rated.total_price_adjustment,
    ]
    amounts = [price.excl_vat for price in prices]
    amounts += [price.incl_vat for price in prices if price.incl_vat is not None]
    for line in rated.lines:
        amounts.append(line.amount_excl_vat)
        if line.amount_incl_vat is not None:
            amounts.append(line.amount_incl_vat)
    return amounts


class TestRatingProperties:
    @given(tariff=tariffs(vat=False) | tariffs(), session=sessions())
    def test_total_is_the_sum_of_the_lines(
        self, tariff: Tariff, session: tuple[list[ChargingPeriodInput], datetime, str]
    ) -> None:
        rated = rate(tariff, session)

        total = rated.total_cost
        assert sum((line.amount_excl_vat for line in rated.lines), Decimal(0)) == total.excl_vat
        if total.incl_vat is not None:
            incl = [line.amount_incl_vat for line in rated.lines]
            assert sum((amount or Decimal(0) for amount in incl), Decimal(0)) == total.incl_vat
            assert None not in incl
        categories = (
            rated.total_fixed_cost,
            rated.total_energy_cost,
            rated.total_time_cost,
            rated.total_parking_cost,
            rated.total_reservation_cost,
            rated.total_price_adjustment,
        )
        assert sum(price.excl_vat for price in categories) == total.excl_vat

    @given(tariff=tariffs(), session=sessions())
    def test_each_line_is_within_one_minor_unit_of_its_exact_amount(
        self, tariff: Tariff, session: tuple[list[ChargingPeriodInput], datetime, str]
    ) -> None:
        rated = rate(tariff, session)

        for line in rated.lines:
            assert abs(line.amount_excl_vat - line.exact_amount_excl_vat) < Decimal("0.01")
            if line.amount_incl_vat is not None and line.exact_amount_incl_vat is not None:
                assert abs(line.amount_incl_vat - line.exact_amount_incl_vat) < Decimal("0.01")

    @given(tariff=tariffs(), session=sessions())
    def test_never_charges_a_negative_amount_for_a_non_negative_tariff(
        self, tariff: Tariff, session: tuple[list[ChargingPeriodInput], datetime, str]
    ) -> None:
        rated = rate(tariff, session)

        assert rated.total_cost.excl_vat >= 0
        assert rated.total_cost.incl_vat is None or rated.total_cost.incl_vat >= 0
        assert all(
            line.amount_excl_vat >= 0 for line in rated.lines if line.kind.value != "MAX_PRICE"
        )

    @given(
        currency=st.sampled_from(["EUR", "JPY", "KWD"]),
        data=st.data(),
        session=sessions(),
    )
    def test_every_amount_has_the_currency_precision(
        self,
        currency: str,
        data: st.DataObject,
        session: tuple[list[ChargingPeriodInput], datetime, str],
    ) -> None:
        tariff = data.draw(tariffs(currency=currency))

        rated = rate(tariff, session)

        exponent = -currency_exponent(currency)
        assert {amount.as_tuple().exponent for amount in all_prices(rated)} <= {exponent}

    @given(
        tariff=tariffs(kinds=NO_MAXIMUMS, steps=st.just(1), bounds=False),
        session=sessions(),
        extra_seconds=st.integers(1, 7200),
        extra_wh=st.integers(0, 30000),
        parked=st.booleans(),
    )
    def test_cost_never_decreases_when_the_session_goes_on(
        self,
        tariff: Tariff,
        session: tuple[list[ChargingPeriodInput], datetime, str],
        extra_seconds: int,
        extra_wh: int,
        parked: bool,
    ) -> None:
        periods, end, zone = session
        more = ChargingPeriodInput(
            start=end,
            kind=PeriodKind.PARKING if parked else PeriodKind.CHARGING,
            energy_kwh=Decimal(extra_wh).scaleb(-3),
        )
        longer = ([*periods, more], end + timedelta(seconds=extra_seconds), zone)

        before, after = rate(tariff, session), rate(tariff, longer)

        assert after.total_cost.excl_vat >= before.total_cost.excl_vat

    @given(
        # Step sizes are left out: OCPI rounds only the last element's share of a dimension,
        # so moving energy between elements with different step sizes can lower the total.
        tariff=tariffs(
            kinds=frozenset({"time", "day", "duration", "current"}), steps=st.just(1), bounds=False
        ),
        session=sessions(),
        index=st.integers(0, 5),
        extra_wh=st.integers(1, 30000),
    )
    def test_cost_never_decreases_when_a_period_delivers_more_energy(
        self,
        tariff: Tariff,
        session: tuple[list[ChargingPeriodInput], datetime, str],
        index: int,
        extra_wh: int,
    ) -> None:
        periods, end, zone = session
        index %= len(periods)
        grown = list(periods)
        grown[index] = replace(
            periods[index], energy_kwh=periods[index].energy_kwh + Decimal(extra_wh).scaleb(-3)
        )

        before, after = rate(tariff, session), rate(tariff, (grown, end, zone))

        assert after.total_cost.excl_vat >= before.total_cost.excl_vat

    @given(
        tariff=tariffs(kinds=frozenset(), bounds=False, max_elements=1),
        session=sessions(),
        extra_seconds=st.integers(1, 7200),
    )
    def test_cost_never_decreases_with_time_under_any_step_size(
        self,
        tariff: Tariff,
        session: tuple[list[ChargingPeriodInput], datetime, str],
        extra_seconds: int,
    ) -> None:
        periods, end, zone = session

        before = rate(tariff, session)
        after = rate(tariff, (periods, end + timedelta(seconds=extra_seconds), zone))

        assert after.total_cost.excl_vat >= before.total_cost.excl_vat

    @settings(max_examples=200)
    @given(tariff=tariffs(), session=sessions(), index=st.integers(0, 5), where=st.integers(1, 999))
    def test_cutting_a_period_in_two_changes_nothing(
        self,
        tariff: Tariff,
        session: tuple[list[ChargingPeriodInput], datetime, str],
        index: int,
        where: int,
    ) -> None:
        periods, end, zone = session
        index %= len(periods)
        period = periods[index]
        stop = periods[index + 1].start if index + 1 < len(periods) else end
        seconds = int((stop - period.start).total_seconds())
        if seconds < 2:
            return
        first = max(1, min(seconds - 1, seconds * where // 1000))
        # Energy flows evenly in a period: the cut shares it in proportion, exactly.
        first_kwh = period.energy_kwh * first / seconds
        cut = [
            replace(period, energy_kwh=first_kwh),
            replace(
                period,
                start=period.start + timedelta(seconds=first),
                energy_kwh=period.energy_kwh - first_kwh,
            ),
        ]
        split = (periods[:index] + cut + periods[index + 1 :], end, zone)

        whole, halves = rate(tariff, session), rate(tariff, split)

        assert halves.total_cost == whole.total_cost
        assert [
            (line.kind, line.element_index, line.exact_amount_excl_vat) for line in halves.lines
        ] == [(line.kind, line.element_index, line.exact_amount_excl_vat) for line in whole.lines]
