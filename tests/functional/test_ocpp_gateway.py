"""Who may connect, what happens to a second connection, and how bad frames are answered."""

from __future__ import annotations

import asyncio
import logging

import httpx
import pytest
from sqlalchemy import func, select
from websockets.exceptions import ConnectionClosed, InvalidStatus

from evbilling.charging.sessions import get_session
from evbilling.infra.context import ServiceContext
from evbilling.models import Base, ChargingSession
from tests.factories import create_station, create_tariff, create_token
from tests.functional.charger import charger, raw_call, ts
from tests.functional.conftest import LiveServer, connect


async def row_counts(context: ServiceContext) -> dict[str, int]:
    async with context.unit_of_work() as db:
        return {
            table.name: int(await db.scalar(select(func.count()).select_from(table)) or 0)
            for table in Base.metadata.sorted_tables
        }


async def refused_status(server: LiveServer, identity: str, **kwargs: object) -> int:
    with pytest.raises(InvalidStatus) as refused:
        await connect(server, identity, **kwargs)  # type: ignore[arg-type]
    return refused.value.response.status_code


class TestStationAuthentication:
    async def test_refuses_unknown_station_at_the_upgrade_without_creating_rows(
        self, context: ServiceContext, operator_id: int, live_server: LiveServer
    ) -> None:
        before = await row_counts(context)

        status = await refused_status(live_server, "NOT-REGISTERED")

        assert status == 401
        assert await row_counts(context) == before

    async def test_refuses_wrong_or_missing_password_and_other_usernames(
        self, context: ServiceContext, operator_id: int, live_server: LiveServer
    ) -> None:
        await create_station(context, operator_id=operator_id, identity="CP-1")

        wrong = await refused_status(live_server, "CP-1", password="not-the-password-at-all")
        missing = await refused_status(live_server, "CP-1", password=None)

        assert (wrong, missing) == (401, 401)

    @pytest.mark.parametrize("identity", ["CP-1%0A", "CP-1%00", "C" * 49, "CP%201"])
    async def test_refuses_what_is_no_station_identity_before_any_lookup(
        self, context: ServiceContext, operator_id: int, live_server: LiveServer, identity: str
    ) -> None:
        await create_station(context, operator_id=operator_id, identity="CP-1")
        before = await row_counts(context)

        status = await refused_status(live_server, identity)

        assert status == 400
        assert await row_counts(context) == before
        # Refusals for a malformed name count against no station's login allowance.
        assert await refused_status(live_server, "CP-1", password="wrong-password-wrong") == 401

    async def test_refuses_connections_without_the_ocpp16_subprotocol(
        self, context: ServiceContext, operator_id: int, live_server: LiveServer
    ) -> None:
        await create_station(context, operator_id=operator_id, identity="CP-1")

        status = await refused_status(live_server, "CP-1", subprotocols=["ocpp2.0.1"])

        assert status == 400

    async def test_rate_limits_failed_logins_per_station_and_address(
        self, context: ServiceContext, operator_id: int, live_server: LiveServer
    ) -> None:
        await create_station(context, operator_id=operator_id, identity="CP-1")
        for _ in range(3):  # the live server allows 3 failures per (station, address)
            assert await refused_status(live_server, "CP-1", password="guess-guess-guess-1") == 401

        # From the same address; other addresses are not refused (test_ocpp_login.py).
        blocked_even_with_right_password = await refused_status(live_server, "CP-1")

        assert blocked_even_with_right_password == 429

    async def test_a_station_without_password_cannot_connect(
        self, context: ServiceContext, operator_id: int, live_server: LiveServer
    ) -> None:
        await create_station(context, operator_id=operator_id, identity="CP-1", password=None)

        assert await refused_status(live_server, "CP-1") == 401


