"""The app's log-in throttle: strict per (account, address), a budget per address, and per
account only a slow-down that never touches addresses the driver signed in from."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from evbilling.app.login_throttle import AppLoginLimits, AppLoginThrottle, TooManyLogIns

ADA = "ada@example.com"
HOME = "198.51.100.7"


@dataclass
class Ticks:
    now: float = 1000.0

    def __call__(self) -> float:
        return self.now


def throttle(ticks: Ticks, **limits: float) -> AppLoginThrottle:
    return AppLoginThrottle(limits=AppLoginLimits(**limits), clock=ticks)  # type: ignore[arg-type]


def fail(t: AppLoginThrottle, *, account: str = ADA, address: str) -> bool:
    """One wrong password: False when the throttle refused to even check it."""
    try:
        t.admit(account=account, address=address)
    except TooManyLogIns:
        return False
    t.failed(account=account, address=address)
    return True


def admitted(t: AppLoginThrottle, *, account: str = ADA, address: str) -> bool:
    try:
        t.admit(account=account, address=address)
    except TooManyLogIns:
        return False
    return True


class TestPerPair:
    def test_locks_a_pair_after_its_failures_with_a_growing_lockout(self) -> None:
        ticks = Ticks()
        t = throttle(ticks, pair_failures=3, lockout_s=10.0)
        assert all(fail(t, address=HOME) for _ in range(3))

        assert not admitted(t, address=HOME)
        ticks.now += 10.5
        assert fail(t, address=HOME)
        ticks.now += 10.5
        assert not admitted(t, address=HOME)  # now 20 s

    def test_a_locked_pair_says_when_to_retry(self) -> None:
        t = throttle(Ticks(), pair_failures=1, lockout_s=30.0)
        fail(t, address=HOME)

        with pytest.raises(TooManyLogIns) as refused:
            t.admit(account=ADA, address=HOME)

        assert refused.value.retry_after_s == 30


class TestPerAddress:
    def test_an_address_guessing_many_accounts_runs_out_of_budget(self) -> None:
        t = throttle(Ticks(), address_failures=10)
        for n in range(10):
            assert fail(t, account=f"user{n}@example.com", address="203.0.113.9")

        assert not admitted(t, account="someone@example.com", address="203.0.113.9")
        assert admitted(t, account="someone@example.com", address=HOME)


class TestPerAccount:
    def test_an_attack_from_many_addresses_never_stops_the_driver_at_home(self) -> None:
        ticks = Ticks()
        t = throttle(ticks, account_failures=5)
        t.admit(account=ADA, address=HOME)
        t.succeeded(account=ADA, address=HOME)

        for n in range(200):
            fail(t, address=f"203.0.{n // 250}.{n % 250}")
            ticks.now += 0.1

        assert admitted(t, address=HOME)

    def test_slows_unknown_addresses_to_one_try_per_slowdown(self) -> None:
        ticks = Ticks()
        t = throttle(ticks, account_failures=5, account_slowdown_s=5.0)
        for n in range(5):
            fail(t, address=f"203.0.113.{n}")

        assert admitted(t, address="192.0.2.1")  # the next slot is taken...
        t.failed(account=ADA, address="192.0.2.1")
        assert not admitted(t, address="192.0.2.2")  # ...so the next address waits
        ticks.now += 5.1
        assert admitted(t, address="192.0.2.2")  # slowed, never locked

    def test_the_slow_down_ends_when_the_failures_drain(self) -> None:
        ticks = Ticks()
        t = throttle(ticks, account_failures=5, account_window_s=100.0)
        for n in range(6):
            fail(t, address=f"203.0.113.{n}")
        ticks.now += 200.0

        assert admitted(t, address="192.0.2.1")
        assert admitted(t, address="192.0.2.2")

    def test_other_accounts_are_not_slowed(self) -> None:
        t = throttle(Ticks(), account_failures=5)
        for n in range(10):
            fail(t, address=f"203.0.113.{n}")

        assert admitted(t, account="bob@example.com", address="192.0.2.1")
        assert admitted(t, account="bob@example.com", address="192.0.2.2")
