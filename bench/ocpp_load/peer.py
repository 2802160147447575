"""The peer: the `ocpp` library's own central system, with no database.

A minimal `ocpp.v16.ChargePoint` per connection on `websockets.serve`, both with their
defaults (the library validates every CALL and CALLRESULT against its JSON schemas), that
answers the messages the benchmark's stations send. It is what evbilling is compared with:
the same load against a server that does the protocol work and nothing else.

    .venv/bin/python -m bench.ocpp_load.peer --port 9000

`GET /healthz` answers `{"connected_stations": n}` (booted stations) like evbilling's.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from ocpp.routing import on as ocpp_on
from ocpp.v16 import ChargePoint, call_result
from ocpp.v16.enums import Action
from websockets.asyncio.server import ServerConnection, serve
from websockets.http11 import Request, Response
from websockets.typing import Subprotocol

_TRANSACTION_IDS = itertools.count(1)
_BOOTED: set[str] = set()

Handler = Callable[..., Any]


def on(action: str) -> Callable[[Handler], Handler]:
    """The library's @on, typed."""
    decorator: Callable[[Handler], Handler] = ocpp_on(action)
    return decorator


def _now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


class PeerChargePoint(ChargePoint):  # type: ignore[misc]
    @on(Action.boot_notification)
    def on_boot(self, **_: Any) -> Any:
        _BOOTED.add(self.id)
        return call_result.BootNotification(current_time=_now(), interval=300, status="Accepted")

    @on(Action.heartbeat)
    def on_heartbeat(self) -> Any:
        return call_result.Heartbeat(current_time=_now())

    @on(Action.status_notification)
    def on_status(self, **_: Any) -> Any:
        return call_result.StatusNotification()

    @on(Action.start_transaction)
    def on_start(self, **_: Any) -> Any:
        return call_result.StartTransaction(
            transaction_id=next(_TRANSACTION_IDS), id_tag_info={"status": "Accepted"}
        )

    @on(Action.meter_values)
    def on_meter_values(self, **_: Any) -> Any:
        return call_result.MeterValues()

    @on(Action.stop_transaction)
    def on_stop(self, **_: Any) -> Any:
        return call_result.StopTransaction()


async def _station(connection: ServerConnection) -> None:
    path = connection.request.path if connection.request is not None else "/"
    station = PeerChargePoint(path.rstrip("/").rsplit("/", 1)[-1], connection)
    try:
        await station.start()
    except Exception:  # the station went away
        pass
    finally:
        _BOOTED.discard(station.id)


def _health(connection: ServerConnection, request: Request) -> Response | None:
    if request.path != "/healthz":
        return None
    return connection.respond(200, json.dumps({"connected_stations": len(_BOOTED)}))


async def main(port: int) -> None:
    async with serve(
        _station,
        "127.0.0.1",
        port,
        subprotocols=[Subprotocol("ocpp1.6")],
        process_request=_health,
    ) as server:
        await server.serve_forever()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="the ocpp library's server, no database")
    parser.add_argument("--port", type=int, required=True)
    try:
        asyncio.run(main(parser.parse_args().port))
    except KeyboardInterrupt:  # SIGINT is how the benchmark stops it
        pass
