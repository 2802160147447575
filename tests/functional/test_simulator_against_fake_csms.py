"""The simulator against a minimal CSMS (`tests.functional.fake_csms`) that records every CALL
each station sends, in order: the OCPP 1.6 message sequence, and energy figures that add up the
way billing needs them to."""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import AsyncIterator
from typing import Any

import pytest
from ocpp.v16 import call
from websockets.asyncio.server import serve
from websockets.typing import Subprotocol

from evbilling.kit import parse_utc_timestamp
from evbilling.simulator import (
    SessionOrigin,
    SessionOutcome,
    SimulatedStationConfig,
    SimulationReport,
    SimulationSettings,
    StationOutcome,
    StopReason,
    run_simulation,
    stations_from_options,
)
from tests.functional.fake_csms import (
    BLOCKED_TAG,
    GOOD_TAG,
    INVALID_TAG,
    MAX_POWER_W,
    OTHER_TAG,
    PASSWORD,
    FakeCentralSystem,
    ReceivedCall,
)


@pytest.fixture
async def csms() -> AsyncIterator[FakeCentralSystem]:
    central = FakeCentralSystem()
    async with serve(
        central.handler,
        "127.0.0.1",
        0,
        subprotocols=[Subprotocol("ocpp1.6")],
        process_request=central.process_request,
    ) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        central.url = f"ws://127.0.0.1:{port}/ocpp"
        yield central


def _settings(**overrides: Any) -> SimulationSettings:
    values: dict[str, Any] = {
        "sessions_per_station": 2,
        "time_scale": 5_000.0,
        "meter_interval_s": (10, 60),
        "session_energy_wh": (2_000, 6_000),
        "pause_between_sessions_s": (0, 30),
        "idle_after_full_s": (60, 300),
        "seed": 7,
        "min_heartbeat_wall_s": 0.05,
        "response_timeout_wall_s": 5.0,
    }
    values.update(overrides)
    return SimulationSettings(**values)


def _station(station_id: str, *tags: str, connectors: int = 1) -> SimulatedStationConfig:
    return SimulatedStationConfig(
        station_id=station_id,
        password=PASSWORD,
        connectors=connectors,
        max_power_w=MAX_POWER_W,
        id_tags=tags or (GOOD_TAG,),
    )


def _token(received: ReceivedCall) -> str:
    """A compact name for a CALL: StatusNotification carries its connector and status."""
    if received.action == "StatusNotification":
        return f"Status:{received.payload['connector_id']}:{received.payload['status']}"
    return received.action


def _registers(meter_value: dict[str, Any]) -> list[int]:
    return [
        int(sample["value"])
        for sample in meter_value["sampled_value"]
        if sample.get("measurand") == "Energy.Active.Import.Register"
    ]


