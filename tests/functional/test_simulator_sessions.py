"""The simulator against a minimal CSMS (`tests.functional.fake_csms`) that records every CALL
each station sends, in order: the OCPP 1.6 message sequence, and energy figures that add up the
way billing needs them to."""

from __future__ import annotations

import itertools

import pytest

from evbilling.kit import parse_utc_timestamp
from evbilling.simulator import (
    SessionOutcome,
    StationOutcome,
    run_simulation,
    stations_from_options,
)
from tests.functional.fake_csms import (
    GOOD_TAG,
    MAX_POWER_W,
    OTHER_TAG,
    PASSWORD,
    FakeCentralSystem,
    call_token,
    registers_of,
    samples_of,
    sim_settings,
    sim_station,
)


class TestSimulatorAgainstFakeCsms:
    async def test_two_stations_run_two_sessions_each_in_ocpp_order(
        self, csms: FakeCentralSystem
    ) -> None:
        # Arrange
        stations = stations_from_options(
            count=2,
            id_prefix="SIM-",
            password=PASSWORD,
            id_tags=[GOOD_TAG, OTHER_TAG],
            connectors=1,
        )
        csms.passwords = {"SIM-1": PASSWORD, "SIM-2": PASSWORD}

        # Act
        report = await run_simulation(url=csms.url, stations=stations, settings=sim_settings())

        # Assert
        assert [s.station_id for s in report.stations] == ["SIM-1", "SIM-2"]
        for station in report.stations:
            assert station.outcome is StationOutcome.COMPLETED
            assert station.sessions_completed == 2
            assert station.errors == ()
            assert csms.subprotocols[station.station_id] == "ocpp1.6"
            tokens = [
                call_token(c)
                for c in csms.calls[station.station_id]
                if c.action != "Heartbeat"
                and not (c.action == "MeterValues" or call_token(c).endswith("SuspendedEV"))
            ]
            session = [
                "Authorize",
                "Status:1:Preparing",
                "StartTransaction",
                "Status:1:Charging",
                "StopTransaction",
                "Status:1:Finishing",
                "Status:1:Available",
            ]
            boot = ["BootNotification", "Status:0:Available", "Status:1:Available"]
            assert tokens == boot + session + session
            # The tags are shared out: SIM-2 starts with the second one.
            own_order = {"SIM-1": [GOOD_TAG, OTHER_TAG], "SIM-2": [OTHER_TAG, GOOD_TAG]}
            authorized = [a["id_tag"] for a in csms.of(station.station_id, "Authorize")]
            assert authorized == own_order[station.station_id]
            # Every CALL the station counted reached the CSMS, and nothing else did.
            assert station.total_messages_sent == len(csms.calls[station.station_id])

    async def test_energy_figures_add_up_per_transaction(self, csms: FakeCentralSystem) -> None:
        # Arrange
        stations = [sim_station("SIM-1"), sim_station("SIM-2")]
        csms.passwords = {"SIM-1": PASSWORD, "SIM-2": PASSWORD}

        # Act
        report = await run_simulation(url=csms.url, stations=stations, settings=sim_settings())

        # Assert
        for station in report.stations:
            starts = csms.of(station.station_id, "StartTransaction")
            stops = csms.of(station.station_id, "StopTransaction")
            assert [s["transaction_id"] for s in stops] == list(station.transaction_ids)
            assert len(starts) == len(stops) == 2
            # The register is the connector's lifetime counter: it carries over between sessions.
            assert starts[1]["meter_start"] == stops[0]["meter_stop"]
            for start, stop, record in zip(starts, stops, station.sessions, strict=True):
                transaction_id = stop["transaction_id"]
                samples = [
                    m
                    for m in csms.of(station.station_id, "MeterValues")
                    if m.get("transaction_id") == transaction_id
                ]
                assert samples, "a session reports its meter while charging"
                points = [(start["timestamp"], start["meter_start"])]
                for sample in samples:
                    (meter_value,) = sample["meter_value"]
                    (register,) = registers_of(meter_value)
                    points.append((meter_value["timestamp"], register))
                points.append((stop["timestamp"], stop["meter_stop"]))
                deltas = [after[1] - before[1] for before, after in itertools.pairwise(points)]
                assert all(delta >= 0 for delta in deltas), "registers never decrease"
                assert sum(deltas) == stop["meter_stop"] - start["meter_start"]
                assert record.energy_wh == stop["meter_stop"] - start["meter_start"] > 0
                for (before_at, before_wh), (after_at, after_wh) in itertools.pairwise(points):
                    assert before_at.endswith("Z")
                    seconds = (
                        parse_utc_timestamp(after_at) - parse_utc_timestamp(before_at)
                    ).total_seconds()
                    assert seconds >= 0, "timestamps follow simulated time forward"
                    # Energy cannot outrun the station's power over the elapsed time.
                    assert after_wh - before_wh <= MAX_POWER_W * seconds / 3600 + 1
                begin, end = stop["transaction_data"]
                assert registers_of(begin) == [start["meter_start"]]
                assert registers_of(end) == [stop["meter_stop"]]
                assert begin["sampled_value"][0]["context"] == "Transaction.Begin"
                assert end["sampled_value"][0]["context"] == "Transaction.End"
                assert stop["reason"] in {"Local", "EVDisconnected"}
                assert (stop.get("id_tag") == start["id_tag"]) == (stop["reason"] == "Local")
        assert report.energy_wh == sum(s.energy_wh for s in report.stations)

    async def test_meter_values_carry_power_current_voltage_and_soc(
        self, csms: FakeCentralSystem
    ) -> None:
        # Arrange
        csms.passwords = {"SIM-1": PASSWORD}

        # Act
        await run_simulation(
            url=csms.url,
            stations=[sim_station("SIM-1")],
            settings=sim_settings(sessions_per_station=1),
        )

        # Assert
        samples = csms.of("SIM-1", "MeterValues")
        assert samples
        for sample in samples:
            (meter_value,) = sample["meter_value"]
            assert {s["context"] for s in meter_value["sampled_value"]} == {"Sample.Periodic"}
            (power,) = samples_of(meter_value, "Power.Active.Import")
            currents = samples_of(meter_value, "Current.Import")
            voltages = samples_of(meter_value, "Voltage")
            (soc,) = samples_of(meter_value, "SoC")
            assert power["unit"] == "W"
            assert 0 <= int(power["value"]) <= MAX_POWER_W
            assert [c["phase"] for c in currents] == ["L1", "L2", "L3"]
            assert [v["phase"] for v in voltages] == ["L1-N", "L2-N", "L3-N"]
            assert all(220.0 < float(v["value"]) < 240.0 for v in voltages)
            carried_w = sum(
                float(c["value"]) * float(v["value"])
                for c, v in zip(currents, voltages, strict=True)
            )
            assert carried_w == pytest.approx(int(power["value"]), abs=15)
            assert (soc["unit"], soc["location"]) == ("Percent", "EV")
            assert 0 <= int(soc["value"]) <= 100

    async def test_full_battery_goes_suspended_ev_and_stops_after_the_idle_time(
        self, csms: FakeCentralSystem
    ) -> None:
        # Arrange: the driver wants more than any battery holds, so the car fills up.
        csms.passwords = {"SIM-1": PASSWORD}
        settings = sim_settings(
            sessions_per_station=1,
            time_scale=50_000.0,
            session_energy_wh=(500_000, 500_000),
            idle_after_full_s=(900, 900),
        )

        # Act
        report = await run_simulation(
            url=csms.url, stations=[sim_station("SIM-1")], settings=settings
        )

        # Assert
        (record,) = report.stations[0].sessions
        assert record.outcome is SessionOutcome.COMPLETED
        statuses = [s for s in csms.of("SIM-1", "StatusNotification") if s["connector_id"] == 1]
        (suspended,) = [s for s in statuses if s["status"] == "SuspendedEV"]
        (stop,) = csms.of("SIM-1", "StopTransaction")
        idle = parse_utc_timestamp(stop["timestamp"]) - parse_utc_timestamp(suspended["timestamp"])
        assert idle.total_seconds() == 900
        after_full = [
            m["meter_value"][0]
            for m in csms.of("SIM-1", "MeterValues")
            if m["meter_value"][0]["timestamp"] > suspended["timestamp"]
        ]
        for meter_value in after_full:
            assert samples_of(meter_value, "Power.Active.Import")[0]["value"] == "0"
            assert registers_of(meter_value) == [stop["meter_stop"]]
            assert samples_of(meter_value, "SoC")[0]["value"] == "100"
