"""The MeterValues database path alone: N stations' messages through group commit, no
WebSockets. Reports messages/s, the server's CPU per message and statements per message
(an executemany counts once), so the cost of the SQL can be seen apart from the protocol.

    .venv/bin/python -m bench.ocpp_load.db_path --database-url postgresql+asyncpg://postgres@127.0.0.1:5432/evbilling_bench
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession

from bench.ocpp_load.database import backend, fresh_database, id_tag, seed
from bench.ocpp_load.stations import meter_values
from evbilling.charging import meter_service
from evbilling.charging import service as charging
from evbilling.charging.station_events import StationRef
from evbilling.infra.context import ServiceContext
from evbilling.infra.db.engine import create_engine, create_session_factory
from evbilling.infra.db.group_commit import GroupCommit
from evbilling.kit import SystemClock
from evbilling.ocpp.v16.handlers import _meter_values

T0 = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)


async def measure(
    url: str, *, stations: int, rounds: int, concurrency: int | None
) -> dict[str, Any]:
    engine = create_engine(url=url)
    statements = 0

    def count(*_: Any) -> None:
        nonlocal statements
        statements += 1

    event.listen(engine.sync_engine, "before_cursor_execute", count)
    context = ServiceContext(session_factory=create_session_factory(engine), clock=SystemClock())
    # (Passed only when given, so the script also measures versions without the setting.)
    options: dict[str, Any] = {"concurrency": concurrency} if concurrency is not None else {}
    writer = GroupCommit(context=context, **options)
    refs = [
        StationRef(id=i, operator_id=1, identity=f"BENCH-{i:05d}") for i in range(1, stations + 1)
    ]

    async def start(station: StationRef) -> int:
        async def work(db: AsyncSession, now: datetime) -> charging.StartResult:
            return await charging.start_transaction(
                db=db, station=station, connector_id=1, id_tag=id_tag(station.id),
                meter_start_wh=0, timestamp=T0, reservation_id=None, now=now,
            )  # fmt: skip

        return (await writer.run(work)).transaction_id

    async def send(station: StationRef, transaction_id: int, steps: range) -> None:
        for step in steps:
            values = _meter_values(meter_values(transaction_id, step, step * 50)["meterValue"])

            async def work(db: AsyncSession, now: datetime, values: list[Any] = values) -> None:
                await meter_service.record_meter_values(
                    db=db, station=station, connector_id=1, transaction_id=transaction_id,
                    meter_values=values, now=now,
                )  # fmt: skip

            await writer.run(work)

    transactions = await asyncio.gather(*(start(s) for s in refs))
    warm_up = (send(s, t, range(1, 3)) for s, t in zip(refs, transactions, strict=True))
    await asyncio.gather(*warm_up)
    statements = 0
    wall, cpu = time.perf_counter(), time.process_time()
    await asyncio.gather(
        *(send(s, t, range(3, 3 + rounds)) for s, t in zip(refs, transactions, strict=True))
    )
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    await engine.dispose()
    messages = stations * rounds
    return {
        "benchmark": "meter_values_db_path",
        "database": backend(url),
        "stations": stations,
        "group_commit_concurrency": getattr(writer, "concurrency", 1),
        "messages_per_second": round(messages / wall),
        "cpu_us_per_message": round(cpu / messages * 1e6),
        "cpu_share_of_wall": round(cpu / wall, 2),
        "statements_per_message": round(statements / messages, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--database-url", default="sqlite")
    parser.add_argument("--stations", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=15, help="messages per station")
    parser.add_argument("--concurrency", type=int, default=None, help="default: the database's")
    args = parser.parse_args()
    with fresh_database(args.database_url) as url:
        asyncio.run(seed(url, args.stations))
        result = asyncio.run(
            measure(url, stations=args.stations, rounds=args.rounds, concurrency=args.concurrency)
        )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
