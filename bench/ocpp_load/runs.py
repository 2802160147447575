"""The benchmark's runs, each reporting its figures as a dict."""

from __future__ import annotations

import asyncio
import statistics
import time
from typing import Any

from bench.ocpp_load.database import backend, fresh_database, seed
from bench.ocpp_load.servers import Server, start_evbilling, start_library
from bench.ocpp_load.stations import Clients, Mode, plans

DAY_S = 86_400.0


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def _wait_ready(clients: Clients, *, stations: int, timeout_s: float) -> int:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and not clients.failed():
        if clients.ready() >= stations:
            break
        time.sleep(0.25)
    return clients.ready()


def load(
    server: Server, *, stations: int, clients: int, mode: Mode, seconds: float,
    rate: float = 0.0, connect_timeout_s: float, round_index: int = 0,
) -> dict[str, Any]:  # fmt: skip
    """One measured window of `seconds` against `server`; its throughput and latencies."""
    rss_before = server.rss_mib()
    running = Clients.start(
        plans(
            port=server.port, stations=stations, clients=clients, mode=mode, seconds=seconds,
            per_station_rate=rate / stations if rate else 1.0,
            clock_offset_s=round_index * DAY_S,
        )
    )  # fmt: skip
    ready = _wait_ready(running, stations=stations, timeout_s=connect_timeout_s)
    running.open_window()
    time.sleep(1.0 + seconds / 2)
    rss_under_load = server.rss_mib()
    results = running.wait()
    latencies = [ms for r in results for ms in r["latencies"]]
    messages = sum(r["messages"] for r in results)
    return {
        "server": server.name,
        "ready_stations": ready,
        "messages": messages,
        "messages_per_second": round(messages / seconds, 1),
        "p50_ms": round(percentile(latencies, 0.50), 1) if latencies else None,
        "p99_ms": round(percentile(latencies, 0.99), 1) if latencies else None,
        "max_ms": round(max(latencies), 1) if latencies else None,
        "mean_ms": round(statistics.fmean(latencies), 1) if latencies else None,
        "errors": sum(r["errors"] for r in results),
        "failed_stations": sum(r["failed"] for r in results),
        "failures": [f for r in results for f in r["failures"]][:3],
        "server_rss_before_mib": round(rss_before, 1),
        "server_rss_under_load_mib": round(rss_under_load, 1),
    }


def open_loop_run(
    *, database_url: str, stations: int, rate: float, seconds: float, clients: int,
    connect_timeout_s: float, profile_to: str | None = None,
) -> dict[str, Any]:  # fmt: skip
    """evbilling alone at a fixed offered rate (open loop)."""
    with fresh_database(database_url) as url:
        asyncio.run(seed(url, stations))
        server = start_evbilling(url, profile_to=profile_to)
        try:
            figures = load(
                server, stations=stations, clients=clients, mode="open", seconds=seconds,
                rate=rate, connect_timeout_s=connect_timeout_s,
            )  # fmt: skip
        finally:
            server.stop()
    return {
        "benchmark": "ocpp_throughput_open_loop",
        "database": backend(url),
        "stations": stations,
        "offered_rate_per_second": rate,
        "measured_seconds": seconds,
        **figures,
    }


def closed_loop_run(
    *, database_url: str, stations: int, seconds: float, clients: int, rounds: int,
    connect_timeout_s: float, profile_to: str | None = None,
) -> dict[str, Any]:  # fmt: skip
    """evbilling and the library's server under the same closed-loop load, round by round
    (evbilling, library, evbilling, ...): the ratio of each pair, and their spread."""
    with fresh_database(database_url) as url:
        asyncio.run(seed(url, stations))
        evbilling = start_evbilling(url, profile_to=profile_to)
        library = start_library()
        measured: list[tuple[dict[str, Any], dict[str, Any]]] = []
        try:
            for index in range(rounds):
                pair = tuple(
                    load(
                        server, stations=stations, clients=clients, mode="closed",
                        seconds=seconds, connect_timeout_s=connect_timeout_s,
                        round_index=index,
                    )
                    for server in (evbilling, library)
                )  # fmt: skip
                measured.append((pair[0], pair[1]))
        finally:
            evbilling.stop()
            library.stop()
    ratios = [
        round(ours["messages_per_second"] / max(theirs["messages_per_second"], 0.1), 2)
        for ours, theirs in measured
    ]
    ours = [pair[0]["messages_per_second"] for pair in measured]
    theirs = [pair[1]["messages_per_second"] for pair in measured]
    return {
        "benchmark": "ocpp_throughput_closed_loop",
        "database": backend(url),
        "stations": stations,
        "measured_seconds": seconds,
        "rounds": rounds,
        "evbilling_messages_per_second": statistics.median(ours),
        "library_messages_per_second": statistics.median(theirs),
        "ratio": statistics.median(ratios),
        "ratios": ratios,
        "evbilling": [pair[0] for pair in measured],
        "library": [pair[1] for pair in measured],
    }


def _idle(
    server: Server, *, stations: int, clients: int, connect_timeout_s: float
) -> dict[str, Any]:
    time.sleep(2)
    before = server.rss_mib()
    started = time.monotonic()
    running = Clients.start(
        plans(port=server.port, stations=stations, clients=clients, mode="idle", seconds=0)
    )
    try:
        _wait_ready(running, stations=stations, timeout_s=connect_timeout_s)
        connect_s = time.monotonic() - started
        time.sleep(5)  # let the last answers go out and the server settle
        connected = server.connected()
        after = server.rss_mib()
    finally:
        running.end()
    return {
        "server": server.name,
        "connected": connected,
        "connect_seconds": round(connect_s, 1),
        "server_rss_before_mib": round(before, 1),
        "server_rss_after_mib": round(after, 1),
        "kib_per_idle_connection": round((after - before) * 1024 / max(connected, 1), 1),
    }


def idle_run(
    *, database_url: str, stations: int, clients: int, connect_timeout_s: float
) -> dict[str, Any]:
    """Server memory with `stations` connected, booted, idle stations: evbilling, then the
    library's server as the reference."""
    with fresh_database(database_url) as url:
        asyncio.run(seed(url, stations))
        figures = []
        for name in ("evbilling", "library"):
            server = start_evbilling(url) if name == "evbilling" else start_library()
            try:
                figures.append(
                    _idle(server, stations=stations, clients=clients,
                          connect_timeout_s=connect_timeout_s)
                )  # fmt: skip
            finally:
                server.stop()
    return {
        "benchmark": "ocpp_idle_memory",
        "database": backend(url),
        "idle_stations": stations,
        "evbilling": figures[0],
        "library": figures[1],
    }
