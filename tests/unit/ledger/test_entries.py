"""The ledger's pure rules: what a balanced entry is, account names, hold amounts."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from evbilling.ledger.domain import (
    MAX_REFERENCE_LENGTH,
    AccountKind,
    AccountRef,
    Line,
    belongs_to_operator,
    build_entry,
    check_hold_amount,
    check_post_amount,
    reversed_lines,
    sums_by_currency,
    transfer_lines,
)
from evbilling.ledger.errors import (
    CurrencyMismatch,
    EmptyEntry,
    InvalidAccount,
    InvalidEntry,
    InvalidReference,
    InvalidTransferAmount,
    UnbalancedEntry,
    ZeroLine,
)
from evbilling.money import Money

CURRENCIES = ("EUR", "JPY", "KWD")
accounts = st.builds(
    AccountRef,
    kind=st.sampled_from(AccountKind),
    currency=st.sampled_from(CURRENCIES),
    scope=st.sampled_from(["driver:1", "driver:2", "operator:1", "psp:sandbox"]),
)
amounts = st.integers(min_value=-(10**12), max_value=10**12).filter(bool)


@st.composite
def balanced_lines(draw: st.DrawFn) -> tuple[Line, ...]:
    """Lines of one or more currencies, each currency summing to zero."""
    lines: list[Line] = []
    for currency in draw(st.sets(st.sampled_from(CURRENCIES), min_size=1)):
        in_currency = st.builds(
            AccountRef, kind=st.sampled_from(AccountKind), currency=st.just(currency),
            scope=st.sampled_from(["driver:1", "operator:1/location:none", "psp:sandbox"]),
        )  # fmt: skip
        moves = draw(st.lists(amounts, min_size=1, max_size=5))
        lines.extend(Line(draw(in_currency), amount) for amount in moves)
        if sum(moves):  # else the moves balance already (and there are several)
            lines.append(Line(draw(in_currency), -sum(moves)))
    return tuple(draw(st.permutations(lines)))


class TestBuildEntry:
    @given(lines=balanced_lines())
    def test_accepts_lines_balanced_per_currency_and_keeps_them_as_given(
        self, lines: tuple[Line, ...]
    ) -> None:
        draft = build_entry(reference="r", description="d", lines=lines)

        assert draft.lines == lines
        assert set(sums_by_currency(draft.lines).values()) == {0}

    @given(lines=balanced_lines(), extra=amounts, account=accounts)
    def test_refuses_any_imbalance_in_any_currency(
        self, lines: tuple[Line, ...], extra: int, account: AccountRef
    ) -> None:
        with pytest.raises(UnbalancedEntry, match=account.currency):
            build_entry(reference="r", description="", lines=(*lines, Line(account, extra)))

    def test_refuses_a_balance_across_currencies(self) -> None:
        eur = AccountRef.driver_receivable(driver_id=1, currency="EUR")
        usd = AccountRef.revenue(operator_id=1, location_id=None, currency="USD")

        with pytest.raises(UnbalancedEntry, match=r"\+100 EUR, -100 USD"):
            build_entry(reference="r", description="", lines=[Line(eur, 100), Line(usd, -100)])

    def test_refuses_no_lines_and_zero_lines(self) -> None:
        account = AccountRef.driver_receivable(driver_id=1, currency="EUR")

        with pytest.raises(EmptyEntry):
            build_entry(reference="r", description="", lines=[])
        with pytest.raises(ZeroLine, match="line 1"):
            build_entry(
                reference="r",
                description="",
                lines=[Line(account, 5), Line(account, 0), Line(account, -5)],
            )

    @pytest.mark.parametrize("reference", ["", " r", "r ", "x" * (MAX_REFERENCE_LENGTH + 1)])
    def test_refuses_references_the_ledger_cannot_keep(self, reference: str) -> None:
        account = AccountRef.driver_receivable(driver_id=1, currency="EUR")

        with pytest.raises(InvalidReference):
            build_entry(
                reference=reference, description="", lines=[Line(account, 1), Line(account, -1)]
            )

    def test_refuses_a_description_too_long(self) -> None:
        account = AccountRef.driver_receivable(driver_id=1, currency="EUR")

        with pytest.raises(InvalidEntry, match="description"):
            build_entry(
                reference="r", description="x" * 501, lines=[Line(account, 1), Line(account, -1)]
            )

    @given(lines=balanced_lines())
    def test_a_reversal_balances_and_cancels_every_account(self, lines: tuple[Line, ...]) -> None:
        undone = reversed_lines(lines)

        build_entry(reference="r", description="", lines=undone)
        totals: dict[AccountRef, int] = {}
        for line in (*lines, *undone):
            totals[line.account] = totals.get(line.account, 0) + line.amount_minor
        assert set(totals.values()) == {0}


class TestAccountRef:
    def test_names_accounts_by_kind_currency_and_scope(self) -> None:
        assert AccountRef.revenue(operator_id=7, location_id=None, currency="EUR").scope == (
            "operator:7/location:none"
        )
        assert AccountRef.revenue(operator_id=7, location_id=3, currency="EUR").scope == (
            "operator:7/location:3"
        )
        assert AccountRef.vat_payable(
            operator_id=7, rate=Decimal("19.00"), currency="EUR"
        ).scope == ("operator:7/rate:19")
        assert AccountRef.vat_payable(
            operator_id=7, rate=Decimal("7.70"), currency="CHF"
        ).scope == ("operator:7/rate:7.7")
        assert AccountRef.vat_payable(operator_id=7, rate=Decimal("20"), currency="EUR").scope == (
            "operator:7/rate:20"
        )
        assert AccountRef.psp_fees(provider="stripe", currency="EUR").scope == "psp:stripe"
        assert AccountRef.written_off(operator_id=2, currency="EUR").kind == AccountKind.WRITTEN_OFF

    @pytest.mark.parametrize(
        ("currency", "scope"),
        [("eur", "driver:1"), ("EURO", "driver:1"), ("EUR", ""), ("EUR", " x")],
    )
    def test_refuses_what_it_cannot_name(self, currency: str, scope: str) -> None:
        with pytest.raises(InvalidAccount):
            AccountRef(AccountKind.WALLET, currency, scope)

    def test_refuses_a_negative_vat_rate(self) -> None:
        with pytest.raises(InvalidAccount):
            AccountRef.vat_payable(operator_id=1, rate=Decimal("-1"), currency="EUR")

    def test_an_operators_scopes_are_its_own_and_its_children(self) -> None:
        assert belongs_to_operator("operator:1", operator_id=1)
        assert belongs_to_operator("operator:1/location:3", operator_id=1)
        assert not belongs_to_operator("operator:12/location:3", operator_id=1)
        assert not belongs_to_operator("psp:sandbox", operator_id=1)


class TestLines:
    def test_a_money_line_is_in_the_accounts_currency_and_minor_units(self) -> None:
        account = AccountRef.driver_receivable(driver_id=1, currency="KWD")

        assert Line.of(account=account, amount=Money.of("1.234", "KWD")).amount_minor == 1234
        with pytest.raises(CurrencyMismatch):
            Line.of(account=account, amount=Money.of("1", "EUR"))

    def test_a_transfer_stays_in_one_currency_between_two_accounts(self) -> None:
        eur = AccountRef.psp_clearing(provider="sandbox", currency="EUR")
        other = AccountRef.driver_receivable(driver_id=1, currency="EUR")

        assert transfer_lines(debit=eur, credit=other, amount_minor=5) == (
            Line(eur, 5),
            Line(other, -5),
        )
        with pytest.raises(CurrencyMismatch):
            transfer_lines(
                debit=eur, credit=AccountRef.wallet(driver_id=1, currency="USD"), amount_minor=5
            )
        with pytest.raises(InvalidEntry):
            transfer_lines(debit=eur, credit=eur, amount_minor=5)


class TestHoldAmounts:
    @given(held=st.integers(min_value=1, max_value=10**12), data=st.data())
    def test_posts_any_amount_from_one_to_the_hold(self, held: int, data: st.DataObject) -> None:
        amount = data.draw(st.integers(min_value=1, max_value=held))

        assert check_post_amount(amount_minor=amount, held_minor=held) == amount

    @given(held=st.integers(min_value=1, max_value=10**12), over=st.integers(min_value=1))
    def test_never_posts_more_than_held(self, held: int, over: int) -> None:
        with pytest.raises(InvalidTransferAmount):
            check_post_amount(amount_minor=held + over, held_minor=held)

    @pytest.mark.parametrize("amount", [0, -1, True, 2**63])
    def test_refuses_holds_of_nothing_or_out_of_range(self, amount: int) -> None:
        with pytest.raises(InvalidTransferAmount):
            check_hold_amount(amount)
