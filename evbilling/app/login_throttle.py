"""Log-in throttling of the driver app: slows password guessing per account and per client
address, and never locks a driver out of the addresses they signed in from before.

Three counters (docs/app-api.md):

* per (account, address) pair: after `pair_failures` failures the pair is locked for
  `lockout_s`, doubling with each further failure up to `lockout_max_s`;
* per address: `address_failures` per `address_window_s` (a leaky bucket), except for pairs
  that signed in successfully in the last `trusted_for_s`;
* per account: failures from every address fill a leaky bucket of `account_failures` per
  `account_window_s`. Past it, the account is only *slowed*: addresses it never signed in
  from get one attempt per `account_slowdown_s` between them, while addresses it did sign in
  from are not limited by it at all. An attacker guessing from many addresses thus gets a
  trickle of guesses and cannot stop the driver signing in from their own phone.

"Account" is the normalized e-mail address as typed, whether an account has it or not, so
the throttle answers the same for unknown addresses. Counters live in this process (like the
station throttle); several servers each count their own.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

from evbilling.infra.login_throttle import LoginLimits, LoginThrottle
from evbilling.kit import EVBillingError

__all__ = ["AppLoginLimits", "AppLoginThrottle", "TooManyLogIns"]


class TooManyLogIns(EVBillingError):
    """Too many failed log-ins for this account from here, or from this address."""

    def __init__(self, retry_after_s: float) -> None:
        super().__init__("too many failed log-ins; try again later")
        self.retry_after_s = max(1, int(retry_after_s + 0.999))


@dataclass(frozen=True, slots=True)
class AppLoginLimits:
    pair_failures: int = 5
    lockout_s: float = 1.0
    lockout_max_s: float = 900.0
    address_failures: int = 30
    address_window_s: float = 60.0
    account_failures: int = 20
    account_window_s: float = 600.0
    account_slowdown_s: float = 5.0
    trusted_for_s: float = 90 * 24 * 3600.0
    max_entries: int = 50_000


@dataclass(slots=True)
class _Bucket:
    level: float
    updated: float
    next_untrusted: float = 0.0


@dataclass(slots=True)
class AppLoginThrottle:
    limits: AppLoginLimits = field(default_factory=AppLoginLimits)
    clock: Callable[[], float] = time.monotonic
    _pairs: LoginThrottle = field(init=False)
    _accounts: OrderedDict[str, _Bucket] = field(default_factory=OrderedDict)

    def __post_init__(self) -> None:
        limits = self.limits
        self._pairs = LoginThrottle(
            limits=LoginLimits(
                pair_failures=limits.pair_failures,
                lockout_s=limits.lockout_s,
                lockout_max_s=limits.lockout_max_s,
                address_failures=limits.address_failures,
                address_window_s=limits.address_window_s,
                trusted_for_s=limits.trusted_for_s,
                max_entries=limits.max_entries,
            ),
            clock=self.clock,
        )

    def admit(self, *, account: str, address: str) -> None:
        """Let this attempt be verified, or raise TooManyLogIns. Report its outcome with
        `failed` or `succeeded`."""
        now = self.clock()
        trusted = self._pairs.is_trusted(identity=account, address=address)
        bucket = self._accounts.get(account)
        slowed = (
            bucket is not None
            and not trusted
            and self._drained(bucket, now) >= self.limits.account_failures
        )
        if slowed and bucket is not None and now < bucket.next_untrusted:
            raise TooManyLogIns(bucket.next_untrusted - now)
        if not self._pairs.admit(identity=account, address=address):
            locked = self._pairs.locked_for(identity=account, address=address)
            raise TooManyLogIns(
                locked or self.limits.address_window_s / self.limits.address_failures
            )
        if slowed and bucket is not None:
            bucket.next_untrusted = now + self.limits.account_slowdown_s

    def failed(self, *, account: str, address: str) -> None:
        now = self.clock()
        self._pairs.failed(identity=account, address=address)
        bucket = self._accounts.get(account)
        cap = float(10 * self.limits.account_failures)
        if bucket is None:
            bucket = _Bucket(level=1.0, updated=now)
        else:
            bucket.level = min(self._drained(bucket, now) + 1.0, cap)
            bucket.updated = now
        self._accounts[account] = bucket
        self._accounts.move_to_end(account)
        while len(self._accounts) > self.limits.max_entries:
            self._accounts.popitem(last=False)

    def succeeded(self, *, account: str, address: str) -> None:
        """The right password: this address is trusted for the account from now on."""
        self._pairs.succeeded(identity=account, address=address)

    def _drained(self, bucket: _Bucket, now: float) -> float:
        rate = self.limits.account_failures / self.limits.account_window_s
        return max(bucket.level - (now - bucket.updated) * rate, 0.0)
