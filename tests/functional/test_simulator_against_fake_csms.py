"""The simulator against a minimal CSMS when things go wrong (refused stations, rejected cards,
CALLERRORs, time-outs, lost connections) and when the CSMS sends commands."""

from __future__ import annotations

import asyncio
import logging

import pytest
from ocpp.v16 import call

from evbilling.simulator import (
    SessionOrigin,
    SessionOutcome,
    SimulationReport,
    StationOutcome,
    StopReason,
    run_simulation,
)
from tests.functional.fake_csms import (
    BLOCKED_TAG,
    GOOD_TAG,
    INVALID_TAG,
    PASSWORD,
    FakeCentralSystem,
    sim_settings,
    sim_station,
)


class TestSimulatorWhenThingsGoWrong:
    async def test_refused_stations_are_reported_and_the_others_complete(
        self, csms: FakeCentralSystem
    ) -> None:
        # Arrange
        csms.passwords = {"SIM-OK": PASSWORD, "SIM-BADPASS": "another-password"}
        stations = [sim_station("SIM-OK"), sim_station("SIM-BADPASS"), sim_station("SIM-UNKNOWN")]

        # Act
        report = await run_simulation(
            url=csms.url, stations=stations, settings=sim_settings(sessions_per_station=1)
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
            url=csms.url,
            stations=[sim_station("SIM-1", INVALID_TAG, GOOD_TAG)],
            settings=sim_settings(),
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
            stations=[sim_station("SIM-1", BLOCKED_TAG)],
            settings=sim_settings(sessions_per_station=1),
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
            url=csms.url, stations=[sim_station("SIM-1")], settings=sim_settings()
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
        settings = sim_settings(
            sessions_per_station=0,
            time_scale=100.0,
            session_energy_wh=(500_000, 500_000),
            linger_after_sessions_s=100_000,
        )
        stop = asyncio.Event()
        simulation = asyncio.create_task(
            run_simulation(
                url=csms.url,
                stations=[sim_station("SIM-1", connectors=2)],
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
            stations=[sim_station("SIM-1", GOOD_TAG, INVALID_TAG)],
            settings=sim_settings(),
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
        settings = sim_settings(
            sessions_per_station=1, response_timeout_wall_s=0.25, min_heartbeat_wall_s=60.0
        )

        # Act
        report = await run_simulation(
            url=csms.url, stations=[sim_station("SIM-1")], settings=settings
        )

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
        settings = sim_settings(
            sessions_per_station=1, time_scale=100.0, pause_between_sessions_s=(0, 0)
        )
        simulation = asyncio.create_task(
            run_simulation(url=csms.url, stations=[sim_station("SIM-1")], settings=settings)
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
            url=csms.url,
            stations=[sim_station("SIM-1")],
            settings=sim_settings(sessions_per_station=1),
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
