"""Operator commands are addressed in a short transaction and sent once it has ended: no
database connection is held while a station takes its time to answer."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from evbilling.infra.context import ServiceContext
from tests.factories import create_sessions, create_station


class RecordingStations:
    """A station link that answers at once and notes how many connections were checked out
    while it was waiting."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self.sent: list[tuple[str, str, dict[str, Any]]] = []
        self.connections_in_use: list[int] = []

    def is_connected(self, station_identity: str) -> bool:
        return True

    async def send(
        self, *, station_identity: str, action: str, payload: dict[str, Any], timeout_s: float
    ) -> dict[str, Any]:
        self.connections_in_use.append(self._engine.sync_engine.pool.checkedout())  # type: ignore[attr-defined]
        self.sent.append((station_identity, action, payload))
        return {"status": "Accepted"}


def recording(context: ServiceContext, engine: AsyncEngine) -> RecordingStations:
    stations = RecordingStations(engine)
    context.commands = stations
    return stations


class TestCommandsApi:
    async def test_sends_the_command_with_no_database_connection_held(
        self,
        context: ServiceContext,
        engine: AsyncEngine,
        operator_id: int,
        api_client: httpx.AsyncClient,
    ) -> None:
        stations = recording(context, engine)
        station_id = await create_station(context, operator_id=operator_id, identity="CP-1")

        response = await api_client.post(
            f"/stations/{station_id}/commands/remote-start",
            json={"id_tag": "04a1b2c3d4", "connector_id": 2},
        )

        assert response.status_code == 200, response.text
        assert response.json() == {
            "station_identity": "CP-1",
            "action": "RemoteStartTransaction",
            "response": {"status": "Accepted"},
        }
        assert stations.sent == [
            ("CP-1", "RemoteStartTransaction", {"idTag": "04A1B2C3D4", "connectorId": 2})
        ]
        assert stations.connections_in_use == [0]

    async def test_stops_a_running_session_with_no_database_connection_held(
        self,
        context: ServiceContext,
        engine: AsyncEngine,
        operator_id: int,
        api_client: httpx.AsyncClient,
    ) -> None:
        stations = recording(context, engine)
        station_id = await create_station(context, operator_id=operator_id, identity="CP-1")
        [session_id] = await create_sessions(
            context, operator_id=operator_id, station_id=station_id, count=1, status="active"
        )

        response = await api_client.post(f"/sessions/{session_id}/stop", params={"timeout": 5})

        assert response.status_code == 200, response.text
        assert stations.sent == [("CP-1", "RemoteStopTransaction", {"transactionId": session_id})]
        assert stations.connections_in_use == [0]

    async def test_refuses_to_stop_a_session_that_is_not_running(
        self,
        context: ServiceContext,
        engine: AsyncEngine,
        operator_id: int,
        api_client: httpx.AsyncClient,
    ) -> None:
        stations = recording(context, engine)
        station_id = await create_station(context, operator_id=operator_id)
        [session_id] = await create_sessions(
            context, operator_id=operator_id, station_id=station_id, count=1
        )

        finished = await api_client.post(f"/sessions/{session_id}/stop")
        unknown = await api_client.post("/sessions/999/stop")

        assert finished.status_code == 409
        assert "is completed, not active" in finished.json()["detail"]
        assert unknown.status_code == 404
        assert stations.sent == []

    async def test_sends_nothing_to_an_unknown_station(
        self,
        context: ServiceContext,
        engine: AsyncEngine,
        operator_id: int,
        api_client: httpx.AsyncClient,
    ) -> None:
        stations = recording(context, engine)

        response = await api_client.post("/stations/42/commands/clear-cache")

        assert response.status_code == 404
        assert stations.sent == []
