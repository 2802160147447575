"""The ad-hoc begin budget per client address: a sliding window, IPv6 by its /64."""

from __future__ import annotations

from evbilling.web.budget import AddressBudget


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class TestAddressBudget:
    def test_allows_the_budget_then_says_how_long_to_wait(self) -> None:
        clock = Clock()
        budget = AddressBudget(allowed=2, window_s=60, clock=clock)

        first, second = budget.take("198.51.100.1"), budget.take("198.51.100.1")
        clock.now += 10
        third = budget.take("198.51.100.1")

        assert (first, second) == (None, None)
        assert third == 50

    def test_a_begin_leaves_the_window_after_it(self) -> None:
        clock = Clock()
        budget = AddressBudget(allowed=1, window_s=60, clock=clock)
        budget.take("198.51.100.1")

        clock.now += 60

        assert budget.take("198.51.100.1") is None

    def test_addresses_count_apart_and_ipv6_by_its_64(self) -> None:
        budget = AddressBudget(allowed=1, window_s=60, clock=Clock())
        budget.take("2001:db8:1:2::1")

        assert budget.take("198.51.100.1") is None
        assert budget.take("2001:db8:1:2::ffff") is not None
        assert budget.take("2001:db8:1:3::1") is None

    def test_forgets_the_oldest_addresses_beyond_its_size(self) -> None:
        budget = AddressBudget(allowed=1, window_s=60, max_entries=2, clock=Clock())
        for address in ("198.51.100.1", "198.51.100.2", "198.51.100.3"):
            budget.take(address)

        assert budget.take("198.51.100.1") is None  # forgotten, so allowed again