class TestSecondConnection:
    async def test_authenticated_reconnect_replaces_the_live_connection(
        self, context: ServiceContext, operator_id: int, live_server: LiveServer
    ) -> None:
        await create_station(context, operator_id=operator_id, identity="CP-1")
        first = await connect(live_server, "CP-1")

        second = await connect(live_server, "CP-1")

        with pytest.raises(ConnectionClosed):
            await asyncio.wait_for(first.recv(), timeout=5)
        answer = await raw_call(second, '[2,"h1","Heartbeat",{}]')
        assert answer[0] == 3
        await second.close()

    async def test_unauthenticated_socket_does_not_disturb_the_live_one(
        self, context: ServiceContext, operator_id: int, live_server: LiveServer
    ) -> None:
        await create_station(context, operator_id=operator_id, identity="CP-1")
        live = await connect(live_server, "CP-1")

        await refused_status(live_server, "CP-1", password="an-attacker-guessing")

        assert live_server.gateway.is_connected("CP-1")
        answer = await raw_call(live, '[2,"h2","Heartbeat",{}]')
        assert answer[:2] == [3, "h2"]
        await live.close()


class TestBadFrames:
    """Each bad input gets the OCPP 1.6 CALLERROR that names it, and changes nothing."""

    @pytest.mark.parametrize(
        ("frame", "answer_id", "code"),
        [
            ('[2,"s1","StartTransaction",{"connectorId":1,"idTag":"04A1B2C3D4",'
             '"meterStart":0,"timestamp":"yesterday"}]', "s1", "TypeConstraintViolation"),
            ('[2,"s2","StartTransaction",{"connectorId":1,"idTag":"04A1B2C3D4",'
             '"meterStart":-5,"timestamp":"2026-03-02T09:00:00Z"}]', "s2",
             "PropertyConstraintViolation"),
            ('[2,"s3","StartTransaction",{"connectorId":1,"idTag":"04A1B2C3D4",'
             '"meterStart":9223372036854775808,"timestamp":"2026-03-02T09:00:00Z"}]', "s3",
             "TypeConstraintViolation"),
            ('[2,"s4","StartTransaction",{"connectorId":1,"idTag":"04A1B2C3D4",'
             '"meterStart":NaN,"timestamp":"2026-03-02T09:00:00Z"}]', "s4",
             "FormationViolation"),
            ('[2,17,"Heartbeat",{}]', "-1", "FormationViolation"),
            ('[2,"' + "x" * 37 + '","Heartbeat",{}]', "-1", "FormationViolation"),
            ("this is not json", "-1", "FormationViolation"),
            ('[2,"s5","StartTransaction",{"connectorId":0,"idTag":"04A1B2C3D4",'
             '"meterStart":0,"timestamp":"2026-03-02T09:00:00Z"}]', "s5",
             "PropertyConstraintViolation"),
            ('[2,"s6","MeterValues",{"connectorId":1,"meterValue":[{"timestamp":'
             '"2026-03-02T09:00:00Z","sampledValue":[{"value":"NaN"}]}]}]', "s6",
             "PropertyConstraintViolation"),
            ('[2,"s7","StartTransaction",{"connectorId":1,"idTag":"04A1B2C3D4"}]', "s7",
             "ProtocolError"),
            ('[2,"s8","CancelReservation",{"reservationId":1}]', "s8", "NotImplemented"),
            ('[2,"s9","FlyToTheMoon",{}]', "s9", "NotSupported"),
        ],
        ids=["timestamp", "negative", "beyond-int64", "nan", "numeric-id", "long-id",
             "not-json", "connector-0", "nan-sample", "incomplete", "not-implemented",
             "not-supported"],
    )  # fmt: skip
    async def test_answers_with_the_matching_call_error_and_changes_nothing(
        self,
        context: ServiceContext,
        operator_id: int,
        live_server: LiveServer,
        frame: str,
        answer_id: str,
        code: str,
    ) -> None:
        await create_station(context, operator_id=operator_id, identity="CP-1")
        await create_token(context, operator_id=operator_id)
        connection = await connect(live_server, "CP-1")
        before = await row_counts(context)

        answer = await raw_call(connection, frame)

        assert answer[0] == 4
        assert answer[1] == answer_id
        assert answer[2] == code
        assert await row_counts(context) == before
        still_serving = await raw_call(connection, '[2,"after","Heartbeat",{}]')
        assert still_serving[:2] == [3, "after"]
        await connection.close()

    async def test_data_transfer_is_answered_unknown_vendor(
        self, context: ServiceContext, operator_id: int, live_server: LiveServer
    ) -> None:
        await create_station(context, operator_id=operator_id, identity="CP-1")
        connection = await connect(live_server, "CP-1")

        answer = await raw_call(connection, '[2,"d1","DataTransfer",{"vendorId":"com.acme"}]')

        assert answer == [3, "d1", {"status": "UnknownVendorId"}]
        await connection.close()


