"""Rating throughput: sessions with 60 meter samples against a 4-element time-of-use tariff.

Run: .venv/bin/python bench/rating.py [--sessions N]
Prints one JSON object. `sessions_per_second` is re-rating throughput (periods already built,
as when stored sessions are re-rated); `build_and_rate_sessions_per_second` also turns the
meter samples into periods each time. Single process, single thread.
"""

from __future__ import annotations

import argparse
import gc
import json
import platform
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from evbilling.rating.engine import (
    ChargingPeriodInput,
    MeterSample,
    PowerSample,
    build_periods,
    rate_session,
)
from evbilling.tariffs.domain import Tariff, loads_ocpi, parse_tariff

TARGET_SESSIONS_PER_SECOND = 5_000
SAMPLES_PER_SESSION = 60
TIME_ZONE = "Europe/Berlin"

TARIFF_JSON = """
{
  "country_code": "DE", "party_id": "EVB", "id": "bench-tou", "currency": "EUR",
  "elements": [
    {"price_components": [{"type": "ENERGY", "price": 0.45, "vat": 19.0, "step_size": 1},
                          {"type": "TIME", "price": 1.20, "vat": 19.0, "step_size": 60}],
     "restrictions": {"start_time": "17:00", "end_time": "21:00",
                      "day_of_week": ["MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY"]}},
    {"price_components": [{"type": "ENERGY", "price": 0.30, "vat": 19.0, "step_size": 1},
                          {"type": "TIME", "price": 0.60, "vat": 19.0, "step_size": 60}],
     "restrictions": {"start_time": "07:00", "end_time": "17:00"}},
    {"price_components": [{"type": "ENERGY", "price": 0.20, "vat": 19.0, "step_size": 1}],
     "restrictions": {"start_time": "21:00", "end_time": "07:00"}},
    {"price_components": [{"type": "FLAT", "price": 0.50, "vat": 19.0, "step_size": 1},
                          {"type": "ENERGY", "price": 0.35, "vat": 19.0, "step_size": 1},
                          {"type": "PARKING_TIME", "price": 6.00, "vat": 19.0, "step_size": 300}]}
  ],
  "last_updated": "2025-01-01T00:00:00Z"
}
"""


def sample_session(index: int) -> tuple[list[MeterSample], list[PowerSample], datetime]:
    """One session: 60 register samples a minute apart, the last 10 without energy."""
    # Starts spread over weeks, every 37 min 7 s, so sessions cross 07:00 / 17:00 / 21:00 and
    # the engine has to cut periods there.
    start = datetime(2025, 3, 3, tzinfo=UTC) + timedelta(minutes=37 * index, seconds=7 * index)
    meter: list[MeterSample] = []
    power: list[PowerSample] = []
    register = 1_000_000 + index
    for minute in range(SAMPLES_PER_SESSION):
        at = start + timedelta(minutes=minute)
        meter.append(MeterSample(at=at, energy_wh=register))
        kw = 0 if minute >= SAMPLES_PER_SESSION - 10 else 7 + (minute * 7 + index) % 15
        power.append(PowerSample(at=at, kw=Decimal(kw)))
        register += kw * 1000 // 60
    end = start + timedelta(minutes=SAMPLES_PER_SESSION)
    return meter, power, end


def measure(
    tariff: Tariff,
    sessions: list[tuple[list[MeterSample], list[PowerSample], datetime]],
    built: list[list[ChargingPeriodInput]],
) -> tuple[float, float]:
    gc.collect()
    began = time.perf_counter()
    for periods, (_, _, end) in zip(built, sessions, strict=True):
        rate_session(tariff=tariff, periods=periods, end=end, time_zone=TIME_ZONE)
    rate_seconds = time.perf_counter() - began
    began = time.perf_counter()
    for meter, power, end in sessions:
        periods = build_periods(meter_samples=meter, power_samples=power, end=end)
        rate_session(tariff=tariff, periods=periods, end=end, time_zone=TIME_ZONE)
    both_seconds = time.perf_counter() - began
    return rate_seconds, both_seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sessions", type=int, default=4_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    tariff = parse_tariff(loads_ocpi(TARIFF_JSON))
    sessions = [sample_session(index) for index in range(args.sessions)]
    built = [
        build_periods(meter_samples=meter, power_samples=power, end=end)
        for meter, power, end in sessions
    ]
    measure(tariff, sessions[:200], built[:200])  # warm caches (zoneinfo, tariff plan)
    runs = [measure(tariff, sessions, built) for _ in range(args.repeats)]
    rate_seconds = min(run[0] for run in runs)
    both_seconds = min(run[1] for run in runs)
    per_second = args.sessions / rate_seconds
    print(
        json.dumps(
            {
                "benchmark": "rating",
                "sessions": args.sessions,
                "repeats": args.repeats,
                "meter_samples_per_session": SAMPLES_PER_SESSION,
                "periods_per_session": len(built[0]),
                "tariff_elements": len(tariff.elements),
                "time_zone": TIME_ZONE,
                "sessions_per_second": round(per_second),
                "seconds_per_million_sessions": round(1_000_000 / per_second, 1),
                "build_and_rate_sessions_per_second": round(args.sessions / both_seconds),
                "build_and_rate_seconds_per_million_sessions": round(
                    1_000_000 * both_seconds / args.sessions, 1
                ),
                "target_sessions_per_second": TARGET_SESSIONS_PER_SECOND,
                "meets_target": per_second >= TARGET_SESSIONS_PER_SECOND,
                "python": platform.python_version(),
                "machine": platform.machine(),
            }
        )
    )


if __name__ == "__main__":
    main()
