"""Postpaid accounts' pure rules: the credit decision, periods, sums per VAT rate."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from evbilling.kit.errors import InvalidRequest
from evbilling.postpaid.domain import (
    PeriodNotOver,
    check_period,
    decide_credit,
    month_period,
    previous_month,
    sums_per_rate,
)


def decide(
    *,
    status: str = "active",
    outstanding_minor: int = 0,
    exposure_minor: int = 0,
    wanted_minor: int = 0,
) -> tuple[bool, str, int]:
    decision = decide_credit(
        status=status,
        limit_minor=1000,
        outstanding_minor=outstanding_minor,
        exposure_minor=exposure_minor,
        wanted_minor=wanted_minor,
        currency="EUR",
    )
    return decision.accepted, decision.reason, decision.available_minor


class TestDecideCredit:
    def test_accepts_up_to_the_limit_exactly(self) -> None:
        assert decide(outstanding_minor=400, exposure_minor=100, wanted_minor=500)[0]
        assert decide(outstanding_minor=400, exposure_minor=100, wanted_minor=501) == (
            False,
            "credit limit reached",
            500,
        )

    def test_a_credit_balance_adds_to_what_is_available(self) -> None:
        assert decide(outstanding_minor=-300, wanted_minor=1300)[0]
        assert not decide(outstanding_minor=-300, wanted_minor=1301)[0]

    def test_available_is_never_negative(self) -> None:
        assert decide(outstanding_minor=5000)[2] == 0

    def test_refuses_an_account_that_is_not_active(self) -> None:
        assert decide(status="suspended") == (False, "account is suspended", 1000)

    def test_refuses_a_negative_amount(self) -> None:
        with pytest.raises(InvalidRequest):
            decide(wanted_minor=-1)


class TestPeriods:
    def test_a_month_is_half_open_in_utc(self) -> None:
        assert month_period("2026-12") == (
            datetime(2026, 12, 1, tzinfo=UTC),
            datetime(2027, 1, 1, tzinfo=UTC),
        )

    @pytest.mark.parametrize("text", ["2026-13", "2026-00", "26-11", "2026-11\n", "2026/11", ""])
    def test_refuses_what_is_not_a_month(self, text: str) -> None:
        with pytest.raises(InvalidRequest):
            month_period(text)

    def test_the_previous_month_of_january_is_last_december(self) -> None:
        assert previous_month(datetime(2027, 1, 1, 0, 30, tzinfo=UTC)) == month_period("2026-12")

    def test_a_statement_waits_for_the_end_of_its_period(self) -> None:
        start, end = month_period("2026-11")

        check_period(period_start=start, period_end=end, now=end)
        with pytest.raises(PeriodNotOver):
            check_period(period_start=start, period_end=end, now=datetime(2026, 11, 30, tzinfo=UTC))
        with pytest.raises(InvalidRequest):
            check_period(period_start=end, period_end=start, now=end)


class TestSumsPerRate:
    def test_adds_each_rate_exactly_highest_first(self) -> None:
        sums = sums_per_rate(
            [
                {"rate": "7", "net_minor": 100, "vat_minor": 7},
                {"rate": "19", "net_minor": 300, "vat_minor": 57},
                {"rate": "19.0", "net_minor": 150, "vat_minor": 29},
            ]
        )

        assert [(s.rate, s.net_minor, s.vat_minor, s.total_minor) for s in sums] == [
            (Decimal(19), 450, 86, 536),
            (Decimal(7), 100, 7, 107),
        ]
