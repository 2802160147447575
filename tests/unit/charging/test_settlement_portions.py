"""A session's total split per VAT rate: the portions add up to the total to the minor unit."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from evbilling.charging.settlement import SettlementMismatch, apportion, vat_portions
from evbilling.money import Money


def line(excl: str, incl: str, vat: str | None) -> dict[str, str | None]:
    return {"amount_excl_vat": excl, "amount_incl_vat": incl, "vat_percent": vat}


class TestApportion:
    def test_shares_in_proportion_with_the_largest_remainders_first(self) -> None:
        assert apportion(total=100, weights=[1, 1, 1]) == [34, 33, 33]

    def test_shares_a_negative_amount(self) -> None:
        assert apportion(total=-10, weights=[3, 1]) == [-7, -3]

    def test_all_zero_weights_share_equally(self) -> None:
        assert apportion(total=5, weights=[0, 0]) == [3, 2]

    def test_refuses_nothing_to_share_to(self) -> None:
        with pytest.raises(ValueError, match="nothing to apportion to"):
            apportion(total=5, weights=[])

    @given(
        total=st.integers(min_value=-(10**9), max_value=10**9),
        weights=st.lists(st.integers(min_value=0, max_value=10**7), min_size=1, max_size=6),
    )
    def test_the_shares_always_add_up(self, total: int, weights: list[int]) -> None:
        assert sum(apportion(total=total, weights=weights)) == total


class TestVatPortions:
    def test_two_rates_each_with_its_net_and_vat(self) -> None:
        portions = vat_portions(
            lines=[
                line("0.60", "0.72", "20"),
                line("1.00", "1.07", "7"),
                line("0.33", "0.40", "20"),
            ],
            currency="EUR",
        )

        assert [(p.rate, p.net, p.vat) for p in portions] == [
            (Decimal(20), Money.of("0.93", "EUR"), Money.of("0.19", "EUR")),
            (Decimal(7), Money.of("1.00", "EUR"), Money.of("0.07", "EUR")),
        ]

    def test_lines_without_vat_are_rate_zero(self) -> None:
        portions = vat_portions(lines=[line("2.50", "2.50", None)], currency="EUR")

        assert [(p.rate, p.net, p.vat) for p in portions] == [
            (Decimal(0), Money.of("2.50", "EUR"), Money.of("0", "EUR"))
        ]

    def test_a_mixed_vat_adjustment_is_shared_by_net(self) -> None:
        portions = vat_portions(
            lines=[
                line("3.00", "3.60", "20"),
                line("1.00", "1.07", "7"),
                line("-1.00", "-1.17", None),  # a max_price over both rates
            ],
            currency="EUR",
        )

        gross = sum((p.net.amount + p.vat.amount for p in portions), Decimal(0))
        assert gross == Decimal("3.50")  # 3.60 + 1.07 - 1.17
        assert [p.net for p in portions] == [Money.of("2.25", "EUR"), Money.of("0.75", "EUR")]

    def test_a_mixed_adjustment_with_no_rate_is_an_error(self) -> None:
        with pytest.raises(SettlementMismatch, match="mixed VAT but no VAT rate"):
            vat_portions(lines=[line("-1.00", "-1.17", None)], currency="EUR")

    def test_rates_with_nothing_to_settle_are_left_out(self) -> None:
        assert vat_portions(lines=[line("0.00", "0.00", "20")], currency="EUR") == ()

    def test_zero_decimal_currencies(self) -> None:
        portions = vat_portions(lines=[line("110", "121", "10")], currency="JPY")

        assert [(p.net, p.vat) for p in portions] == [(Money.of(110, "JPY"), Money.of(11, "JPY"))]
