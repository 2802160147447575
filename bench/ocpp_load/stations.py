"""Simulated stations, run from client processes of their own over real WebSockets.

Each station connects (HTTP Basic auth, as OCPP security profile 1), boots and, unless it
only idles, reports its connector, starts a transaction and sends MeterValues (9 sampled
values) with a Heartbeat every tenth message until the measured window ends, then stops the
transaction. Open loop: each station sends on a schedule (or as soon as its previous CALL is
answered, when it is late). Closed loop: each sends its next CALL as soon as the previous one
is answered. The window opens for every station at once, when the main process has seen
all of them ready; only CALLRESULTs received inside it are counted.
"""

from __future__ import annotations

import asyncio
import base64
import multiprocessing
import random
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import orjson
import websockets
from websockets.typing import Subprotocol

from bench.ocpp_load.database import PASSWORD, id_tag, identity
from bench.ocpp_load.servers import raise_open_files_limit

T0 = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
Mode = Literal["open", "closed", "idle"]


@dataclass(slots=True)
class Plan:
    """What one client process does."""

    port: int
    indices: list[int]
    mode: Mode
    seconds: float  # the measured window's length
    per_station_rate: float = 1.0  # open loop: messages per second per station
    # Added to every OCPP timestamp: each round's transactions are new ones, not replays.
    clock_offset_s: float = 0.0


@dataclass(slots=True)
class Tally:
    latencies: list[float]
    messages: int = 0
    errors: int = 0  # answers that were not a CALLRESULT
    ready: int = 0  # booted (idle) or with a started transaction (load)


def ts(seconds: float) -> str:
    return (T0 + timedelta(seconds=seconds)).isoformat().replace("+00:00", "Z")


def meter_values(
    transaction_id: int, step: int, register_wh: int, offset_s: float = 0.0
) -> dict[str, Any]:
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
        "meterValue": [{"timestamp": ts(offset_s + 60 + step * 10), "sampledValue": sampled}],
    }


async def _station(
    plan: Plan, index: int, tally: Tally, gate: asyncio.Semaphore, window: Window
) -> None:
    name = identity(index)
    auth = base64.b64encode(f"{name}:{PASSWORD}".encode()).decode()
    async with gate:  # do not open thousands of TCP handshakes at once
        ws = await websockets.connect(
            f"ws://127.0.0.1:{plan.port}/ocpp/{name}",
            subprotocols=[Subprotocol("ocpp1.6")],
            additional_headers={"Authorization": f"Basic {auth}"},
            open_timeout=600,
            ping_interval=None,
            max_queue=4,
            compression=None,  # chargers rarely negotiate it; both servers run without it
        )
    async with ws:
        sequence = 0
        offset = plan.clock_offset_s

        async def call(action: str, payload: dict[str, Any]) -> tuple[Any, float]:
            nonlocal sequence
            sequence += 1
            started = time.perf_counter()
            await ws.send(orjson.dumps([2, str(sequence), action, payload]).decode())
            answer = orjson.loads(await ws.recv())
            if answer[0] != 3:
                tally.errors += 1
            return answer, (time.perf_counter() - started) * 1000

        await call("BootNotification", {"chargePointVendor": "Bench", "chargePointModel": "B1"})
        if plan.mode == "idle":
            tally.ready += 1
            await asyncio.Future()  # stay connected until the process is ended
        status = {"connectorId": 1, "errorCode": "NoError", "status": "Charging"}
        await call("StatusNotification", {**status, "timestamp": ts(offset)})
        answer, _ = await call(
            "StartTransaction",
            {
                "connectorId": 1,
                "idTag": id_tag(index),
                "meterStart": 0,
                "timestamp": ts(offset + 1),
            },
        )
        transaction_id = answer[2]["transactionId"]
        tally.ready += 1
        load_at = await window.opened()
        rng = random.Random(index)
        interval = 1 / plan.per_station_rate
        # Open loop: spread the stations' first messages over one interval.
        next_at = load_at + (rng.random() * interval if plan.mode == "open" else 0.0)
        end_at = load_at + plan.seconds
        step = register = 0
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
                payload = meter_values(transaction_id, step, register, offset)
                _, elapsed = await call("MeterValues", payload)
            if time.time() <= end_at:
                tally.latencies.append(elapsed)
                tally.messages += 1
            if plan.mode == "open":
                next_at += interval
        await call("StopTransaction", {"transactionId": transaction_id, "meterStop": register,
                                       "timestamp": ts(offset + 60 + step * 10 + 5)})  # fmt: skip


