"""OCPP 1.6J throughput against a running evbilling server on SQLite.

Starts `evbilling serve` on a fresh SQLite database with N registered stations, connects N
simulated stations from separate client processes (real WebSockets, HTTP Basic auth), boots
each, starts a transaction, then sends MeterValues (9 sampled values) with an occasional
Heartbeat at a fixed total offered rate. Every answer is a CALLRESULT the server sent only
after committing the message. Prints one JSON object.

    .venv/bin/python bench/ocpp_throughput.py --stations 1000 --rate 2000 --seconds 30
    .venv/bin/python bench/ocpp_throughput.py --idle-stations 5000   # memory per connection
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import multiprocessing
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
import websockets
from sqlalchemy import insert

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from evbilling.infra.db.engine import create_engine, create_session_factory  # noqa: E402
from evbilling.infra.db.migrate import upgrade  # noqa: E402
from evbilling.infra.secrets import hash_secret  # noqa: E402
from evbilling.models import Evse, Location, Operator, Station, Token  # noqa: E402
from evbilling.tariffs import service as tariffs  # noqa: E402

PASSWORD = "bench-password-0123456789"
T0 = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def identity(index: int) -> str:
    return f"BENCH-{index:05d}"


async def seed(url: str, stations: int) -> None:
    """Register the stations (one shared argon2 hash: hashing is not what is measured)."""
    engine = create_engine(url=url)
    password_hash = hash_secret(PASSWORD)
    now = datetime.now(UTC)
    async with engine.begin() as db:
        await db.execute(insert(Operator).values(id=1, name="Bench", created_at=now))
        await db.execute(
            insert(Location).values(
                id=1, operator_id=1, name="Bench", time_zone="Europe/Berlin", created_at=now,
                updated_at=now,
            )
        )  # fmt: skip
        rows = range(1, stations + 1)
        await db.execute(insert(Station), [
            {"id": i, "operator_id": 1, "location_id": 1, "identity": identity(i),
             "password_hash": password_hash, "created_at": now, "updated_at": now}
            for i in rows
        ])  # fmt: skip
        await db.execute(insert(Evse), [
            {"station_id": i, "connector_id": 1, "max_power_w": 22_000, "created_at": now,
             "updated_at": now}
            for i in rows
        ])  # fmt: skip
        await db.execute(insert(Token), [
            {"operator_id": 1, "uid": f"TAG{i:05d}", "type": "rfid", "status": "active",
             "created_at": now, "updated_at": now}
            for i in rows
        ])  # fmt: skip
    async with create_session_factory(engine)() as session:
        await tariffs.create_tariff(
            db=session,
            operator_id=1,
            name="Bench",
            ocpi=tariffs.simple_tariff_ocpi(
                currency="EUR",
                energy_price_per_kwh=Decimal("0.39"),
                session_fee=Decimal("0.50"),
                vat_percent=Decimal("19"),
            ),
            now=now,
            is_default=True,
        )
        await session.commit()
    await engine.dispose()


def start_server(url: str, port: int) -> subprocess.Popen[bytes]:
    env = dict(os.environ, EVBILLING_DATABASE_URL=url, EVBILLING_LOG_LEVEL="WARNING")
    # Every simulated station connects from 127.0.0.1: lift the per-address connection cap.
    env["EVBILLING_MAX_CONNECTIONS_PER_ADDRESS"] = str(1_000_000)
    process = subprocess.Popen(
        [sys.executable, "-m", "evbilling", "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        cwd=ROOT,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1):
                return process
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError("server did not start")


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def connected(port: int) -> int:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as response:
        count: int = json.load(response)["connected_stations"]
        return count


def ts(seconds: float) -> str:
    return (T0 + timedelta(seconds=seconds)).isoformat().replace("+00:00", "Z")


@dataclass(slots=True)
class WorkerPlan:
    port: int
    indices: list[int]
    load_at: float  # wall-clock time.time() when the measured load starts
    seconds: float
    per_station_rate: float  # messages per second per station
    idle: bool


def meter_values(transaction_id: int, step: int, register_wh: int) -> dict[str, Any]:
    sampled = [
        {"value": str(register_wh), "measurand": "Energy.Active.Import.Register", "unit": "Wh",
         "context": "Sample.Periodic"},
        {"value": "11040", "measurand": "Power.Active.Import", "unit": "W"},
        {"value": "67", "measurand": "SoC", "unit": "Percent", "location": "EV"},
    ]  # fmt: skip
    for phase in ("L1", "L2", "L3"):
        sampled.append({"value": "16.0", "measurand": "Current.Import", "phase": phase,
                        "unit": "A"})  # fmt: skip
        sampled.append({"value": "230.1", "measurand": "Voltage", "phase": f"{phase}-N",
                        "unit": "V"})  # fmt: skip
    return {
        "connectorId": 1,
        "transactionId": transaction_id,
        "meterValue": [{"timestamp": ts(60 + step * 10), "sampledValue": sampled}],
    }


async def _station(plan: WorkerPlan, index: int, latencies: list[float],
                   counters: dict[str, int], ready: asyncio.Event) -> None:  # fmt: skip
    name = identity(index)
    auth = base64.b64encode(f"{name}:{PASSWORD}".encode()).decode()
    async with websockets.connect(
        f"ws://127.0.0.1:{plan.port}/ocpp/{name}", subprotocols=["ocpp1.6"],  # type: ignore[list-item]
        additional_headers={"Authorization": f"Basic {auth}"}, open_timeout=300,
        ping_interval=None, max_queue=4,
    ) as ws:  # fmt: skip
        sequence = 0

        async def call(action: str, payload: dict[str, Any]) -> tuple[Any, float]:
            nonlocal sequence
            sequence += 1
            started = time.perf_counter()
            await ws.send(orjson.dumps([2, str(sequence), action, payload]).decode())
            answer = orjson.loads(await ws.recv())
            elapsed = (time.perf_counter() - started) * 1000
            if answer[0] != 3:
                counters["errors"] += 1
            return answer, elapsed

        await call("BootNotification", {"chargePointVendor": "Bench", "chargePointModel": "B1"})
        counters["connected"] += 1
        if plan.idle:
            ready.set() if counters["connected"] == len(plan.indices) else None
            await asyncio.sleep(plan.seconds)
            return
        await call("StatusNotification", {"connectorId": 1, "errorCode": "NoError",
                                          "status": "Charging", "timestamp": ts(0)})  # fmt: skip
        answer, _ = await call(
            "StartTransaction",
            {"connectorId": 1, "idTag": f"TAG{index:05d}", "meterStart": 0, "timestamp": ts(1)},
        )
        transaction_id = answer[2]["transactionId"]
        rng = random.Random(index)
        interval = 1 / plan.per_station_rate
        # Spread the stations' first messages over one interval (open-loop arrivals).
        next_at = plan.load_at + rng.random() * interval
        end_at = plan.load_at + plan.seconds
        step = 0
        register = 0
        while True:
            delay = next_at - time.time()
            if delay > 0:
                await asyncio.sleep(delay)
            if time.time() >= end_at:
                break
            step += 1
            if step % 10 == 0:
                _, elapsed = await call("Heartbeat", {})
            else:
                register += 50
                _, elapsed = await call("MeterValues", meter_values(transaction_id, step, register))
            latencies.append(elapsed)
            counters["messages"] += 1
            next_at += interval
        await call("StopTransaction", {"transactionId": transaction_id, "meterStop": register,
                                       "timestamp": ts(60 + step * 10 + 5)})  # fmt: skip


async def _worker_main(plan: WorkerPlan) -> dict[str, Any]:
    latencies: list[float] = []
    counters = {"messages": 0, "errors": 0, "connected": 0}
    ready = asyncio.Event()
    gate = asyncio.Semaphore(64)  # do not open thousands of TCP handshakes at once

    async def one(index: int) -> None:
        async with gate:
            pass
        await _station(plan, index, latencies, counters, ready)

    results = await asyncio.gather(*(one(i) for i in plan.indices), return_exceptions=True)
    failures = [repr(r) for r in results if isinstance(r, BaseException)]
    return {"latencies": latencies, **counters, "failures": failures[:3],
            "failed": len(failures)}  # fmt: skip


def _worker(plan: WorkerPlan, queue: Any) -> None:
    queue.put(asyncio.run(_worker_main(plan)))


def run_clients(plan_for: list[WorkerPlan]) -> list[dict[str, Any]]:
    queue: Any = multiprocessing.get_context("spawn").Queue()
    processes = [multiprocessing.get_context("spawn").Process(target=_worker, args=(plan, queue))
                 for plan in plan_for]  # fmt: skip
    for process in processes:
        process.start()
    results = [queue.get() for _ in processes]
    for process in processes:
        process.join()
    return results


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def load_run(args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{tmp}/bench.sqlite3"
        upgrade(url=url)
        asyncio.run(seed(url, args.stations))
        port = free_port()
        server = start_server(url, port)
        try:
            baseline_rss = rss_mib(server.pid)
            indices = list(range(1, args.stations + 1))
            chunks = [indices[i :: args.clients] for i in range(args.clients)]
            # Give the stations time to connect (argon2 per login) before the load starts.
            load_at = time.time() + args.connect_seconds
            plans = [WorkerPlan(port=port, indices=chunk, load_at=load_at, seconds=args.seconds,
                                per_station_rate=args.rate / args.stations, idle=False)
                     for chunk in chunks]  # fmt: skip
            started = time.time()
            results = run_clients(plans)
            peak_rss = rss_mib(server.pid)
        finally:
            server.terminate()
            server.wait(timeout=30)
    latencies = [ms for r in results for ms in r["latencies"]]
    messages = sum(r["messages"] for r in results)
    return {
        "benchmark": "ocpp_throughput",
        "stations": args.stations,
        "offered_rate_per_second": args.rate,
        "measured_seconds": args.seconds,
        "messages": messages,
        "messages_per_second": round(messages / args.seconds, 1),
        "p50_ms": round(percentile(latencies, 0.50), 2) if latencies else None,
        "p99_ms": round(percentile(latencies, 0.99), 2) if latencies else None,
        "max_ms": round(max(latencies), 2) if latencies else None,
        "mean_ms": round(statistics.fmean(latencies), 2) if latencies else None,
        "call_errors": sum(r["errors"] for r in results),
        "failed_stations": sum(r["failed"] for r in results),
        "failures": [f for r in results for f in r["failures"]][:3],
        "server_rss_mib": round(peak_rss, 1),
        "server_rss_before_mib": round(baseline_rss, 1),
        "wall_seconds": round(time.time() - started, 1),
        "database": "sqlite",
    }


def idle_run(args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{tmp}/bench.sqlite3"
        upgrade(url=url)
        asyncio.run(seed(url, args.idle_stations))
        port = free_port()
        server = start_server(url, port)
        try:
            time.sleep(1)
            before = rss_mib(server.pid)
            indices = list(range(1, args.idle_stations + 1))
            chunks = [indices[i :: args.clients] for i in range(args.clients)]
            hold = args.connect_seconds + 20
            plans = [WorkerPlan(port=port, indices=chunk, load_at=0, seconds=hold,
                                per_station_rate=1, idle=True) for chunk in chunks]  # fmt: skip
            queue: Any = multiprocessing.get_context("spawn").Queue()
            ctx = multiprocessing.get_context("spawn")
            processes = [ctx.Process(target=_worker, args=(p, queue)) for p in plans]
            for process in processes:
                process.start()
            deadline = time.time() + hold
            count = 0
            while time.time() < deadline - 10:
                count = connected(port)
                if count >= args.idle_stations:
                    break
                time.sleep(1)
            time.sleep(3)
            count = connected(port)
            after = rss_mib(server.pid)
            for process in processes:
                process.terminate()
        finally:
            server.terminate()
            server.wait(timeout=30)
    return {
        "benchmark": "ocpp_idle_memory",
        "idle_stations": args.idle_stations,
        "connected": count,
        "server_rss_before_mib": round(before, 1),
        "server_rss_after_mib": round(after, 1),
        "kib_per_idle_connection": round((after - before) * 1024 / max(count, 1), 1),
        "database": "sqlite",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stations", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=2000.0, help="offered messages/s in total")
    parser.add_argument("--seconds", type=float, default=30.0, help="measured load duration")
    parser.add_argument(
        "--connect-seconds",
        type=float,
        default=60.0,
        help="time allowed for all stations to connect before the load",
    )
    parser.add_argument("--clients", type=int, default=2, help="client processes")
    parser.add_argument(
        "--idle-stations",
        type=int,
        default=0,
        help="instead of the load run, measure memory with this many idle stations",
    )
    args = parser.parse_args()
    result = idle_run(args) if args.idle_stations else load_run(args)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