class TestConnectionLogs:
    async def test_every_line_of_a_connection_names_the_station_and_a_pseudonymous_address(
        self,
        context: ServiceContext,
        operator_id: int,
        live_server: LiveServer,
        caplog: pytest.LogCaptureFixture,
    ) -> None:
        await create_station(context, operator_id=operator_id, identity="CP-1")
        caplog.set_level(logging.DEBUG)
        connection = await connect(live_server, "CP-1")
        await raw_call(connection, '[2,"bad",17,{}]')  # rejected: logged by the connection
        await connection.close()
        await asyncio.sleep(0.2)  # let the server log the disconnect

        lines = [r.getMessage() for r in caplog.records if r.name.startswith("evbilling.ocpp")]
        events = ("station.connected", "ocpp.rejected", "station.disconnected")
        ours = [line for line in lines if any(event in line for event in events)]
        assert [event for event in events if any(event in line for line in ours)] == list(events)
        assert all("'CP-1'" in line and "'p:" in line for line in ours), ours
        assert not any("127.0.0.1" in line for line in lines)


class TestOperatorCommands:
    async def test_commands_return_the_stations_answer(
        self, context: ServiceContext, operator_id: int, live_server: LiveServer, api_key: str
    ) -> None:
        station_id = await create_station(context, operator_id=operator_id, identity="CP-1")
        headers = {"Authorization": f"Bearer {api_key}"}
        async with (
            charger(live_server) as station,
            httpx.AsyncClient(base_url=f"{live_server.base_url}/api/v1", headers=headers) as api,
        ):
            await station.boot()
            base = f"/stations/{station_id}/commands"
            reset = await api.post(f"{base}/reset", json={"type": "Hard"})
            unlock = await api.post(f"{base}/unlock-connector", json={"connector_id": 1})
            availability = await api.post(
                f"{base}/change-availability", json={"connector_id": 0, "type": "Inoperative"}
            )
            config = await api.post(f"{base}/get-configuration", json={"keys": ["Nope"]})
            change = await api.post(
                f"{base}/change-configuration", json={"key": "HeartbeatInterval", "value": "60"}
            )
            trigger = await api.post(
                f"{base}/trigger-message", json={"requested_message": "Heartbeat"}
            )
            clear = await api.post(f"{base}/clear-cache")
            start = await api.post(f"{base}/remote-start", json={"id_tag": "04a1b2c3d4"})
            stop = await api.post(f"{base}/remote-stop", json={"transaction_id": 7})

        assert reset.status_code == 200, reset.text
        assert reset.json() == {
            "station_identity": "CP-1",
            "action": "Reset",
            "response": {"status": "Accepted"},
        }
        assert unlock.json()["response"] == {"status": "Unlocked"}
        assert availability.json()["response"] == {"status": "Scheduled"}
        assert config.json()["response"]["unknownKey"] == ["Nope"]
        assert change.json()["response"] == {"status": "Accepted"}
        assert trigger.json()["response"] == {"status": "Accepted"}
        assert clear.json()["response"] == {"status": "Accepted"}
        assert start.json()["response"] == {"status": "Accepted"}
        assert stop.json()["response"] == {"status": "Accepted"}
        assert ("Reset", {"type": "Hard"}) in station.received
        assert ("RemoteStartTransaction", {"id_tag": "04A1B2C3D4"}) in station.received

    async def test_command_to_a_station_that_is_not_connected_is_a_clear_error(
        self, context: ServiceContext, operator_id: int, live_server: LiveServer, api_key: str
    ) -> None:
        station_id = await create_station(context, operator_id=operator_id, identity="CP-1")
        async with httpx.AsyncClient(base_url=f"{live_server.base_url}/api/v1") as api:
            response = await api.post(
                f"/stations/{station_id}/commands/reset",
                json={"type": "Soft"},
                headers={"Authorization": f"Bearer {api_key}"},
            )

        assert response.status_code == 409
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["title"] == "Station not connected"

    async def test_command_to_a_silent_station_times_out(
        self, context: ServiceContext, operator_id: int, live_server: LiveServer, api_key: str
    ) -> None:
        station_id = await create_station(context, operator_id=operator_id, identity="CP-1")
        silent = await connect(live_server, "CP-1")  # never answers
        async with httpx.AsyncClient(base_url=f"{live_server.base_url}/api/v1") as api:
            response = await api.post(
                f"/stations/{station_id}/commands/clear-cache?timeout=0.5",
                headers={"Authorization": f"Bearer {api_key}"},
            )
        await silent.close()

        assert response.status_code == 504
        assert "did not answer ClearCache" in response.json()["detail"]

    async def test_stop_session_sends_remote_stop_for_its_transaction(
        self, context: ServiceContext, operator_id: int, live_server: LiveServer, api_key: str
    ) -> None:
        tariff = await create_tariff(context, operator_id=operator_id)
        await create_station(context, operator_id=operator_id, tariff_id=tariff)
        await create_token(context, operator_id=operator_id)
        async with (
            charger(live_server) as station,
            httpx.AsyncClient(
                base_url=f"{live_server.base_url}/api/v1",
                headers={"Authorization": f"Bearer {api_key}"},
            ) as api,
        ):
            started = await station.start_tx(minutes=0)
            response = await api.post(f"/sessions/{started.transaction_id}/stop")

        assert response.status_code == 200, response.text
        assert ("RemoteStopTransaction", {"transaction_id": started.transaction_id}) in (
            station.received
        )

    async def test_commands_are_refused_for_another_operators_station(
        self, context: ServiceContext, operator_id: int, live_server: LiveServer, api_key: str
    ) -> None:
        from evbilling.access.repository import OperatorRepository

        async with context.unit_of_work() as db:
            other = await OperatorRepository(db).create(name="Other", now=context.clock.now())
            await db.commit()
        foreign = await create_station(context, operator_id=other.id, identity="FOREIGN")
        async with httpx.AsyncClient(base_url=f"{live_server.base_url}/api/v1") as api:
            response = await api.post(
                f"/stations/{foreign}/commands/reset", json={"type": "Soft"},
                headers={"Authorization": f"Bearer {api_key}"},
            )  # fmt: skip

        assert response.status_code == 404


async def test_stored_samples_are_exactly_the_ones_sent(
    context: ServiceContext, operator_id: int, live_server: LiveServer
) -> None:
    await create_station(context, operator_id=operator_id)
    await create_token(context, operator_id=operator_id)
    async with charger(live_server) as station:
        started = await station.start_tx(minutes=0)
        await station.meter(started.transaction_id, 2500, minutes=10)
    async with context.unit_of_work() as db:
        detail = await get_session(
            db=db, operator_id=operator_id, session_id=started.transaction_id
        )
        session = await db.get(ChargingSession, started.transaction_id)

    assert [(s.measurand, s.phase, s.unit, s.value, s.context) for s in detail.meter_samples] == [
        ("Energy.Active.Import.Register", None, "Wh", "2500", "Sample.Periodic"),
        ("Power.Active.Import", None, "W", "11000", None),
        ("Current.Import", "L1", "A", "16.1", None),
    ]
    assert detail.meter_samples[0].timestamp.isoformat().replace("+00:00", "Z") == ts(10)
    assert session is not None
    assert session.last_register_wh == 2500
