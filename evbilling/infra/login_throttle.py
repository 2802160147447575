"""Slows password guessing at a log-in without letting anyone lock the rightful user out: the
station log-in (the OCPP gateway) and, under its own per-account rule, the driver app's
(evbilling.app.login_throttle).

Failures are counted per (identity, client address) pair and per client address, never per
identity alone, so failures from one address never refuse the right password from another:

* a pair's `pair_failures`-th failure locks that pair for `lockout_s`, and each further
  one for twice as long as the one before, up to `lockout_max_s`. Attempts refused while
  the pair is locked are not verified and not counted anywhere;
* an address may fail `address_failures` times per `address_window_s` (a leaky bucket),
  many more than a pair, so one misconfigured charger behind a NAT (locked out on its own
  pair after a handful of failures) never uses up the allowance of its neighbours;
* a pair that logged in successfully in the last `trusted_for_s` is not refused for its
  address's failures (only for its own), so stations that already connected from a NAT
  keep connecting while someone else at that address is guessing.

An attempt counts as a failure of its pair from the moment it is admitted until it succeeds,
so concurrent attempts on one pair cannot slip past its allowance while their passwords are
verified. The address counts only verified failures: attempts in flight are not failures,
and many stations behind one address reconnecting at once (after an outage or a restart)
must not refuse each other. A burst of concurrent wrong guesses from one address is
therefore bounded by the server's argon2 throughput, and then keeps that address refused
for as long as its level takes to drain (at most `ADDRESS_LEVEL_CAP` allowances).
An IPv6 address counts as its /64 (one subscriber's prefix), in pairs and for the address
allowance: hopping between the addresses of one prefix gains nothing.

Memory is bounded: each table keeps at most `max_entries`, forgetting first what carries
the least protection (entries that expired, then the least recently touched).
"""

from __future__ import annotations

import ipaddress
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

__all__ = ["LoginLimits", "LoginThrottle"]

# A pair that has not failed for this long starts again from a clean slate.
PAIR_MEMORY_S = 24 * 3600.0
# An address's level never exceeds this many allowances: after a burst it is refused for at
# most this many windows.
ADDRESS_LEVEL_CAP = 10

K = TypeVar("K")
V = TypeVar("V")


@dataclass(frozen=True, slots=True)
class LoginLimits:
    pair_failures: int = 5
    lockout_s: float = 1.0
    lockout_max_s: float = 900.0
    address_failures: int = 100
    address_window_s: float = 60.0
    trusted_for_s: float = 24 * 3600.0
    max_entries: int = 50_000

    def lockout(self, failures: int) -> float:
        """Seconds a pair with `failures` counted failures is locked after the last one."""
        beyond = failures - self.pair_failures
        if beyond < 0:
            return 0.0
        return min(self.lockout_s * 2.0 ** min(beyond, 64), self.lockout_max_s)


@dataclass(slots=True)
class _Pair:
    failures: int
    last_failure: float


@dataclass(slots=True)
class _Bucket:
    level: float
    updated: float


def address_key(address: str) -> str:
    """The unit the address allowance counts: the address, or its /64 for IPv6."""
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(parsed, ipaddress.IPv6Address):
        if parsed.ipv4_mapped is not None:  # ::ffff:a.b.c.d is the IPv4 address a.b.c.d
            return str(parsed.ipv4_mapped)
        return str(ipaddress.IPv6Network((parsed, 64), strict=False))
    return str(parsed)


@dataclass(slots=True)
class LoginThrottle:
    limits: LoginLimits = field(default_factory=LoginLimits)
    clock: Callable[[], float] = time.monotonic
    _pairs: OrderedDict[tuple[str, str], _Pair] = field(default_factory=OrderedDict)
    _addresses: OrderedDict[str, _Bucket] = field(default_factory=OrderedDict)
    _trusted: OrderedDict[tuple[str, str], float] = field(default_factory=OrderedDict)

    # -- the calls the gateway makes -------------------------------------------------------

    def admit(self, *, identity: str, address: str) -> bool:
        """Whether this log-in may be verified; if so it counts as a failure of its pair
        until `succeeded` is called for it. Call `failed` when it fails."""
        now = self.clock()
        self._expire(now)
        unit = address_key(address)
        pair_key = (identity, unit)
        pair = self._pairs.get(pair_key)
        if pair is not None and now < pair.last_failure + self.limits.lockout(pair.failures):
            return False
        level = self._drained(self._addresses.get(unit), now)
        if level + 1 > self.limits.address_failures and not self._is_trusted(pair_key, now):
            return False
        if pair is None:
            pair = _Pair(failures=0, last_failure=now)
        pair.failures += 1
        pair.last_failure = now
        self._touch(self._pairs, pair_key, pair)
        return True

    def failed(self, *, identity: str, address: str) -> None:
        """The admitted attempt's credentials were wrong: it counts against the address."""
        now = self.clock()
        unit = address_key(address)
        level = self._drained(self._addresses.get(unit), now) + 1
        level = min(level, float(ADDRESS_LEVEL_CAP * self.limits.address_failures))
        self._touch(self._addresses, unit, _Bucket(level=level, updated=now))

    def succeeded(self, *, identity: str, address: str) -> None:
        """The admitted attempt had the right credentials: it was no failure."""
        now = self.clock()
        pair_key = (identity, address_key(address))
        self._pairs.pop(pair_key, None)
        self._touch(self._trusted, pair_key, now)

    def is_trusted(self, *, identity: str, address: str) -> bool:
        """Whether the pair logged in successfully in the last `trusted_for_s`."""
        return self._is_trusted((identity, address_key(address)), self.clock())

    # -- what tests and operators may look at ----------------------------------------------

    def locked_for(self, *, identity: str, address: str) -> float:
        """Seconds until the pair may try again (0 when it may now)."""
        pair = self._pairs.get((identity, address_key(address)))
        if pair is None:
            return 0.0
        until = pair.last_failure + self.limits.lockout(pair.failures)
        return max(until - self.clock(), 0.0)

    def sizes(self) -> dict[str, int]:
        return {
            "pairs": len(self._pairs),
            "addresses": len(self._addresses),
            "trusted": len(self._trusted),
        }

    # -- bookkeeping -----------------------------------------------------------------------

    def _drained(self, bucket: _Bucket | None, now: float) -> float:
        if bucket is None:
            return 0.0
        rate = self.limits.address_failures / self.limits.address_window_s
        return max(bucket.level - (now - bucket.updated) * rate, 0.0)

    def _is_trusted(self, pair_key: tuple[str, str], now: float) -> bool:
        since = self._trusted.get(pair_key)
        return since is not None and now - since < self.limits.trusted_for_s

    def _touch(self, table: OrderedDict[K, V], key: K, value: V) -> None:
        """Store as the most recently touched entry; past the bound, forget the oldest."""
        table[key] = value
        table.move_to_end(key)
        while len(table) > self.limits.max_entries:
            table.popitem(last=False)

    def _expire(self, now: float) -> None:
        """Each table is in order of last touch: expired entries sit at the front."""
        limits = self.limits
        while self._pairs:
            pair = next(iter(self._pairs.values()))
            if now - pair.last_failure < max(PAIR_MEMORY_S, limits.lockout_max_s):
                break
            self._pairs.popitem(last=False)
        while self._addresses:
            bucket = next(iter(self._addresses.values()))
            if self._drained(bucket, now) > 0.0:
                break
            self._addresses.popitem(last=False)
        while self._trusted:
            since = next(iter(self._trusted.values()))
            if now - since < limits.trusted_for_s:
                break
            self._trusted.popitem(last=False)
