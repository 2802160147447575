"""The wallet's pure rules: settings parsed, amounts checked, what a reservation takes and
what a settlement posts."""

from __future__ import annotations

import pytest

from evbilling.kit import InvalidRequest
from evbilling.money import Money
from evbilling.wallets.domain import (
    MovementKind,
    check_reason,
    checked_amount,
    limit_reason,
    movement_kind,
    parse_amount_setting,
    reservation_amount,
    settled_minor,
)


class TestAmountSettings:
    def test_parses_a_currency_and_an_amount(self) -> None:
        assert parse_amount_setting("EUR:5", name="x") == Money.of("5", "EUR")
        assert parse_amount_setting(" chf:12.50 ", name="x") == Money.of("12.50", "CHF")

    @pytest.mark.parametrize("text", ["5", "EUR:", "EUR:0", "EUR:-1", "EURO:5", "EUR:abc", ""])
    def test_refuses_anything_else(self, text: str) -> None:
        with pytest.raises(InvalidRequest):
            parse_amount_setting(text, name="wallet_min_topup")


class TestAmountsAskedFor:
    def test_is_minor_units(self) -> None:
        assert checked_amount(Money.of("12.30", "EUR")) == 1230

    @pytest.mark.parametrize("amount", ["0", "-1", "0.001", "1000001"])
    def test_refuses_zero_negative_sub_cent_and_huge(self, amount: str) -> None:
        with pytest.raises(InvalidRequest):
            checked_amount(Money.of(amount, "EUR"))

    @pytest.mark.parametrize("reason", ["", "   ", "a\x00b", "r" * 201])
    def test_a_reason_is_required_and_bounded(self, reason: str) -> None:
        with pytest.raises(InvalidRequest):
            check_reason(reason)


class TestReservations:
    def test_takes_what_is_wanted_or_what_is_there(self) -> None:
        assert reservation_amount(wanted_minor=1500, available_minor=2000, margin_minor=100) == 1500
        assert reservation_amount(wanted_minor=1500, available_minor=600, margin_minor=100) == 600

    def test_nothing_when_the_margin_is_not_covered(self) -> None:
        assert reservation_amount(wanted_minor=1500, available_minor=100, margin_minor=100) is None
        assert reservation_amount(wanted_minor=1500, available_minor=0, margin_minor=0) is None

    def test_settles_at_most_the_reservation(self) -> None:
        assert settled_minor(total_minor=952, reserved_minor=1500) == 952
        assert settled_minor(total_minor=2000, reserved_minor=1500) == 1500
        assert settled_minor(total_minor=0, reserved_minor=1500) == 0
        assert settled_minor(total_minor=None, reserved_minor=1500) == 0

    def test_the_payment_reason_names_the_limit(self) -> None:
        assert limit_reason(Money.of("12.30", "EUR")) == "wallet; spending limit EUR 12.30"


def test_movements_are_named_by_their_reference() -> None:
    assert movement_kind("wallet-goodwill:1:ab") is MovementKind.GOODWILL
    assert movement_kind("wallet-settle:4") is MovementKind.SESSION
    assert movement_kind("sale:session:1") is MovementKind.OTHER
