"""The station log-in throttle: per (identity, address) pair and per address, never per
identity alone, with an exponential lock-out per pair and bounded memory."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from evbilling.infra.login_throttle import LoginLimits, LoginThrottle, address_key

ATTACKER = "203.0.113.66"
STATION = "198.51.100.7"
NAT = "192.0.2.1"


@dataclass(slots=True)
class ManualClock:
    now: float = 1_000.0

    def __call__(self) -> float:
        return self.now


def throttle(clock: ManualClock, **limits: float) -> LoginThrottle:
    return LoginThrottle(limits=LoginLimits(**limits), clock=clock)  # type: ignore[arg-type]


def fail(throttle: LoginThrottle, identity: str, address: str, times: int) -> list[bool]:
    """`times` log-ins with a wrong password: whether each was admitted for verification."""
    admitted = []
    for _ in range(times):
        admitted.append(throttle.admit(identity=identity, address=address))
        if admitted[-1]:
            throttle.failed(identity=identity, address=address)
    return admitted


def log_in(throttle: LoginThrottle, identity: str, address: str) -> bool:
    """A log-in with the right password: admitted (and then successful) or refused (429)."""
    if not throttle.admit(identity=identity, address=address):
        return False
    throttle.succeeded(identity=identity, address=address)
    return True


class TestPairs:
    def test_failures_from_one_address_never_refuse_the_right_password_from_another(
        self,
    ) -> None:
        clock = ManualClock()
        limits = throttle(clock)

        fail(limits, "CP-1", ATTACKER, 50)

        assert log_in(limits, "CP-1", STATION)

    def test_the_failing_pair_is_locked_out_after_its_allowance(self) -> None:
        clock = ManualClock()
        limits = throttle(clock, pair_failures=5)

        admitted = fail(limits, "CP-1", ATTACKER, 6)

        assert admitted == [True] * 5 + [False]
        assert not log_in(limits, "CP-1", ATTACKER)  # even the right password: the pair waits

    def test_each_further_failure_doubles_the_lock_out_up_to_the_cap(self) -> None:
        clock = ManualClock()
        limits = throttle(clock, pair_failures=3, lockout_s=1.0, lockout_max_s=10.0)
        fail(limits, "CP-1", ATTACKER, 3)
        locks = [limits.locked_for(identity="CP-1", address=ATTACKER)]
        for _ in range(5):
            clock.now += locks[-1]  # wait out the lock, then fail once more
            assert fail(limits, "CP-1", ATTACKER, 1) == [True]
            locks.append(limits.locked_for(identity="CP-1", address=ATTACKER))

        assert locks == [1.0, 2.0, 4.0, 8.0, 10.0, 10.0]

    def test_attempts_refused_while_locked_do_not_lengthen_the_lock(self) -> None:
        clock = ManualClock()
        limits = throttle(clock, pair_failures=3, lockout_s=4.0)
        fail(limits, "CP-1", ATTACKER, 3)

        refused = fail(limits, "CP-1", ATTACKER, 100)
        clock.now += 4.0

        assert refused == [False] * 100
        assert log_in(limits, "CP-1", ATTACKER)

    def test_a_success_clears_the_pair(self) -> None:
        clock = ManualClock()
        limits = throttle(clock, pair_failures=3)
        fail(limits, "CP-1", STATION, 2)

        assert log_in(limits, "CP-1", STATION)

        assert fail(limits, "CP-1", STATION, 3) == [True, True, True]

    def test_concurrent_attempts_on_one_pair_count_before_their_passwords_are_verified(
        self,
    ) -> None:
        clock = ManualClock()
        limits = throttle(clock, pair_failures=3)

        # Many sockets opened at once: none has been verified yet.
        admitted = [limits.admit(identity="CP-1", address=ATTACKER) for _ in range(10)]

        assert admitted.count(True) == 3


class TestAddresses:
    def test_an_address_failing_in_many_names_is_refused_for_new_names(self) -> None:
        clock = ManualClock()
        limits = throttle(clock, address_failures=20)
        for index in range(20):
            fail(limits, f"CP-{index}", ATTACKER, 1)

        assert not log_in(limits, "CP-99", ATTACKER)
        assert log_in(limits, "CP-99", STATION)

    def test_one_misconfigured_charger_behind_a_nat_never_locks_out_its_neighbours(
        self,
    ) -> None:
        clock = ManualClock()
        limits = throttle(clock)  # the defaults: 5 per pair, 100 per address and minute
        # A charger with a stale password retrying every 10 s for a day.
        for _ in range(8_640):
            fail(limits, "CP-STALE", NAT, 1)
            clock.now += 10

        assert log_in(limits, "CP-NEIGHBOUR", NAT)

    def test_stations_reconnecting_together_from_one_address_never_refuse_each_other(
        self,
    ) -> None:
        clock = ManualClock()
        limits = throttle(clock, address_failures=100)

        # After a restart: 5,000 stations behind one address, all verifying at once.
        admitted = [limits.admit(identity=f"CP-{index}", address=NAT) for index in range(5_000)]

        assert all(admitted)

    def test_a_burst_keeps_its_address_refused_for_a_bounded_time(self) -> None:
        clock = ManualClock()
        limits = throttle(clock, address_failures=10, address_window_s=60.0)
        for index in range(1_000):  # admitted together, then all found wrong
            limits.admit(identity=f"GUESS-{index}", address=ATTACKER)
        for index in range(1_000):
            limits.failed(identity=f"GUESS-{index}", address=ATTACKER)

        clock.now += 9 * 60.0
        still_refused = log_in(limits, "CP-NEW", ATTACKER)
        clock.now += 60.0 + 6.0

        assert not still_refused
        assert log_in(limits, "CP-NEW", ATTACKER)

    def test_the_address_allowance_drains_over_its_window(self) -> None:
        clock = ManualClock()
        limits = throttle(clock, address_failures=10, address_window_s=60.0)
        for index in range(10):
            fail(limits, f"CP-{index}", ATTACKER, 1)
        assert not log_in(limits, "CP-NEW", ATTACKER)

        clock.now += 6.0  # one failure's worth

        assert log_in(limits, "CP-NEW", ATTACKER)

    def test_a_station_that_logged_in_from_an_address_is_not_refused_for_others_failures(
        self,
    ) -> None:
        clock = ManualClock()
        limits = throttle(clock, address_failures=10)
        assert log_in(limits, "CP-KNOWN", NAT)
        for index in range(50):
            fail(limits, f"GUESS-{index}", NAT, 1)

        assert not log_in(limits, "CP-FIRST-TIME", NAT)
        assert log_in(limits, "CP-KNOWN", NAT)

    @pytest.mark.parametrize(
        ("address", "unit"),
        [
            ("2001:db8:1:2:aaaa::1", "2001:db8:1:2::/64"),
            ("::ffff:192.0.2.1", "192.0.2.1"),
            ("192.0.2.1", "192.0.2.1"),
            ("unknown", "unknown"),
        ],
    )
    def test_ipv6_addresses_count_per_64_prefix(self, address: str, unit: str) -> None:
        assert address_key(address) == unit

    def test_hopping_addresses_inside_one_ipv6_prefix_gains_nothing(self) -> None:
        clock = ManualClock()
        limits = throttle(clock, pair_failures=3)
        admitted = [
            limits.admit(identity="CP-1", address=f"2001:db8:1:2::{host:x}") for host in range(10)
        ]

        assert admitted.count(True) == 3


class TestMemory:
    def test_a_flood_of_random_names_and_addresses_stays_within_the_bound(self) -> None:
        clock = ManualClock()
        limits = throttle(clock, max_entries=1_000)

        for index in range(20_000):
            network = f"10.{index >> 8 & 255}.{index & 255}"
            fail(limits, f"RANDOM-{index}", f"{network}.1", 1)
            log_in(limits, f"GOOD-{index}", f"{network}.2")

        assert all(size <= 1_000 for size in limits.sizes().values())

    def test_a_flood_does_not_reset_the_protection_of_recent_pairs(self) -> None:
        clock = ManualClock()
        limits = throttle(clock, max_entries=1_000, pair_failures=3)
        fail(limits, "CP-1", ATTACKER, 3)

        for index in range(500):  # fills half the tables: nothing is cleared wholesale
            fail(limits, f"RANDOM-{index}", f"10.0.{index >> 8}.{index & 255}", 1)

        assert not log_in(limits, "CP-1", ATTACKER)

    def test_expired_entries_are_forgotten(self) -> None:
        clock = ManualClock()
        limits = throttle(clock, address_window_s=60.0, trusted_for_s=3600.0)
        fail(limits, "CP-1", ATTACKER, 2)
        log_in(limits, "CP-2", STATION)

        clock.now += 2 * 24 * 3600
        fail(limits, "CP-3", "192.0.2.200", 1)

        assert limits.sizes() == {"pairs": 1, "addresses": 1, "trusted": 0}
