"""How the command line prints a page of objects: offset pages and keyset pages."""

from __future__ import annotations

from evbilling.infra.cli import page_text

ROWS = [{"id": 2, "amount": "5.00"}, {"id": 1, "amount": "20.00"}]


class TestPageText:
    def test_an_offset_page_says_which_rows_of_how_many(self) -> None:
        text = page_text({"items": ROWS, "offset": 10, "total": 40}, columns=["id", "amount"])

        assert text.splitlines()[-1] == "(11-12 of 40)"

    def test_a_keyset_page_says_how_to_ask_for_the_next_one(self) -> None:
        text = page_text({"items": ROWS, "next_after": 1, "limit": 2}, columns=["id", "amount"])

        assert "20.00" in text
        assert text.splitlines()[-1] == "(more: --after 1)"

    def test_the_last_keyset_page_says_there_is_no_more(self) -> None:
        text = page_text({"items": ROWS, "next_after": None, "limit": 50}, columns=["id"])

        assert text.splitlines()[-1] == "(no more)"
