"""What the guest's live page says about their card, at each step of the payment."""

from __future__ import annotations

from evbilling.money import Money
from evbilling.web.words import card_note

HOLD = Money.of("10.81", "EUR")


def test_a_running_session_shows_the_hold() -> None:
    assert card_note(hold=HOLD, captured=None, released=False, final=False) == (
        "Held on your card: 10.81 EUR"
    )


def test_a_final_amount_not_yet_taken_says_only_the_total_is_taken() -> None:
    assert card_note(hold=HOLD, captured=None, released=False, final=True) == (
        "Only the total is taken from your card; the rest of the 10.81 EUR hold is then released."
    )


def test_a_capture_below_the_hold_says_what_was_taken_and_that_the_rest_is_free() -> None:
    captured = Money.of("0.60", "EUR")
    assert card_note(hold=HOLD, captured=captured, released=False, final=True) == (
        "Charged to your card: 0.60 EUR. The rest of the hold is released."
    )


def test_a_capture_of_the_whole_hold_says_only_what_was_taken() -> None:
    assert card_note(hold=HOLD, captured=HOLD, released=False, final=True) == (
        "Charged to your card: 10.81 EUR."
    )


def test_a_released_hold_says_nothing_was_taken() -> None:
    assert card_note(hold=HOLD, captured=None, released=True, final=True) == (
        "Nothing was taken from your card: the hold is released."
    )


def test_no_hold_says_nothing() -> None:
    assert card_note(hold=None, captured=None, released=False, final=False) is None
