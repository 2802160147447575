"""Where simulated time starts: faster than the wall, early enough that the planned sessions
end by the time the run does, so a CSMS never receives a timestamp ahead of its clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from evbilling.simulator import SimulatedStationConfig, SimulationSettings, simulated_origin
from evbilling.simulator.fleet import MAX_ORIGIN_SHIFT

WALL = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def station(connectors: int = 1, max_power_w: int = 22_000) -> SimulatedStationConfig:
    return SimulatedStationConfig(
        station_id="SIM-1",
        password=None,
        connectors=connectors,
        max_power_w=max_power_w,
        id_tags=("AA",),
    )


def settings(**changes: object) -> SimulationSettings:
    values: dict[str, object] = {
        "sessions_per_station": 2,
        "time_scale": 60.0,
        "session_energy_wh": (1_400, 1_400),
        "pause_between_sessions_s": (0, 40),
        "idle_after_full_s": (0, 20),
    }
    values.update(changes)
    return SimulationSettings(**values)  # type: ignore[arg-type]


class TestSimulatedOrigin:
    def test_at_wall_speed_simulated_time_is_wall_time(self) -> None:
        wall_speed = settings(time_scale=1.0)

        assert simulated_origin(wall_now=WALL, stations=[station()], settings=wall_speed) == WALL

    def test_faster_than_the_wall_it_starts_early_enough_for_every_planned_session(
        self,
    ) -> None:
        # Per session at most 40 s pause + 60 s ramp + 1.4 kWh at the 1.4 kW trickle + 20 s
        # idle = 3,720 s; two sessions on one connector: 7,440 simulated s, run in 124 wall s.
        origin = simulated_origin(wall_now=WALL, stations=[station()], settings=settings())

        run_wall_s = 7_440 / 60
        assert origin + timedelta(seconds=7_440) == WALL + timedelta(seconds=run_wall_s)

    def test_sessions_spread_over_connectors_and_the_busiest_station_counts(self) -> None:
        one = simulated_origin(wall_now=WALL, stations=[station(connectors=2)], settings=settings())
        slow = simulated_origin(
            wall_now=WALL,
            stations=[station(connectors=2), station(connectors=1, max_power_w=700)],
            settings=settings(),
        )

        assert WALL - one == timedelta(seconds=3_720 * (1 - 1 / 60))
        # 700 W is below the trickle power: 1.4 kWh takes 7,200 s there.
        assert WALL - slow == timedelta(seconds=2 * (40 + 60 + 7_200 + 20) * (1 - 1 / 60))

    def test_a_plan_of_years_starts_at_most_a_year_back(self) -> None:
        origin = simulated_origin(
            wall_now=WALL,
            stations=[station()],
            settings=settings(sessions_per_station=100_000, session_energy_wh=(40_000, 40_000)),
        )

        assert WALL - origin == MAX_ORIGIN_SHIFT
