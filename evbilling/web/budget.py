"""How many ad-hoc payments one client address may begin: each begin creates a guest payer
and a card set-up at the provider, so a script must not be able to create them without end.
A sliding window per address (an IPv6 address counts by its /64), kept in this process and
bounded in size; the oldest addresses are forgotten first."""

from __future__ import annotations

import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field

from evbilling.infra.login_throttle import address_key


@dataclass(slots=True)
class AddressBudget:
    allowed: int = 10
    window_s: float = 3600.0
    max_entries: int = 50_000
    clock: Callable[[], float] = time.monotonic
    _begun: OrderedDict[str, deque[float]] = field(default_factory=OrderedDict)

    def take(self, address: str) -> float | None:
        """Count one begin from `address`: None when it is allowed, otherwise the seconds
        until the next one will be (nothing counted then)."""
        now = self.clock()
        key = address_key(address)
        times = self._begun.get(key)
        if times is None:
            times = self._begun[key] = deque()
        self._begun.move_to_end(key)
        while times and times[0] <= now - self.window_s:
            times.popleft()
        if len(times) >= self.allowed:  # (an allowance of 0 refuses every begin)
            return times[0] + self.window_s - now if times else self.window_s
        times.append(now)
        while len(self._begun) > self.max_entries:
            self._begun.popitem(last=False)
        return None