@dataclass(slots=True)
class Window:
    """The measured window, opened by the main process through a shared value."""

    load_at: Any  # multiprocessing Value("d"): 0 until set
    _opened: asyncio.Event

    async def opened(self) -> float:
        await self._opened.wait()
        at: float = self.load_at.value
        return at

    async def watch(self) -> None:
        # Another process sets the value: poll it, then wake this process's stations at once.
        while self.load_at.value == 0:  # noqa: ASYNC110
            await asyncio.sleep(0.05)
        self._opened.set()


async def _client_main(plan: Plan, ready: Any, load_at: Any) -> dict[str, Any]:
    tally = Tally(latencies=[])
    gate = asyncio.Semaphore(64)
    window = Window(load_at=load_at, _opened=asyncio.Event())

    async def report() -> None:
        while True:
            ready.value = tally.ready
            await asyncio.sleep(0.25)

    reporter = asyncio.create_task(report())
    watcher = asyncio.create_task(window.watch())
    results = await asyncio.gather(
        *(_station(plan, i, tally, gate, window) for i in plan.indices), return_exceptions=True
    )
    reporter.cancel()
    watcher.cancel()
    failures = [repr(r) for r in results if isinstance(r, BaseException)]
    return {
        "latencies": tally.latencies,
        "messages": tally.messages,
        "errors": tally.errors,
        "ready": tally.ready,
        "failed": len(failures),
        "failures": failures[:3],
    }


def _client(plan: Plan, ready: Any, load_at: Any, results: Any) -> None:
    raise_open_files_limit()
    results.put(asyncio.run(_client_main(plan, ready, load_at)))


@dataclass(slots=True)
class Clients:
    """Client processes running their plans."""

    processes: list[Any]
    counters: list[Any]
    load_at: Any
    results: Any

    @classmethod
    def start(cls, plans: list[Plan]) -> Clients:
        context = multiprocessing.get_context("spawn")
        results = context.Queue()
        load_at = context.Value("d", 0.0, lock=False)
        counters = [context.Value("i", 0, lock=False) for _ in plans]
        processes = [
            context.Process(target=_client, args=(plan, counter, load_at, results), daemon=True)
            for plan, counter in zip(plans, counters, strict=True)
        ]
        for process in processes:
            process.start()
        return cls(processes=processes, counters=counters, load_at=load_at, results=results)

    def ready(self) -> int:
        """Stations booted (idle) or with their transaction started (load)."""
        return sum(counter.value for counter in self.counters)

    def failed(self) -> bool:
        return any(p.exitcode not in (None, 0) for p in self.processes)

    def open_window(self, *, delay_s: float = 1.0) -> float:
        """Open the measured window `delay_s` from now, for every station at once."""
        at = time.time() + delay_s
        self.load_at.value = at
        return at

    def wait(self) -> list[dict[str, Any]]:
        collected = [self.results.get() for _ in self.processes]
        for process in self.processes:
            process.join()
        return collected

    def end(self) -> None:
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            process.join()


def plans(
    *, port: int, stations: int, clients: int, mode: Mode, seconds: float,
    per_station_rate: float = 1.0, clock_offset_s: float = 0.0,
) -> list[Plan]:  # fmt: skip
    indices = list(range(1, stations + 1))
    return [
        Plan(port=port, indices=indices[i::clients], mode=mode, seconds=seconds,
             per_station_rate=per_station_rate, clock_offset_s=clock_offset_s)
        for i in range(clients)
    ]  # fmt: skip
