"""The simulator's pure parts: power curve, energy register, vehicle model, meter readings."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evbilling.simulator import (
    RAMP_UP_S,
    TRICKLE_POWER_W,
    VEHICLES,
    ChargeState,
    EnergyMeter,
    InvalidSimulationConfig,
    MeterReading,
    MeterWouldRunBackwards,
    ScaledClock,
    SessionPlan,
    SimulatedStationConfig,
    SimulationSettings,
    StopReason,
    VehicleChargeModel,
    VehicleProfile,
    charging_power_w,
    format_timestamp,
    plan_session,
    read_meter,
    register_meter_value,
    sampled_meter_value,
    stations_from_options,
)

CAR_11KW = VehicleProfile(name="test-3ph", battery_capacity_wh=60_000, max_power_w=11_000, phases=3)
AT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def make_plan(
    *,
    vehicle: VehicleProfile = CAR_11KW,
    initial_soc_percent: float = 20.0,
    target_energy_wh: int = 10_000,
    idle_after_full_s: int = 600,
) -> SessionPlan:
    return SessionPlan(
        vehicle=vehicle,
        initial_soc_percent=initial_soc_percent,
        target_energy_wh=target_energy_wh,
        idle_after_full_s=idle_after_full_s,
        stop_reason=StopReason.LOCAL,
    )


def make_model(
    *, plan: SessionPlan | None = None, station_max_power_w: int = 22_000, initial_wh: int = 0
) -> VehicleChargeModel:
    return VehicleChargeModel(
        plan=plan or make_plan(),
        station_max_power_w=station_max_power_w,
        meter=EnergyMeter(initial_wh=initial_wh),
    )


def make_settings(**overrides: object) -> SimulationSettings:
    values: dict[str, object] = {"sessions_per_station": 1, "seed": 1}
    values.update(overrides)
    return SimulationSettings(**values)  # type: ignore[arg-type]


class TestChargingPower:
    def test_ramps_up_over_the_first_minute(self) -> None:
        # Arrange
        seconds = [0, 15, 30, RAMP_UP_S - 1, RAMP_UP_S + 100]

        # Act
        powers = [charging_power_w(limit_w=11_000, elapsed_s=s, soc_percent=30.0) for s in seconds]

        # Assert
        assert powers == sorted(powers)
        assert powers[0] < 11_000 / 10
        assert powers[-2:] == [11_000, 11_000]

    def test_holds_the_limit_until_eighty_percent(self) -> None:
        # Act
        power = charging_power_w(limit_w=11_000, elapsed_s=3_600, soc_percent=79.9)

        # Assert
        assert power == 11_000

    def test_tapers_above_eighty_percent_down_to_a_trickle(self) -> None:
        # Act
        at_90 = charging_power_w(limit_w=11_000, elapsed_s=3_600, soc_percent=90.0)
        at_99 = charging_power_w(limit_w=11_000, elapsed_s=3_600, soc_percent=99.5)

        # Assert
        assert at_90 == 5_500
        assert at_99 == TRICKLE_POWER_W

    def test_draws_nothing_once_the_battery_is_full(self) -> None:
        # Act
        power = charging_power_w(limit_w=11_000, elapsed_s=3_600, soc_percent=100.0)

        # Assert
        assert power == 0

    @given(
        limit_w=st.integers(min_value=1, max_value=350_000),
        elapsed_s=st.integers(min_value=0, max_value=100_000),
        soc_percent=st.floats(min_value=0.0, max_value=99.99),
    )
    def test_stays_within_zero_and_the_limit(
        self, limit_w: int, elapsed_s: int, soc_percent: float
    ) -> None:
        # Act
        power = charging_power_w(limit_w=limit_w, elapsed_s=elapsed_s, soc_percent=soc_percent)

        # Assert
        assert 1 <= power <= limit_w


class TestEnergyMeter:
    def test_register_is_the_floor_of_the_energy(self) -> None:
        # Arrange
        meter = EnergyMeter(initial_wh=1_000)

        # Act
        meter.add(power_w=3_599, seconds=1)
        before_full_wh = meter.register_wh
        meter.add(power_w=1, seconds=1)

        # Assert
        assert before_full_wh == 1_000
        assert meter.register_wh == 1_001

    def test_refuses_negative_energy(self) -> None:
        # Arrange
        meter = EnergyMeter(initial_wh=5)

        # Act / Assert
        with pytest.raises(MeterWouldRunBackwards):
            meter.add(power_w=-1, seconds=10)
        assert meter.register_wh == 5

    @given(st.lists(st.tuples(st.integers(0, 50_000), st.integers(0, 600)), max_size=50))
    def test_register_never_decreases(self, steps: list[tuple[int, int]]) -> None:
        # Arrange
        meter = EnergyMeter(initial_wh=123_456)
        registers = [meter.register_wh]

        # Act
        for power_w, seconds in steps:
            meter.add(power_w=power_w, seconds=seconds)
            registers.append(meter.register_wh)

        # Assert
        assert registers == sorted(registers)
        assert meter.watt_seconds == 123_456 * 3_600 + sum(p * s for p, s in steps)


class TestVehicleChargeModel:
    def test_starts_from_the_connectors_lifetime_register(self) -> None:
        # Act
        model = make_model(initial_wh=2_500_000)

        # Assert
        assert model.start_register_wh == model.register_wh == 2_500_000
        assert model.delivered_wh == 0
        assert model.state is ChargeState.CHARGING

    def test_charges_at_min_of_station_and_vehicle_power(self) -> None:
        # Arrange
        model = make_model(station_max_power_w=7_400)

        # Act
        model.advance(seconds=600)

        # Assert
        assert model.limit_w == 7_400
        assert model.power_w == 7_400

    def test_energy_is_exactly_the_integral_of_the_power(self) -> None:
        # Arrange
        model = make_model(initial_wh=10)
        reported_ws = 0

        # Act
        for _ in range(900):
            model.advance(seconds=1)
            reported_ws += model.power_w

        # Assert
        assert model.register_wh == 10 + reported_ws // 3_600

    @pytest.mark.parametrize(
        ("initial_soc_percent", "target_energy_wh"),
        [(12.0, 40_000), (50.0, 100_000), (79.0, 3_000)],
        ids=["target-before-taper", "through-taper-to-full", "target-in-taper"],
    )
    def test_long_strides_add_what_one_second_steps_add(
        self, initial_soc_percent: float, target_energy_wh: int
    ) -> None:
        # Arrange
        plan = make_plan(initial_soc_percent=initial_soc_percent, target_energy_wh=target_energy_wh)
        stepped = make_model(plan=plan, initial_wh=777)
        strided = make_model(plan=plan, initial_wh=777)

        # Act
        for _ in range(20_000):
            stepped.advance(seconds=1)
        strided.advance(seconds=20_000)

        # Assert
        assert (strided.register_wh, strided.elapsed_s, strided.state, strided.full_at_s) == (
            stepped.register_wh,
            stepped.elapsed_s,
            stepped.state,
            stepped.full_at_s,
        )

    def test_finishes_once_the_driver_has_the_energy_wanted(self) -> None:
        # Arrange
        model = make_model(plan=make_plan(target_energy_wh=8_000))

        # Act
        advanced = model.advance(seconds=24 * 3_600)

        # Assert
        assert model.state is ChargeState.FINISHED
        assert advanced == model.elapsed_s < 24 * 3_600
        assert 8_000 <= model.delivered_wh <= 8_000 + 11_000 // 3_600 + 1
        assert model.full_at_s is None

    def test_full_battery_suspends_and_finishes_after_the_idle_time(self) -> None:
        # Arrange: the driver wants more than the battery takes.
        plan = make_plan(initial_soc_percent=70.0, target_energy_wh=500_000, idle_after_full_s=900)
        model = make_model(plan=plan)
        while model.state is ChargeState.CHARGING:
            model.advance(seconds=60)
        register_when_full = model.register_wh

        # Act
        model.advance(seconds=899 - (model.elapsed_s - (model.full_at_s or 0)))
        still_idle = model.state
        model.advance(seconds=10)

        # Assert
        assert still_idle is ChargeState.SUSPENDED_EV
        assert model.state is ChargeState.FINISHED
        assert model.full_at_s is not None
        assert model.elapsed_s == model.full_at_s + 900
        assert model.register_wh == register_when_full
        assert model.power_w == 0
        assert model.soc_percent == 100.0
        # 70 % -> 100 % of 60 kWh, to within the last second's trickle.
        assert 18_000 <= model.delivered_wh <= 18_001

    def test_tapers_power_above_eighty_percent(self) -> None:
        # Arrange
        model = make_model(plan=make_plan(initial_soc_percent=85.0, target_energy_wh=100_000))
        model.advance(seconds=RAMP_UP_S)
        early = model.power_w

        # Act
        model.advance(seconds=1_800)

        # Assert
        assert early < 11_000
        assert model.power_w < early

    @settings(max_examples=50, deadline=None)
    @given(
        vehicle=st.sampled_from(VEHICLES),
        station_max_power_w=st.integers(min_value=1_000, max_value=50_000),
        initial_soc_percent=st.floats(min_value=0.0, max_value=99.0),
        target_energy_wh=st.integers(min_value=1, max_value=120_000),
        idle_after_full_s=st.integers(min_value=0, max_value=3_600),
        strides=st.lists(st.integers(min_value=0, max_value=4_000), min_size=1, max_size=40),
    )
    def test_register_never_decreases_nor_outruns_the_power(
        self,
        vehicle: VehicleProfile,
        station_max_power_w: int,
        initial_soc_percent: float,
        target_energy_wh: int,
        idle_after_full_s: int,
        strides: list[int],
    ) -> None:
        # Arrange
        plan = make_plan(
            vehicle=vehicle,
            initial_soc_percent=initial_soc_percent,
            target_energy_wh=target_energy_wh,
            idle_after_full_s=idle_after_full_s,
        )
        model = make_model(plan=plan, station_max_power_w=station_max_power_w, initial_wh=42_000)

        for stride in strides:
            before_wh, before_s = model.register_wh, model.elapsed_s

            # Act
            advanced = model.advance(seconds=stride)

            # Assert
            assert 0 <= advanced <= stride
            assert model.elapsed_s == before_s + advanced
            assert model.register_wh >= before_wh
            assert model.register_wh - before_wh <= model.limit_w * advanced / 3_600 + 1
            assert 0 <= model.power_w <= model.limit_w
            assert model.soc_percent <= 100.0


class TestPlanSession:
    def test_same_seed_draws_the_same_plan(self) -> None:
        # Arrange
        settings = make_settings()

        # Act
        first = plan_session(rng=random.Random(42), settings=settings)
        second = plan_session(rng=random.Random(42), settings=settings)

        # Assert
        assert first == second

    def test_draws_within_the_settings(self) -> None:
        # Arrange
        settings = make_settings(session_energy_wh=(1_000, 2_000), idle_after_full_s=(5, 9))
        rng = random.Random(3)

        # Act
        plans = [plan_session(rng=rng, settings=settings) for _ in range(200)]

        # Assert
        assert all(1_000 <= p.target_energy_wh <= 2_000 for p in plans)
        assert all(5 <= p.idle_after_full_s <= 9 for p in plans)
        assert all(10.0 <= p.initial_soc_percent <= 60.0 for p in plans)
        assert {p.stop_reason for p in plans} == {StopReason.LOCAL, StopReason.EV_DISCONNECTED}
        assert {p.vehicle for p in plans} <= set(VEHICLES)


class TestReadMeter:
    def test_three_phase_current_carries_the_power(self) -> None:
        # Act
        reading = read_meter(
            register_wh=100, power_w=11_000, phases=3, soc_percent=55.7, rng=random.Random(1)
        )

        # Assert
        carried_w = sum(a * v for a, v in zip(reading.currents_a, reading.voltages_v, strict=True))
        assert carried_w == pytest.approx(11_000, abs=5)
        assert all(225.0 < v < 235.0 for v in reading.voltages_v)
        assert reading.soc_percent == 55

    def test_single_phase_car_draws_on_l1_only(self) -> None:
        # Act
        reading = read_meter(
            register_wh=100, power_w=7_400, phases=1, soc_percent=20.0, rng=random.Random(1)
        )

        # Assert
        assert reading.currents_a[0] == pytest.approx(7_400 / reading.voltages_v[0], abs=0.01)
        assert reading.currents_a[1:] == (0.0, 0.0)


class TestMeterValuePayloads:
    def test_sampled_meter_value_reports_every_measurand_with_its_unit(self) -> None:
        # Arrange
        reading = MeterReading(
            register_wh=1_234_567,
            power_w=11_000,
            currents_a=(15.94, 15.95, 15.93),
            voltages_v=(230.1, 229.9, 230.0),
            soc_percent=64,
        )

        # Act
        payload = sampled_meter_value(reading=reading, at=AT)

        # Assert
        assert payload["timestamp"] == "2026-03-02T09:00:00.000Z"
        rows = [
            (s["measurand"], s.get("phase"), s["value"], s["unit"], s["location"])
            for s in payload["sampledValue"]
        ]
        assert rows == [
            ("Energy.Active.Import.Register", None, "1234567", "Wh", "Outlet"),
            ("Power.Active.Import", None, "11000", "W", "Outlet"),
            ("Current.Import", "L1", "15.94", "A", "Outlet"),
            ("Current.Import", "L2", "15.95", "A", "Outlet"),
            ("Current.Import", "L3", "15.93", "A", "Outlet"),
            ("Voltage", "L1-N", "230.1", "V", "Outlet"),
            ("Voltage", "L2-N", "229.9", "V", "Outlet"),
            ("Voltage", "L3-N", "230.0", "V", "Outlet"),
            ("SoC", None, "64", "Percent", "EV"),
        ]
        assert {s["context"] for s in payload["sampledValue"]} == {"Sample.Periodic"}

    def test_register_meter_value_carries_only_the_register(self) -> None:
        # Act
        payload = register_meter_value(register_wh=99, at=AT, context="Transaction.End")

        # Assert
        (sample,) = payload["sampledValue"]
        assert (sample["measurand"], sample["value"], sample["context"]) == (
            "Energy.Active.Import.Register",
            "99",
            "Transaction.End",
        )


class TestFormatTimestamp:
    def test_writes_utc_with_z_and_milliseconds(self) -> None:
        # Arrange
        moment = datetime(2026, 3, 2, 10, 30, 5, 123_456, tzinfo=UTC)

        # Act
        text = format_timestamp(moment)

        # Assert
        assert text == "2026-03-02T10:30:05.123Z"

    def test_refuses_naive_datetimes(self) -> None:
        # Act / Assert
        with pytest.raises(InvalidSimulationConfig):
            format_timestamp(datetime(2026, 3, 2, 10, 30))  # noqa: DTZ001


class TestScaledClock:
    def test_runs_time_scale_times_faster_than_the_wall(self) -> None:
        # Arrange
        wall = [100.0]
        clock = ScaledClock(origin=AT, time_scale=60.0, monotonic=lambda: wall[0])

        # Act
        wall[0] += 30.0
        now = clock.now()

        # Assert
        assert now == AT + timedelta(minutes=30)
        assert clock.wall_seconds(1_800) == 30.0


class TestStationsFromOptions:
    def test_numbers_stations_from_one_with_the_prefix(self) -> None:
        # Act
        stations = stations_from_options(
            count=2, id_prefix="DEMO-", password="pw", id_tags=["AA11", "BB22"], connectors=3
        )

        # Assert
        assert [s.station_id for s in stations] == ["DEMO-1", "DEMO-2"]
        assert all(s.connectors == 3 for s in stations)
        # The tags are shared out: the second station starts with the second half.
        assert [s.id_tags for s in stations] == [("AA11", "BB22"), ("BB22", "AA11")]
        assert all(s.password == "pw" and s.max_power_w == 22_000 for s in stations)

    def test_gives_each_station_its_own_first_cards(self) -> None:
        # Act
        stations = stations_from_options(
            count=3,
            id_prefix="S-",
            password=None,
            id_tags=["A", "B", "C", "D", "E", "F"],
            connectors=2,
        )

        # Assert
        assert [s.id_tags[:2] for s in stations] == [("A", "B"), ("C", "D"), ("E", "F")]

    def test_refuses_a_station_without_id_tags(self) -> None:
        # Act / Assert
        with pytest.raises(InvalidSimulationConfig):
            SimulatedStationConfig(station_id="S-1", password=None, id_tags=())

    def test_refuses_id_tags_longer_than_ocpp_allows(self) -> None:
        # Act / Assert
        with pytest.raises(InvalidSimulationConfig):
            SimulatedStationConfig(station_id="S-1", password=None, id_tags=("X" * 21,))


class TestSimulationSettings:
    @pytest.mark.parametrize(
        "overrides",
        [
            {"time_scale": 0.0},
            {"meter_interval_s": (0, 10)},
            {"session_energy_wh": (5_000, 1_000)},
            {"sessions_per_station": -1},
        ],
    )
    def test_refuses_settings_that_cannot_be_simulated(self, overrides: dict[str, object]) -> None:
        # Act / Assert
        with pytest.raises(InvalidSimulationConfig):
            make_settings(**overrides)
