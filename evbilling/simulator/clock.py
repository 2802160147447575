"""Simulated time: one clock for every station, and sleeping in simulated seconds."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from evbilling.simulator.errors import InvalidSimulationConfig


class ScaledClock:
    """Simulated time: starts at ``origin`` and runs ``time_scale`` times faster than the wall.

    Derived from one monotonic clock, so every station and session reads the same timeline,
    energy always matches elapsed simulated time, and consecutive sessions never overlap.
    """

    __slots__ = ("_monotonic", "_origin", "_started", "_time_scale")

    def __init__(
        self,
        *,
        origin: datetime,
        time_scale: float,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if origin.tzinfo is None:
            raise InvalidSimulationConfig("the simulated clock needs an aware origin")
        self._origin = origin.astimezone(UTC)
        self._time_scale = time_scale
        self._monotonic = monotonic
        self._started = monotonic()

    @property
    def time_scale(self) -> float:
        return self._time_scale

    def now(self) -> datetime:
        elapsed_wall = self._monotonic() - self._started
        return self._origin + timedelta(seconds=elapsed_wall * self._time_scale)

    def wall_seconds(self, simulated_seconds: float) -> float:
        return max(0.0, simulated_seconds / self._time_scale)


async def pause(clock: ScaledClock, simulated_s: float, *interrupts: asyncio.Event) -> bool:
    """Sleep ``simulated_s`` of simulated time; True when an interrupt cut it short."""
    wall_s = clock.wall_seconds(simulated_s)
    if any(event.is_set() for event in interrupts):
        return True
    if not interrupts:
        await asyncio.sleep(wall_s)
        return False
    waiters = [asyncio.ensure_future(event.wait()) for event in interrupts]
    try:
        done, _ = await asyncio.wait(waiters, timeout=wall_s, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()
    return bool(done)
