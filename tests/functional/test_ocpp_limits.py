"""Per-connection bounds over real sockets: unsolicited answers are dropped, a frame over the
size limit closes the socket (1009), values no database can hold get their CALLERROR, and a
command pending on a station that disconnects fails at once with a clear error."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import orjson
import pytest
from ocpp.v16 import call
from sqlalchemy.ext.asyncio import AsyncEngine
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosedError

from evbilling.config import Settings
from evbilling.infra.context import ServiceContext
from evbilling.kit import FixedClock
from evbilling.main import Application, create_app, uvicorn_config
from evbilling.models import Station
from tests.factories import create_station, create_tariff, create_token
from tests.functional.charger import TestCharger, raw_call
from tests.functional.conftest import LiveServer, connect, running
from tests.functional.test_ocpp_gateway import row_counts

FRAME_LIMIT = 4096
LONG_WAIT = 60  # the command time-out: a pass well before it proves the prompt failure


async def station_row(context: ServiceContext, identity: str = "CP-1") -> dict[str, Any]:
    async with context.unit_of_work() as db:
        station = (await db.execute(Station.__table__.select())).mappings().one()
        assert station["identity"] == identity
        return dict(station)


@pytest.fixture
async def small_frames(
    context: ServiceContext, engine: AsyncEngine, clock: FixedClock
) -> AsyncIterator[LiveServer]:
    """The server as `evbilling serve` configures it, with a 4 KiB frame limit."""
    app, gateway = create_app(context=context)
    application = Application(app=app, engine=engine, gateway=gateway, context=context)
    settings = Settings(host="127.0.0.1", port=0, ocpp_max_frame_bytes=FRAME_LIMIT)
    config = uvicorn_config(application=application, settings=settings)
    async with running(config, gateway, clock) as server:
        yield server


@pytest.fixture
async def api(live_server: LiveServer, api_key: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        base_url=f"{live_server.base_url}/api/v1",
        headers={"Authorization": f"Bearer {api_key}"},
        timeout=2 * LONG_WAIT,
    ) as client:
        yield client


async def next_call(connection: ClientConnection, action: str) -> str:
    """Wait for the server's CALL of `action`; returns its unique id."""
    frame = orjson.loads(await asyncio.wait_for(connection.recv(), timeout=10))
    assert frame[0] == 2, frame
    assert frame[2] == action, frame
    message_id: str = frame[1]
    return message_id


class TestUnsolicitedAnswers:
    async def test_a_thousand_unsolicited_answers_are_dropped_and_commands_still_work(
        self,
        context: ServiceContext,
        operator_id: int,
        live_server: LiveServer,
        api: httpx.AsyncClient,
    ) -> None:
        station_id = await create_station(context, operator_id=operator_id)
        connection = await connect(live_server, "CP-1")
        station = TestCharger("CP-1", connection)
        reader = asyncio.create_task(station.start())
        blob = "x" * 16_000
        for index in range(1_000):
            frame = (
                [3, f"nobody-{index}", {"blob": blob}]
                if index % 2
                else [4, f"nobody-{index}", "GenericError", blob[:200], {"blob": blob}]
            )
            await connection.send(orjson.dumps(frame).decode())
        # Frames are read in order: once this is answered, all of the above were read.
        await station.call(call.Heartbeat())
        server_side = live_server.gateway.live_connection("CP-1")

        reset = await api.post(f"/stations/{station_id}/commands/reset", json={"type": "Soft"})

        assert server_side is not None
        assert server_side.dropped_answers == 1_000
        assert server_side.held_answers == 0
        assert server_side._response_queue.qsize() == 0  # the library's queue stays unused
        assert reset.status_code == 200, reset.text
        assert reset.json()["response"] == {"status": "Accepted"}
        reader.cancel()
        await connection.close()

    async def test_a_malformed_answer_to_a_pending_command_fails_it_at_once(
        self,
        context: ServiceContext,
        operator_id: int,
        live_server: LiveServer,
        api: httpx.AsyncClient,
    ) -> None:
        station_id = await create_station(context, operator_id=operator_id)
        connection = await connect(live_server, "CP-1")
        request = asyncio.create_task(
            api.post(
                f"/stations/{station_id}/commands/reset?timeout={LONG_WAIT}", json={"type": "Hard"}
            )
        )
        message_id = await next_call(connection, "Reset")

        await connection.send(orjson.dumps([3, message_id, {"status": "Accepted\u0000"}]).decode())
        response = await request

        assert response.status_code == 502
        assert response.json()["ocpp_error"] == "PropertyConstraintViolation"
        await connection.close()


