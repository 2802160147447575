"""Failed station logins are counted per station id and per client address; past the allowance
both are refused until the window has passed, so guessing a password costs real time."""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field


@dataclass(slots=True)
class LoginThrottle:
    allowed_failures: int = 5
    window_s: float = 60.0
    _failures: dict[str, deque[float]] = field(default_factory=dict)

    def _recent(self, key: str, now: float) -> deque[float]:
        entries = self._failures.get(key)
        if entries is None:
            return deque()
        while entries and entries[0] <= now - self.window_s:
            entries.popleft()
        if not entries:
            del self._failures[key]
        return entries

    def blocked(self, *, station_id: str, address: str) -> bool:
        now = time.monotonic()
        return any(
            len(self._recent(key, now)) >= self.allowed_failures
            for key in (f"station:{station_id}", f"address:{address}")
        )

    def record_failure(self, *, station_id: str, address: str) -> None:
        now = time.monotonic()
        if len(self._failures) > 100_000:  # bound memory under a flood of random ids
            self._failures.clear()
        for key in (f"station:{station_id}", f"address:{address}"):
            self._failures.setdefault(key, deque()).append(now)

    def record_success(self, *, station_id: str) -> None:
        self._failures.pop(f"station:{station_id}", None)
