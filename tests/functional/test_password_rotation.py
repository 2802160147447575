"""Rotating a station's password through one operator command, over a real WebSocket with
the `ocpp` library as the charger: ChangeConfiguration(AuthorizationKey) is sent, the new
password is kept only when the station takes it, and the old one keeps working until the
station has logged in with the new one."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from ocpp.v16 import call_result
from ocpp.v16.enums import Action
from sqlalchemy import select
from typer.testing import CliRunner
from websockets.exceptions import InvalidStatus

from evbilling.cli import app as cli_app
from evbilling.infra.context import ServiceContext
from evbilling.infra.secrets import verify_secret
from evbilling.models import Station
from tests.factories import STATION_PASSWORD, create_station
from tests.functional.api_calls import assert_problem
from tests.functional.charger import TestCharger, on
from tests.functional.conftest import LiveServer, connect


class KeyTakingCharger(TestCharger):
    """A charger that answers ChangeConfiguration(AuthorizationKey) with `answer` (or not at
    all when `answer` is None) and notes the values it was sent."""

    __test__ = False

    def __init__(self, identity: str, connection: Any, *, answer: str | None) -> None:
        super().__init__(identity, connection)
        self.answer = answer
        self.authorization_keys: list[str] = []

    @on(Action.change_configuration)
    async def on_change_configuration(self, key: str, value: str) -> Any:
        if key == "AuthorizationKey":
            self.authorization_keys.append(value)
        if self.answer is None:
            await asyncio.Event().wait()  # never answers
        return call_result.ChangeConfiguration(status=self.answer)

    def new_password(self) -> str:
        """What the station logs in with next: the key it was sent, decoded from hex."""
        return bytes.fromhex(self.authorization_keys[-1]).decode("ascii")


@asynccontextmanager
async def station_online(
    server: LiveServer, *, answer: str | None = "Accepted", password: str = STATION_PASSWORD
) -> AsyncIterator[KeyTakingCharger]:
    connection = await connect(server, "CP-1", password=password)
    station = KeyTakingCharger("CP-1", connection, answer=answer)
    task = asyncio.create_task(station.start())
    try:
        yield station
    finally:
        task.cancel()
        await connection.close()


@asynccontextmanager
async def operator_api(server: LiveServer, api_key: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        base_url=f"{server.base_url}/api/v1", headers={"Authorization": f"Bearer {api_key}"}
    ) as client:
        yield client


async def logs_in(server: LiveServer, password: str) -> bool:
    """Whether a station presenting `password` gets its connection."""
    try:
        connection = await connect(server, "CP-1", password=password)
    except InvalidStatus as refused:
        status: int = refused.response.status_code
        if status != 401:
            raise
        return False
    await connection.close()
    return True


async def station_row(context: ServiceContext) -> Station:
    async with context.unit_of_work() as db:
        return (await db.execute(select(Station))).scalar_one()


class TestAcceptedRotation:
    async def test_the_old_password_works_until_the_station_logs_in_with_the_new_one(
        self, context: ServiceContext, operator_id: int, live_server: LiveServer, api_key: str
    ) -> None:
        # Arrange
        station_id = await create_station(context, operator_id=operator_id)
        old_hash = (await station_row(context)).password_hash

        # Act
        async with operator_api(live_server, api_key) as api:
            async with station_online(live_server) as station:
                response = await api.post(f"/stations/{station_id}/password")
            pending = await station_row(context)
            old_still_works = await logs_in(live_server, STATION_PASSWORD)
            new_works = await logs_in(live_server, station.new_password())
            promoted = await station_row(context)
            old_after_new = await logs_in(live_server, STATION_PASSWORD)
            new_again = await logs_in(live_server, station.new_password())
            shown = (await api.get(f"/stations/{station_id}")).json()

        # Assert
        assert response.status_code == 200, response.text
        assert response.headers["cache-control"] == "no-store"
        rotated = response.json()
        assert rotated == {
            "station_id": station_id,
            "identity": "CP-1",
            "password": rotated["password"],
            "station_status": "Accepted",
        }
        assert len(rotated["password"]) == 20
        assert station.authorization_keys == [rotated["password"].encode().hex().upper()]
        assert pending.password_hash == old_hash
        assert pending.pending_password_hash is not None
        assert verify_secret(secret=rotated["password"], secret_hash=pending.pending_password_hash)
        assert old_still_works
        assert new_works
        assert promoted.pending_password_hash is None
        assert promoted.password_hash is not None
        assert verify_secret(secret=rotated["password"], secret_hash=promoted.password_hash)
        assert promoted.password_changed_at == context.clock.now()
        assert not old_after_new
        assert new_again
        assert shown["password_pending"] is False

    async def test_sends_a_given_password_and_shows_the_rotation_as_pending(
        self, context: ServiceContext, operator_id: int, live_server: LiveServer, api_key: str
    ) -> None:
        # Arrange
        station_id = await create_station(context, operator_id=operator_id)

        # Act
        async with (
            operator_api(live_server, api_key) as api,
            station_online(live_server) as station,
        ):
            response = await api.post(
                f"/stations/{station_id}/password", json={"password": "OCA_OCTT_admin_test"}
            )
            shown = (await api.get(f"/stations/{station_id}")).json()

        # Assert
        assert response.status_code == 200, response.text
        assert response.json()["password"] == "OCA_OCTT_admin_test"
        # The OCPP 1.6 conformance tool's own example value.
        assert station.authorization_keys == ["4F43415F4F4354545F61646D696E5F74657374"]
        assert shown["password_pending"] is True

    async def test_reboot_required_keeps_the_new_password_for_after_the_reboot(
        self, context: ServiceContext, operator_id: int, live_server: LiveServer, api_key: str
    ) -> None:
        # Arrange
        station_id = await create_station(context, operator_id=operator_id)

        # Act
        async with (
            operator_api(live_server, api_key) as api,
            station_online(live_server, answer="RebootRequired") as station,
        ):
            response = await api.post(f"/stations/{station_id}/password")

        # Assert
        assert response.status_code == 200, response.text
        assert response.json()["station_status"] == "RebootRequired"
        assert await logs_in(live_server, STATION_PASSWORD)
        assert await logs_in(live_server, station.new_password())

    async def test_a_second_rotation_replaces_the_first_pending_password(
        self, context: ServiceContext, operator_id: int, live_server: LiveServer, api_key: str
    ) -> None:
        # Arrange
        station_id = await create_station(context, operator_id=operator_id)

        # Act
        async with (
            operator_api(live_server, api_key) as api,
            station_online(live_server) as station,
        ):
            first = await api.post(f"/stations/{station_id}/password")
            second = await api.post(f"/stations/{station_id}/password")

        # Assert
        assert first.status_code == second.status_code == 200
        assert not await logs_in(live_server, first.json()["password"])
        assert await logs_in(live_server, second.json()["password"])
        assert len(station.authorization_keys) == 2


class TestFailedRotation:
    @pytest.mark.parametrize("answer", ["Rejected", "NotSupported"])
    async def test_a_refusal_changes_nothing(
        self,
        context: ServiceContext,
        operator_id: int,
        live_server: LiveServer,
        api_key: str,
        answer: str,
    ) -> None:
        # Arrange
        station_id = await create_station(context, operator_id=operator_id)
        before = await station_row(context)

        # Act
        async with (
            operator_api(live_server, api_key) as api,
            station_online(live_server, answer=answer) as station,
        ):
            response = await api.post(f"/stations/{station_id}/password")

        # Assert
        assert_problem(response, status=409)
        problem = response.json()
        assert problem["title"] == "Station refused the new password"
        assert problem["station_status"] == answer
        assert "password" not in problem
        after = await station_row(context)
        assert after.password_hash == before.password_hash
        assert after.pending_password_hash is None
        assert await logs_in(live_server, STATION_PASSWORD)
        assert not await logs_in(live_server, station.new_password())

    async def test_a_station_that_is_not_connected_is_a_clear_error(
        self, context: ServiceContext, operator_id: int, live_server: LiveServer, api_key: str
    ) -> None:
        # Arrange
        station_id = await create_station(context, operator_id=operator_id)
        before = await station_row(context)

        # Act
        async with operator_api(live_server, api_key) as api:
            response = await api.post(f"/stations/{station_id}/password")

        # Assert
        assert_problem(response, status=409)
        assert response.json()["title"] == "Station not connected"
        after = await station_row(context)
        assert (after.password_hash, after.pending_password_hash) == (before.password_hash, None)
        assert await logs_in(live_server, STATION_PASSWORD)

    async def test_an_unconfirmed_password_is_kept_as_pending_in_case_it_was_applied(
        self, context: ServiceContext, operator_id: int, live_server: LiveServer, api_key: str
    ) -> None:
        # Arrange
        station_id = await create_station(context, operator_id=operator_id)

        # Act
        async with (
            operator_api(live_server, api_key) as api,
            station_online(live_server, answer=None) as station,
        ):
            response = await api.post(f"/stations/{station_id}/password", params={"timeout": 0.5})

        # Assert
        assert_problem(response, status=504)
        assert "current password keeps working" in response.json()["detail"]
        assert "password" not in response.json()
        assert await logs_in(live_server, STATION_PASSWORD)
        # The station did apply it here: it is not locked out.
        assert await logs_in(live_server, station.new_password())

    @pytest.mark.parametrize(
        ("password", "message"),
        [
            ("a" * 21, "at most 20 characters"),
            ("a" * 15, "at least 16 characters"),
            ("sechzehn-zeichen-ä", "printable ASCII"),
        ],
    )
    async def test_refuses_a_password_outside_authorization_key_rules_and_sends_nothing(
        self,
        context: ServiceContext,
        operator_id: int,
        live_server: LiveServer,
        api_key: str,
        password: str,
        message: str,
    ) -> None:
        # Arrange
        station_id = await create_station(context, operator_id=operator_id)

        # Act
        async with (
            operator_api(live_server, api_key) as api,
            station_online(live_server) as station,
        ):
            response = await api.post(
                f"/stations/{station_id}/password", json={"password": password}
            )

        # Assert
        assert_problem(response, status=422, field="password")
        assert message in response.text
        assert station.authorization_keys == []
        assert (await station_row(context)).pending_password_hash is None

    async def test_another_operators_station_is_not_found_and_sent_nothing(
        self,
        context: ServiceContext,
        operator_id: int,
        live_server: LiveServer,
        other_client: httpx.AsyncClient,
    ) -> None:
        # Arrange
        station_id = await create_station(context, operator_id=operator_id)

        # Act
        async with station_online(live_server) as station:
            response = await other_client.post(f"/stations/{station_id}/password")

        # Assert
        assert_problem(response, status=404)
        assert station.authorization_keys == []
        assert (await station_row(context)).pending_password_hash is None


class TestRotationFromTheCommandLine:
    async def test_rotate_password_prints_the_new_password_once(
        self,
        context: ServiceContext,
        operator_id: int,
        live_server: LiveServer,
        api_key: str,
        database_url: str,
    ) -> None:
        # Arrange
        station_id = await create_station(context, operator_id=operator_id)
        env = {
            "EVBILLING_DATABASE_URL": database_url,
            "EVBILLING_API_URL": live_server.base_url,
            "EVBILLING_API_KEY": api_key,
        }

        def run(*args: str) -> tuple[int, str]:
            result = CliRunner().invoke(cli_app, list(args), env=env)
            return result.exit_code, result.output

        # Act
        async with station_online(live_server) as station:
            text = await asyncio.to_thread(run, "station", "rotate-password", str(station_id))
            as_json = await asyncio.to_thread(
                run, "station", "rotate-password", str(station_id), "--json"
            )
        offline = await asyncio.to_thread(run, "station", "rotate-password", str(station_id))

        # Assert
        assert text[0] == 0, text[1]
        first = bytes.fromhex(station.authorization_keys[0]).decode()
        assert text[1].count(first) == 1
        assert "CP-1 answered Accepted" in text[1]
        assert as_json[0] == 0, as_json[1]
        assert json.loads(as_json[1])["password"] == station.new_password()
        assert offline[0] == 1
        assert "Station not connected" in offline[1]


async def test_the_new_password_is_never_logged(
    context: ServiceContext,
    operator_id: int,
    live_server: LiveServer,
    api_key: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    station_id = await create_station(context, operator_id=operator_id)
    # The server's own lines at every level (the ocpp library's are WARNING and up in a
    # configured server, and the test charger's are the test's side of the wire).
    caplog.set_level(logging.DEBUG, logger="evbilling")
    caplog.set_level(logging.DEBUG, logger="uvicorn")

    async with operator_api(live_server, api_key) as api, station_online(live_server) as station:
        response = await api.post(f"/stations/{station_id}/password")
    assert await logs_in(live_server, station.new_password())

    password = response.json()["password"]
    lines = [record.getMessage() for record in caplog.records]
    assert any("station.password_pending" in line for line in lines)
    assert any("station.password_promoted" in line for line in lines)
    assert not [line for line in lines if password in line]
    assert not [line for line in lines if station.authorization_keys[0] in line]