class TestDisconnectWhileWaiting:
    async def test_a_command_pending_on_a_station_that_disconnects_fails_with_a_clear_error(
        self,
        context: ServiceContext,
        operator_id: int,
        live_server: LiveServer,
        api: httpx.AsyncClient,
    ) -> None:
        station_id = await create_station(context, operator_id=operator_id)
        connection = await connect(live_server, "CP-1")
        base = f"/stations/{station_id}/commands"
        pending = asyncio.create_task(
            api.post(f"{base}/reset?timeout={LONG_WAIT}", json={"type": "Hard"})
        )
        await next_call(connection, "Reset")
        # A second command queues behind the first (one outstanding CALL per station).
        queued = asyncio.create_task(api.post(f"{base}/clear-cache?timeout={LONG_WAIT}"))
        await asyncio.sleep(0.1)  # lets it reach the station's queue (either way it fails)

        await connection.close()  # without answering
        first, second = await pending, await queued

        assert first.status_code == 409
        assert first.json()["title"] == "Station not connected"
        assert first.json()["detail"] == "station CP-1 disconnected while waiting for Reset"
        # Queued behind it or arriving after the close: the same clear error, never a 504.
        assert second.status_code == 409
        assert second.json()["title"] == "Station not connected"

    async def test_a_command_pending_on_a_superseded_connection_fails_with_a_clear_error(
        self,
        context: ServiceContext,
        operator_id: int,
        live_server: LiveServer,
        api: httpx.AsyncClient,
    ) -> None:
        station_id = await create_station(context, operator_id=operator_id)
        old = await connect(live_server, "CP-1")
        pending = asyncio.create_task(
            api.post(f"/stations/{station_id}/commands/clear-cache?timeout={LONG_WAIT}")
        )
        await next_call(old, "ClearCache")

        new = await connect(live_server, "CP-1")  # the station reconnected
        response = await pending

        assert response.status_code == 409
        assert response.json()["detail"] == (
            "station CP-1 disconnected while waiting for ClearCache"
        )
        assert (await raw_call(new, '[2,"hb","Heartbeat",{}]'))[:2] == [3, "hb"]
        await new.close()


class TestFrameSize:
    async def test_a_frame_over_the_limit_closes_the_socket_with_1009_and_stores_nothing(
        self, context: ServiceContext, operator_id: int, small_frames: LiveServer
    ) -> None:
        await create_station(context, operator_id=operator_id)
        before = await row_counts(context)
        connection = await connect(small_frames, "CP-1")
        frame = orjson.dumps([2, "big", "DataTransfer", {"vendorId": "v", "data": "x" * 5_000}])

        await connection.send(frame.decode())
        with pytest.raises(ConnectionClosedError) as closed:
            await asyncio.wait_for(connection.recv(), timeout=10)

        assert len(frame) > FRAME_LIMIT
        assert closed.value.rcvd is not None
        assert closed.value.rcvd.code == 1009
        assert await row_counts(context) == before

    async def test_a_frame_within_the_limit_is_answered(
        self, context: ServiceContext, operator_id: int, small_frames: LiveServer
    ) -> None:
        await create_station(context, operator_id=operator_id)
        connection = await connect(small_frames, "CP-1")
        frame = orjson.dumps([2, "fits", "DataTransfer", {"vendorId": "v", "data": "x" * 3_900}])

        answer = await raw_call(connection, frame.decode())

        assert len(frame) <= FRAME_LIMIT
        assert answer == [3, "fits", {"status": "UnknownVendorId"}]
        await connection.close()


