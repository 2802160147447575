"""The sandbox's test cards and the hosted page's checks."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from evbilling.payments.psp.sandbox.cards import (
    TEST_CARDS,
    CardBehaviour,
    CardRejected,
    check_card,
    luhn_valid,
)

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


class TestTestCards:
    def test_every_behaviour_has_exactly_one_card(self) -> None:
        assert sorted(TEST_CARDS.values()) == sorted(CardBehaviour)

    @pytest.mark.parametrize("number", sorted(TEST_CARDS))
    def test_every_test_card_passes_luhn(self, number: str) -> None:
        assert luhn_valid(number)


class TestCheckCard:
    def test_keeps_brand_last4_expiry_and_behaviour_only(self) -> None:
        card = check_card(number="4000 0000 0000 0119", expiry="04/29", cvc="123", now=NOW)
        assert (card.brand, card.last4, card.exp_month, card.exp_year) == ("visa", "0119", 4, 2029)
        assert card.behaviour is CardBehaviour.PARTIAL_AUTHORIZATION
        assert not hasattr(card, "number")

    @pytest.mark.parametrize(
        ("number", "expiry", "cvc", "field"),
        [
            ("4242424242424241", "12/34", "123", "number"),  # Luhn
            ("4242", "12/34", "123", "number"),
            ("4111111111111111", "12/34", "123", "number"),  # valid, but not a sandbox card
            ("4242424242424242", "02/26", "123", "expiry"),  # last month
            ("4242424242424242", "13/30", "123", "expiry"),
            ("4242424242424242", "1230", "123", "expiry"),
            ("4242424242424242", "12/34", "12", "cvc"),
            ("4242424242424242", "12/34", "12345", "cvc"),
            ("4242424242424242", "12/34", "12a", "cvc"),
        ],
    )
    def test_refuses_bad_input_naming_the_field(
        self, number: str, expiry: str, cvc: str, field: str
    ) -> None:
        with pytest.raises(CardRejected) as rejected:
            check_card(number=number, expiry=expiry, cvc=cvc, now=NOW)
        assert rejected.value.field == field
        assert number not in str(rejected.value)

    def test_accepts_a_card_expiring_this_month(self) -> None:
        assert check_card(number="4242424242424242", expiry="03/26", cvc="1234", now=NOW)
