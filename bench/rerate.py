"""Re-rating stored sessions end to end: database reads + evidence -> periods -> rating.

Seeds an SQLite database with N completed sessions (60 MeterValues readings each, 9 sampled
values per reading, status history, and the rating periods StopTransaction keeps), then runs
the `evbilling rerate` use case with the 4-element time-of-use tariff of bench/rating.py:
once from the kept periods, once from the raw readings (as for sessions rated before periods
were kept). Both must give the same totals. Prints one JSON object.

Run: .venv/bin/python bench/rerate.py [--sessions N]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import insert, update

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.rating import TARIFF_JSON
from evbilling.charging.metering import (
    Reading,
    SessionEvidence,
    StatusChange,
    encode_periods,
    periods_for,
)
from evbilling.charging.rerate import rerate
from evbilling.infra.db.engine import create_engine, create_session_factory
from evbilling.infra.db.migrate import upgrade
from evbilling.models import (
    ChargingSession,
    ConnectorStatusEvent,
    Evse,
    Location,
    MeterValueRecord,
    Operator,
    Station,
)
from evbilling.tariffs.domain import loads_ocpi

READINGS = 60
STATIONS = 50
T0 = datetime(2025, 3, 3, tzinfo=UTC)


def _sampled(register: int) -> list[dict[str, str]]:
    values = [
        {"value": str(register), "measurand": "Energy.Active.Import.Register", "unit": "Wh"},
        {"value": "11040", "measurand": "Power.Active.Import", "unit": "W"},
        {"value": "67", "measurand": "SoC", "unit": "Percent", "location": "EV"},
    ]
    for phase in ("L1", "L2", "L3"):
        values.append({"value": "16.0", "measurand": "Current.Import", "phase": phase})
        values.append({"value": "230.1", "measurand": "Voltage", "phase": f"{phase}-N"})
    return values


async def seed(url: str, sessions: int) -> None:
    engine = create_engine(url=url)
    now = datetime.now(UTC)
    tariff = TARIFF_JSON
    async with engine.begin() as db:
        await db.execute(insert(Operator).values(id=1, name="Bench", created_at=now))
        await db.execute(
            insert(Location).values(
                id=1,
                operator_id=1,
                name="Bench",
                time_zone="Europe/Berlin",
                created_at=now,
                updated_at=now,
            )
        )
        await db.execute(
            insert(Station),
            [
                {
                    "id": s,
                    "operator_id": 1,
                    "location_id": 1,
                    "identity": f"B-{s}",
                    "pricing_display": False,
                    "created_at": now,
                    "updated_at": now,
                }
                for s in range(1, STATIONS + 1)
            ],
        )
        await db.execute(
            insert(Evse),
            [
                {
                    "id": s,
                    "station_id": s,
                    "connector_id": 1,
                    "max_power_w": 22_000,
                    "created_at": now,
                    "updated_at": now,
                }
                for s in range(1, STATIONS + 1)
            ],
        )
        for first in range(0, sessions, 1000):
            rows: list[dict[str, Any]] = []
            readings: list[dict[str, Any]] = []
            statuses: list[dict[str, Any]] = []
            for index in range(first, min(first + 1000, sessions)):
                station = index % STATIONS + 1
                start = T0 + timedelta(minutes=37 * index, seconds=7 * index)
                stop = start + timedelta(minutes=READINGS + 1)
                rows.append(
                    {
                        "id": index + 1,
                        "operator_id": 1,
                        "station_id": station,
                        "evse_id": station,
                        "connector_id": 1,
                        "start_key": f"k{index}",
                        "id_tag": "TAG",
                        "authorization_status": "Accepted",
                        "status": "completed",
                        "billable": True,
                        "started_at": start,
                        "stopped_at": stop,
                        "meter_start_wh": 0,
                        "meter_stop_wh": 50 * 180,
                        "energy_wh": 50 * 180,
                        "tariff_id": None,
                        "tariff_version": 1,
                        "tariff_ocpi": tariff,
                        "time_zone": "Europe/Berlin",
                        "currency": "EUR",
                        "cost_excl_vat": Decimal("5.00"),
                        "cost_incl_vat": Decimal("5.95"),
                        "created_at": now,
                        "updated_at": now,
                    }
                )
                for minute in range(1, READINGS + 1):
                    register = 180 * min(minute, 50)  # the last 10 minutes without energy
                    readings.append(
                        {
                            "station_id": station,
                            "connector_id": 1,
                            "session_id": index + 1,
                            "value_key": f"{index}-{minute}",
                            "timestamp": start + timedelta(minutes=minute),
                            "sampled_values": _sampled(register),
                            "received_at": now,
                        }
                    )
                evidence = SessionEvidence(
                    started_at=start,
                    ended_at=stop,
                    meter_start_wh=0,
                    meter_end_wh=50 * 180,
                    readings=[
                        Reading(timestamp=r["timestamp"], sampled_values=r["sampled_values"])
                        for r in readings[-READINGS:]
                    ],
                    statuses=[
                        StatusChange(timestamp=start, status="Charging"),
                        StatusChange(timestamp=start + timedelta(minutes=50), status="SuspendedEV"),
                    ],
                )
                # What StopTransaction keeps with the session.
                rows[-1]["rating_periods"] = encode_periods(periods_for(evidence))
                statuses.extend(
                    {
                        "station_id": station,
                        "connector_id": 1,
                        "status": status,
                        "error_code": "NoError",
                        "timestamp": start + timedelta(minutes=minutes),
                        "received_at": now,
                    }
                    for status, minutes in (("Charging", 0), ("SuspendedEV", 50))
                )
            await db.execute(insert(ChargingSession), rows)
            await db.execute(insert(MeterValueRecord), readings)
            await db.execute(insert(ConnectorStatusEvent), statuses)
    await engine.dispose()


async def forget_periods(url: str) -> None:
    """Make the sessions look like ones rated before periods were kept."""
    engine = create_engine(url=url)
    async with engine.begin() as db:
        await db.execute(update(ChargingSession).values(rating_periods=None))
    await engine.dispose()


async def run(url: str) -> tuple[float, Any]:
    engine = create_engine(url=url)
    async with create_session_factory(engine)() as db:
        started = time.perf_counter()
        report = await rerate(
            db=db,
            operator_id=1,
            tariff_document=loads_ocpi(TARIFF_JSON),
            started_from=T0,
            started_before=T0 + timedelta(days=3650),
        )
        elapsed = time.perf_counter() - started
    await engine.dispose()
    return elapsed, report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=5_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{tmp}/rerate.sqlite3"
        upgrade(url=url)
        asyncio.run(seed(url, args.sessions))
        elapsed, report = asyncio.run(run(url))
        asyncio.run(forget_periods(url))
        legacy_elapsed, legacy_report = asyncio.run(run(url))
    assert report.totals() == legacy_report.totals(), "both ways must price the same"
    rate = report.sessions / elapsed
    legacy_rate = legacy_report.sessions / legacy_elapsed
    print(
        json.dumps(
            {
                "benchmark": "rerate_end_to_end",
                "database": "sqlite",
                "sessions": report.sessions,
                "readings_per_session": READINGS,
                "seconds": round(elapsed, 2),
                "sessions_per_second": round(rate),
                "seconds_per_million_sessions": round(1_000_000 / rate, 1),
                "from_readings_sessions_per_second": round(legacy_rate),
                "from_readings_seconds_per_million_sessions": round(1_000_000 / legacy_rate, 1),
                "proposed_total_excl_vat": str(report.totals()["proposed_excl_vat"]),
                "python": platform.python_version(),
            }
        )
    )


if __name__ == "__main__":
    main()
