"""A message that fails on its own is kept as a dead letter with its frame, the station still
gets a proper answer, the connection stays up, and the messages batched with it commit
(real server, real WebSockets; the failure is a trigger in the real database)."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine
from websockets.asyncio.client import ClientConnection

from evbilling.infra.context import ServiceContext
from evbilling.models import ChargingSession, ConnectorStatusEvent, MeterValueRecord, OcppDeadLetter
from tests.factories import create_station
from tests.faults import poisoned
from tests.functional.charger import charger, raw_call, ts
from tests.functional.conftest import LiveServer, connect
from tests.functional.test_ocpp_charging import setup_site


async def dead_letters(context: ServiceContext) -> list[OcppDeadLetter]:
    async with context.unit_of_work() as db:
        return list(
            (await db.execute(select(OcppDeadLetter).order_by(OcppDeadLetter.id))).scalars()
        )


async def call_raw(connection: ClientConnection, frame: list[Any]) -> list[Any]:
    return await raw_call(connection, orjson.dumps(frame))


def status(message_id: str, info: str, connector_id: int = 1) -> list[Any]:
    payload = {"connectorId": connector_id, "errorCode": "NoError", "status": "Available",
               "info": info, "timestamp": ts(1)}  # fmt: skip
    return [2, message_id, "StatusNotification", payload]


class TestDeadLetters:
    async def test_a_failing_status_notification_gets_internal_error_and_is_kept(
        self, context: ServiceContext, engine: AsyncEngine, operator_id: int,
        live_server: LiveServer,
    ) -> None:  # fmt: skip
        await setup_site(context, operator_id)
        connection = await connect(live_server, "CP-1")
        async with poisoned(engine, table="connector_status_events", when="NEW.info = 'poison'"):
            answer = await call_raw(connection, status("st-1", "poison"))
            after = await call_raw(connection, status("st-2", "fine"))
        await connection.close()

        kept = await dead_letters(context)
        assert [(d.station_identity, d.action, d.message_id) for d in kept] == [
            ("CP-1", "StatusNotification", "st-1")
        ]
        assert answer == [
            4, "st-1", "InternalError",
            f"the message could not be processed; kept as dead letter {kept[0].id}", {},
        ]  # fmt: skip
        assert after == [3, "st-2", {}]  # the connection stays up
        assert orjson.loads(kept[0].frame) == status("st-1", "poison")
        assert kept[0].frame_length == len(kept[0].frame)
        assert "poisoned row" in kept[0].error_message
        assert kept[0].received_at == context.clock.now()
        async with context.unit_of_work() as db:
            infos = list((await db.execute(select(ConnectorStatusEvent.info))).scalars())
        assert infos == ["fine"]  # the failed message changed nothing

    async def test_a_failing_stop_is_acknowledged_once_kept_so_the_station_stops_resending(
        self, context: ServiceContext, engine: AsyncEngine, operator_id: int,
        live_server: LiveServer,
    ) -> None:  # fmt: skip
        await setup_site(context, operator_id)
        async with charger(live_server) as station:
            started = await station.start_tx(meter_start=1000, minutes=0)
        connection = await connect(live_server, "CP-1")
        frame = [2, "stop-1", "StopTransaction", {"transactionId": started.transaction_id,
                 "meterStop": 424_242, "timestamp": ts(30), "idTag": "04A1B2C3D4"}]  # fmt: skip
        async with poisoned(
            engine, table="charging_sessions", event="UPDATE", when="NEW.meter_stop_wh = 424242"
        ):
            answer = await call_raw(connection, frame)
        heartbeat = await call_raw(connection, [2, "hb", "Heartbeat", {}])
        await connection.close()

        assert answer == [3, "stop-1", {}]
        assert heartbeat[0] == 3
        kept = await dead_letters(context)
        assert [(d.action, d.message_id) for d in kept] == [("StopTransaction", "stop-1")]
        assert orjson.loads(kept[0].frame) == frame
        async with context.unit_of_work() as db:
            row = await db.get(ChargingSession, started.transaction_id)
        assert row is not None
        assert (row.status, row.stopped_at) == ("active", None)  # nothing half-done

    async def test_one_poison_message_among_many_stations_fails_alone(
        self, context: ServiceContext, engine: AsyncEngine, operator_id: int,
        live_server: LiveServer,
    ) -> None:  # fmt: skip
        await setup_site(context, operator_id)
        identities = [f"CP-{n}" for n in range(2, 10)]
        for identity in identities:
            await create_station(context, operator_id=operator_id, identity=identity)
        connections = [await connect(live_server, identity) for identity in identities]
        frames = [
            [2, f"mv-{n}", "MeterValues", {"connectorId": 2 if n == 5 else 1, "meterValue": [
                {"timestamp": ts(1), "sampledValue": [{"value": str(n)}]}]}]
            for n in range(len(connections))
        ]  # fmt: skip
        async with poisoned(engine, table="meter_values", when="NEW.connector_id = 2"):
            answers = await asyncio.gather(
                *(call_raw(c, f) for c, f in zip(connections, frames, strict=True))
            )
        for connection in connections:
            await connection.close()

        # MeterValues is acknowledged once kept, like StopTransaction (its queue moves on).
        assert answers == [[3, f"mv-{n}", {}] for n in range(len(connections))]
        kept = await dead_letters(context)
        assert [(d.station_identity, d.message_id) for d in kept] == [("CP-7", "mv-5")]
        async with context.unit_of_work() as db:
            stored = await db.scalar(select(func.count()).select_from(MeterValueRecord))
        assert stored == len(connections) - 1

    async def test_when_the_dead_letter_cannot_be_written_either_the_station_retries(
        self, context: ServiceContext, engine: AsyncEngine, operator_id: int,
        live_server: LiveServer,
    ) -> None:  # fmt: skip
        await setup_site(context, operator_id)
        async with charger(live_server) as station:
            started = await station.start_tx(meter_start=1000, minutes=0)
        connection = await connect(live_server, "CP-1")
        frame = [2, "stop-2", "StopTransaction", {"transactionId": started.transaction_id,
                 "meterStop": 424_242, "timestamp": ts(30)}]  # fmt: skip
        async with (
            poisoned(
                engine,
                table="charging_sessions",
                event="UPDATE",
                when="NEW.meter_stop_wh = 424242",
            ),
            poisoned(engine, table="ocpp_dead_letters", when="NEW.frame_length > 0"),
        ):
            answer = await call_raw(connection, frame)
        again = await call_raw(connection, frame)  # the station resends: now it goes through
        await connection.close()

        assert answer == [
            4, "stop-2", "InternalError", "the message could not be processed; try again later",
            {},
        ]  # fmt: skip
        assert again == [3, "stop-2", {}]
        assert await dead_letters(context) == []
        async with context.unit_of_work() as db:
            row = await db.get(ChargingSession, started.transaction_id)
        assert row is not None
        assert (row.status, row.meter_stop_wh) == ("completed", 424_242)