def frame(message_id: str, action: str, fields: dict[str, str]) -> str:
    """A CALL with its fields as JSON text, so values no parser keeps reach the server."""
    body = ",".join(f'"{name}":{value}' for name, value in fields.items())
    return f'[2,"{message_id}","{action}",{{{body}}}]'


START = {
    "connectorId": "2",
    "idTag": '"04A1B2C3D4"',
    "meterStart": "0",
    "timestamp": '"2026-03-02T09:00:00Z"',
}


def stop(transaction_id: int, **fields: str) -> dict[str, str]:
    return {
        "transactionId": str(transaction_id),
        "meterStop": "1500",
        "timestamp": '"2026-03-02T09:30:00Z"',
        **fields,
    }


# Each case: the frame (given the id of the session running on connector 1), the code, the field.
BAD_VALUES: dict[str, tuple[Callable[[int], str], str, str]] = {
    "nul-in-start": (
        lambda _: frame("n1", "StartTransaction", {**START, "idTag": '"04A1\\u0000"'}),
        "PropertyConstraintViolation",
        "idTag",
    ),
    "nul-in-authorize": (
        lambda _: frame("n2", "Authorize", {"idTag": '"\\u0000"'}),
        "PropertyConstraintViolation",
        "idTag",
    ),
    "connector-beyond-int32": (
        lambda _: frame("i1", "StartTransaction", {**START, "connectorId": str(2**31)}),
        "TypeConstraintViolation",
        "connectorId",
    ),
    "transaction-beyond-int32": (
        lambda tx: frame("i2", "StopTransaction", stop(tx, transactionId=str(2**31 + tx))),
        "TypeConstraintViolation",
        "transactionId",
    ),
    "register-int64-plus-1": (
        lambda tx: frame("i3", "StopTransaction", stop(tx, meterStop=str(2**63))),
        "TypeConstraintViolation",
        "meterStop",
    ),
    "register-1e400": (
        lambda tx: frame("i4", "StopTransaction", stop(tx, meterStop="1e400")),
        "TypeConstraintViolation",
        "meterStop",
    ),
    "deep-transaction-data": (
        lambda tx: frame("d1", "StopTransaction", stop(tx, transactionData="[" * 200 + "]" * 200)),
        "FormationViolation",
        "transactionData",
    ),
}


class TestValuesNoDatabaseHolds:
    @pytest.mark.parametrize("case", sorted(BAD_VALUES))
    async def test_each_gets_its_callerror_stores_nothing_and_the_connection_stays_up(
        self, context: ServiceContext, operator_id: int, live_server: LiveServer, case: str
    ) -> None:
        tariff = await create_tariff(context, operator_id=operator_id)
        await create_station(context, operator_id=operator_id, tariff_id=tariff)
        await create_token(context, operator_id=operator_id)
        connection = await connect(live_server, "CP-1")
        started = await raw_call(
            connection, frame("ok", "StartTransaction", {**START, "connectorId": "1"})
        )
        build, code, field = BAD_VALUES[case]
        bad = build(started[2]["transactionId"])
        before, station_before = await row_counts(context), await station_row(context)

        answer = await raw_call(connection, bad)

        assert answer[0] == 4
        assert answer[1] == bad.split('"')[1]
        assert answer[2] == code
        assert answer[4]["field"].startswith(field)
        assert await row_counts(context) == before
        assert await station_row(context) == station_before
        assert (await raw_call(connection, '[2,"after","Heartbeat",{}]'))[:2] == [3, "after"]
        await connection.close()

    async def test_a_binary_frame_that_is_not_utf8_gets_a_formation_violation(
        self, context: ServiceContext, operator_id: int, live_server: LiveServer
    ) -> None:
        await create_station(context, operator_id=operator_id)
        connection = await connect(live_server, "CP-1")

        answer = await raw_call(connection, b'[2,"b1","Authorize",{"idTag":"\xff\xfe"}]')

        assert answer[:3] == [4, "-1", "FormationViolation"]
        assert (await raw_call(connection, b'[2,"b2","Heartbeat",{}]'))[:2] == [3, "b2"]
        await connection.close()
