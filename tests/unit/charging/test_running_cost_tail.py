"""A running cost prices the time since the latest reading by the connector's statuses."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from evbilling.charging.costs import since_the_reading
from evbilling.rating.engine import PeriodKind

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def tail(
    *changes: tuple[float, str], read: float = 10, end: float = 40
) -> tuple[list[tuple[datetime, PeriodKind]], datetime]:
    periods, until = since_the_reading(
        [(at(minutes), status) for minutes, status in changes], read_at=at(read), end=at(end)
    )
    return [(period.start, period.kind) for period in periods], until


class TestSinceTheReading:
    def test_is_charging_time_while_the_connector_is_charging(self) -> None:
        assert tail((0, "Charging")) == ([(at(10), PeriodKind.CHARGING)], at(40))

    def test_is_parking_time_from_when_the_car_stopped_drawing(self) -> None:
        assert tail((0, "Charging"), (20, "SuspendedEV")) == (
            [(at(10), PeriodKind.CHARGING), (at(20), PeriodKind.PARKING)],
            at(40),
        )

    def test_is_parking_time_while_the_connector_was_already_idle(self) -> None:
        assert tail((0, "Charging"), (5, "SuspendedEVSE")) == (
            [(at(10), PeriodKind.PARKING)],
            at(40),
        )

    def test_is_unknown_without_any_status(self) -> None:
        assert tail() == ([], at(10))

    def test_ends_where_the_status_says_neither(self) -> None:
        assert tail((0, "Charging"), (25, "Faulted")) == ([(at(10), PeriodKind.CHARGING)], at(25))

    def test_takes_a_status_reported_at_the_reading_as_in_force(self) -> None:
        assert tail((0, "Preparing"), (10, "Charging")) == ([(at(10), PeriodKind.CHARGING)], at(40))

    def test_merges_one_kind_reported_twice(self) -> None:
        assert tail((0, "Charging"), (20, "SuspendedEV"), (30, "Finishing")) == (
            [(at(10), PeriodKind.CHARGING), (at(20), PeriodKind.PARKING)],
            at(40),
        )
