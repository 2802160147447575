"""Decode + validate throughput of an inbound OCPP 1.6 MeterValues frame.

Compares evbilling's decoder (orjson + fastjsonschema compiled once + strict extra checks)
with the ``ocpp`` library's path: ``unpack`` (json.loads) + ``_validate_payload``
(jsonschema Draft4Validator), both called directly and, as ``ChargePoint`` does it, through
``validate_payload`` in the default thread-pool executor. Prints one JSON object.

    .venv/bin/python bench/ocpp_decode.py [--repeat 5] [--min-seconds 0.3]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import time
from collections.abc import Callable
from typing import Any

import orjson
from ocpp.messages import _validate_payload as library_validate  # sync path, private name
from ocpp.messages import unpack, validate_payload

from evbilling.ocpp.v16 import CallFrame, decode_frame

PHASES = {"Voltage": ("L1-N", "L2-N", "L3-N")}
MEASURANDS = (
    ("Voltage", "V", "230.1"),
    ("Current.Import", "A", "16.02"),
    ("Power.Active.Import", "W", "3684.6"),
    ("Energy.Active.Import.Register", "Wh", "1234567"),
)


def meter_values_frame() -> bytes:
    """A realistic periodic sample: 3 phases x 4 measurands = 12 sampled values."""
    sampled = [
        {
            "value": value,
            "context": "Sample.Periodic",
            "format": "Raw",
            "measurand": measurand,
            "phase": phase,
            "location": "Outlet",
            "unit": unit,
        }
        for measurand, unit, value in MEASURANDS
        for phase in PHASES.get(measurand, ("L1", "L2", "L3"))
    ]
    payload = {
        "connectorId": 1,
        "transactionId": 4711,
        "meterValue": [{"timestamp": "2026-03-02T09:15:00.123Z", "sampledValue": sampled}],
    }
    return orjson.dumps([2, "9b0f3c2e-7d1a-4c55-8e21-5f7a3b9c0d11", "MeterValues", payload])


def seconds_per_call(work: Callable[[], object], *, min_seconds: float, repeat: int) -> float:
    """Best of ``repeat`` timings, each of a batch grown until it lasts ``min_seconds``."""
    batch = 1
    while True:
        started = time.perf_counter()
        for _ in range(batch):
            work()
        elapsed = time.perf_counter() - started
        if elapsed >= min_seconds:
            break
        batch *= 2
    best = elapsed / batch
    for _ in range(repeat - 1):
        started = time.perf_counter()
        for _ in range(batch):
            work()
        best = min(best, (time.perf_counter() - started) / batch)
    return best


def figures(seconds: float) -> dict[str, float]:
    return {"us_per_message": round(seconds * 1e6, 2), "messages_per_second": round(1 / seconds)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--min-seconds", type=float, default=0.3)
    args = parser.parse_args()
    raw = meter_values_frame()
    text = raw.decode()

    def ours() -> object:
        return decode_frame(raw)

    def library() -> None:
        library_validate(unpack(text), "1.6")

    loop = asyncio.new_event_loop()

    def library_in_executor() -> None:
        loop.run_until_complete(validate_payload(unpack(text), "1.6"))

    # Both must accept the frame, or the comparison means nothing.
    assert isinstance(ours(), CallFrame)
    library()

    timing: dict[str, Any] = {"min_seconds": args.min_seconds, "repeat": args.repeat}
    evbilling = seconds_per_call(ours, min_seconds=args.min_seconds, repeat=args.repeat)
    sync = seconds_per_call(library, min_seconds=args.min_seconds, repeat=args.repeat)
    executor = seconds_per_call(
        library_in_executor, min_seconds=args.min_seconds, repeat=args.repeat
    )
    loop.close()
    print(
        json.dumps(
            {
                "benchmark": "ocpp16_decode_validate",
                "message": "MeterValues, 1 meterValue x 12 sampledValue (3 phases x 4 measurands)",
                "frame_bytes": len(raw),
                "python": platform.python_version(),
                "machine": platform.machine(),
                "timing": timing,
                "evbilling_frame_decoder": figures(evbilling),
                "ocpp_library_sync": figures(sync),
                "ocpp_library_executor": figures(executor),
                "speedup_vs_library_sync": round(sync / evbilling, 1),
                "speedup_vs_library_executor": round(executor / evbilling, 1),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