def _measurand(meter_value: dict[str, Any], measurand: str) -> list[dict[str, Any]]:
    return [s for s in meter_value["sampled_value"] if s.get("measurand") == measurand]


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
        report = await run_simulation(url=csms.url, stations=stations, settings=_settings())

        # Assert
        assert [s.station_id for s in report.stations] == ["SIM-1", "SIM-2"]
        for station in report.stations:
            assert station.outcome is StationOutcome.COMPLETED
            assert station.sessions_completed == 2
            assert station.errors == ()
            assert csms.subprotocols[station.station_id] == "ocpp1.6"
            tokens = [
                _token(c)
                for c in csms.calls[station.station_id]
                if c.action != "Heartbeat"
                and not (c.action == "MeterValues" or _token(c).endswith("SuspendedEV"))
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
        stations = [_station("SIM-1"), _station("SIM-2")]
        csms.passwords = {"SIM-1": PASSWORD, "SIM-2": PASSWORD}

        # Act
        report = await run_simulation(url=csms.url, stations=stations, settings=_settings())

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
                    (register,) = _registers(meter_value)
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
                assert _registers(begin) == [start["meter_start"]]
                assert _registers(end) == [stop["meter_stop"]]
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
            url=csms.url, stations=[_station("SIM-1")], settings=_settings(sessions_per_station=1)
        )

        # Assert
        samples = csms.of("SIM-1", "MeterValues")
        assert samples
        for sample in samples:
            (meter_value,) = sample["meter_value"]
            assert {s["context"] for s in meter_value["sampled_value"]} == {"Sample.Periodic"}
            (power,) = _measurand(meter_value, "Power.Active.Import")
            currents = _measurand(meter_value, "Current.Import")
            voltages = _measurand(meter_value, "Voltage")
            (soc,) = _measurand(meter_value, "SoC")
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
        settings = _settings(
            sessions_per_station=1,
            time_scale=50_000.0,
            session_energy_wh=(500_000, 500_000),
            idle_after_full_s=(900, 900),
        )

        # Act
        report = await run_simulation(url=csms.url, stations=[_station("SIM-1")], settings=settings)

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
            assert _measurand(meter_value, "Power.Active.Import")[0]["value"] == "0"
            assert _registers(meter_value) == [stop["meter_stop"]]
            assert _measurand(meter_value, "SoC")[0]["value"] == "100"

    async def test_refused_stations_are_reported_and_the_others_complete(
        self, csms: FakeCentralSystem
    ) -> None:
        # Arrange
        csms.passwords = {"SIM-OK": PASSWORD, "SIM-BADPASS": "another-password"}
        stations = [_station("SIM-OK"), _station("SIM-BADPASS"), _station("SIM-UNKNOWN")]

        # Act
        report = await run_simulation(
            url=csms.url, stations=stations, settings=_settings(sessions_per_station=1)
        )

        # Assert
        by_id = {s.station_id: s for s in report.stations}
        assert by_id["SIM-OK"].outcome is StationOutcome.COMPLETED
        assert by_id["SIM-OK"].sessions_completed == 1
        assert by_id["SIM-BADPASS"].outcome is StationOutcome.CONNECTION_REFUSED
        assert by_id["SIM-BADPASS"].http_status == 401
        assert by_id["SIM-UNKNOWN"].outcome is StationOutcome.CONNECTION_REFUSED
        assert by_id["SIM-UNKNOWN"].http_status == 404
        assert by_id["SIM-UNKNOWN"].total_messages_sent == 0

    async def test_rejected_authorization_starts_no_transaction(
        self, csms: FakeCentralSystem
    ) -> None:
        # Arrange
        csms.passwords = {"SIM-1": PASSWORD}

        # Act
        report = await run_simulation(
            url=csms.url, stations=[_station("SIM-1", INVALID_TAG, GOOD_TAG)], settings=_settings()
        )

        # Assert
        station = report.stations[0]
        assert [s.outcome for s in station.sessions] == [
            SessionOutcome.AUTHORIZATION_REJECTED,
            SessionOutcome.COMPLETED,
        ]
        assert [s.id_tag for s in station.rejections] == [INVALID_TAG]
        assert [s["id_tag"] for s in csms.of("SIM-1", "StartTransaction")] == [GOOD_TAG]

    async def test_blocked_start_is_stopped_at_once_as_deauthorized(
        self, csms: FakeCentralSystem
    ) -> None:
        # Arrange
        csms.passwords = {"SIM-1": PASSWORD}

        # Act
        report = await run_simulation(
            url=csms.url,
            stations=[_station("SIM-1", BLOCKED_TAG)],
            settings=_settings(sessions_per_station=1),
        )

        # Assert
        (record,) = report.stations[0].sessions
        assert record.outcome is SessionOutcome.DEAUTHORIZED
        assert record.stop_reason is StopReason.DE_AUTHORIZED
        (start,) = csms.of("SIM-1", "StartTransaction")
        (stop,) = csms.of("SIM-1", "StopTransaction")
        assert stop["reason"] == "DeAuthorized"
        assert stop["meter_stop"] == start["meter_start"]
        assert csms.of("SIM-1", "MeterValues") == []
        statuses = [s["status"] for s in csms.of("SIM-1", "StatusNotification")]
        assert "Charging" not in statuses
        assert statuses[-2:] == ["Finishing", "Available"]

    async def test_call_error_on_meter_values_is_recorded_and_sessions_go_on(
        self, csms: FakeCentralSystem
    ) -> None:
        # Arrange
        csms.passwords = {"SIM-1": PASSWORD}
        csms.failing_actions = frozenset({"MeterValues"})

        # Act
        report = await run_simulation(
            url=csms.url, stations=[_station("SIM-1")], settings=_settings()
        )

        # Assert
        station = report.stations[0]
        assert station.outcome is StationOutcome.COMPLETED
        assert station.sessions_completed == 2
        assert station.errors
        assert {(e.action, e.kind.value) for e in station.errors} == {("MeterValues", "call_error")}
        assert all(s.meter_values_sent == 0 for s in station.sessions)
        assert len(csms.of("SIM-1", "StopTransaction")) == 2

    async def test_answers_remote_start_stop_and_management_commands(
        self, csms: FakeCentralSystem
    ) -> None:
        # Arrange: a station with no planned sessions that stays connected for commands.
        csms.passwords = {"SIM-1": PASSWORD}
        settings = _settings(
            sessions_per_station=0,
            time_scale=100.0,
            session_energy_wh=(500_000, 500_000),
            linger_after_sessions_s=100_000,
        )
        stop = asyncio.Event()
        simulation = asyncio.create_task(
            run_simulation(
                url=csms.url,
                stations=[_station("SIM-1", connectors=2)],
                settings=settings,
                stop=stop,
            )
        )
        await csms.wait_until(lambda: len(csms.of("SIM-1", "StatusNotification")) >= 3)
        central = csms.connected["SIM-1"]

        # Act
        started = await central.call(call.RemoteStartTransaction(id_tag=GOOD_TAG, connector_id=2))
        await csms.wait_until(lambda: len(csms.of("SIM-1", "MeterValues")) >= 1)
        (start,) = csms.of("SIM-1", "StartTransaction")
        (stop_transaction_id,) = [m["transaction_id"] for m in csms.of("SIM-1", "MeterValues")][:1]
        unknown_stop = await central.call(call.RemoteStopTransaction(transaction_id=-1))
        stopped = await central.call(call.RemoteStopTransaction(transaction_id=stop_transaction_id))
        await csms.wait_until(lambda: len(csms.of("SIM-1", "StopTransaction")) == 1)
        configuration = await central.call(
            call.GetConfiguration(key=["HeartbeatInterval", "NoSuchKey"])
        )
        changed = await central.call(call.ChangeConfiguration(key="HeartbeatInterval", value="60"))
        unsupported = await central.call(call.ChangeConfiguration(key="NoSuchKey", value="1"))
        calls_before_trigger = len(csms.of("SIM-1", "StatusNotification"))
        triggered = await central.call(
            call.TriggerMessage(requested_message="StatusNotification", connector_id=1)
        )
        await csms.wait_until(
            lambda: len(csms.of("SIM-1", "StatusNotification")) == calls_before_trigger + 1
        )
        unlocked = await central.call(call.UnlockConnector(connector_id=1))
        reset = await central.call(call.Reset(type="Soft"))
        cleared = await central.call(call.ClearCache())
        transfer = await central.call(call.DataTransfer(vendor_id="com.example"))
        stop.set()
        report: SimulationReport = await asyncio.wait_for(simulation, timeout=10)

        # Assert
        assert started.status == "Accepted"
        assert start["connector_id"] == 2
        assert csms.of("SIM-1", "Authorize") == [], "remote starts need no Authorize"
        assert unknown_stop.status == "Rejected"
        assert stopped.status == "Accepted"
        (stop_call,) = csms.of("SIM-1", "StopTransaction")
        assert stop_call["reason"] == "Remote"
        assert stop_call["transaction_id"] == stop_transaction_id
        assert configuration.configuration_key == [
            {"key": "HeartbeatInterval", "readonly": False, "value": "300"}
        ]
        assert configuration.unknown_key == ["NoSuchKey"]
        assert (changed.status, unsupported.status) == ("Accepted", "NotSupported")
        assert triggered.status == "Accepted"
        assert csms.of("SIM-1", "StatusNotification")[-1]["connector_id"] == 1
        assert unlocked.status == "Unlocked"
        assert reset.status == "Accepted"
        assert cleared.status == "Accepted"
        assert transfer.status == "UnknownVendorId"
        station = report.stations[0]
        assert station.outcome is StationOutcome.STOPPED
        (record,) = station.sessions
        assert (record.origin, record.outcome, record.stop_reason) == (
            SessionOrigin.REMOTE,
            SessionOutcome.COMPLETED,
            StopReason.REMOTE,
        )
        assert station.commands_received["RemoteStartTransaction"] == 1
        assert station.commands_received["RemoteStopTransaction"] == 2

    async def test_logs_carry_pseudonyms_never_raw_id_tags(
        self, csms: FakeCentralSystem, caplog: pytest.LogCaptureFixture
    ) -> None:
        # Arrange: DEBUG includes the raw OCPP frames the ocpp library logs.
        caplog.set_level(logging.DEBUG)
        csms.passwords = {"SIM-1": PASSWORD}

        # Act
        await run_simulation(
            url=csms.url,
            stations=[_station("SIM-1", GOOD_TAG, INVALID_TAG)],
            settings=_settings(),
        )

        # Assert
        ours = [r.getMessage() for r in caplog.records if r.name.startswith("evbilling")]
        assert any('"idTag":"p:' in message for message in ours), "frames are logged"
        assert not [m for m in ours if GOOD_TAG in m or INVALID_TAG in m]

    async def test_a_timeout_is_recorded_and_the_session_goes_on(
        self, csms: FakeCentralSystem
    ) -> None:
        # Arrange: the first MeterValues is answered too late. The CSMS handles one frame at a
        # time, so what queued behind it may time out too; heartbeats are kept out of the way.
        csms.passwords = {"SIM-1": PASSWORD}
        csms.slow_first = {"MeterValues": 0.35}
        settings = _settings(
            sessions_per_station=1, response_timeout_wall_s=0.25, min_heartbeat_wall_s=60.0
        )

        # Act
        report = await run_simulation(url=csms.url, stations=[_station("SIM-1")], settings=settings)

        # Assert
        station = report.stations[0]
        assert (station.errors[0].action, station.errors[0].kind.value) == (
            "MeterValues",
            "timeout",
        )
        assert {e.kind.value for e in station.errors} == {"timeout"}
        assert station.outcome is StationOutcome.COMPLETED
        assert station.sessions_completed == 1
        (record,) = station.sessions
        (stop,) = csms.of("SIM-1", "StopTransaction")
        assert record.meter_stop_wh == stop["meter_stop"]

    async def test_a_lost_connection_is_reported_not_raised(self, csms: FakeCentralSystem) -> None:
        # Arrange: slow enough that the session is still charging when the CSMS hangs up.
        csms.passwords = {"SIM-1": PASSWORD}
        settings = _settings(
            sessions_per_station=1, time_scale=100.0, pause_between_sessions_s=(0, 0)
        )
        simulation = asyncio.create_task(
            run_simulation(url=csms.url, stations=[_station("SIM-1")], settings=settings)
        )
        await csms.wait_until(lambda: len(csms.of("SIM-1", "StartTransaction")) == 1)

        # Act
        await csms.connected["SIM-1"]._connection.close()
        report = await asyncio.wait_for(simulation, timeout=10)

        # Assert
        station = report.stations[0]
        assert station.outcome is StationOutcome.CONNECTION_LOST
        assert station.sessions == ()
        assert csms.of("SIM-1", "StopTransaction") == []

    async def test_boot_pending_is_retried_until_accepted(self, csms: FakeCentralSystem) -> None:
        # Arrange
        csms.passwords = {"SIM-1": PASSWORD}
        csms.boot_statuses = ["Pending", "Rejected"]

        # Act
        report = await run_simulation(
            url=csms.url, stations=[_station("SIM-1")], settings=_settings(sessions_per_station=1)
        )

        # Assert
        assert report.stations[0].outcome is StationOutcome.COMPLETED
        actions = [c.action for c in csms.calls["SIM-1"]]
        assert actions[:4] == [
            "BootNotification",
            "BootNotification",
            "BootNotification",
            "StatusNotification",
        ]
