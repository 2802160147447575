"""`evbilling operator payment-policy` and a driver's preference through the command line,
against a migrated SQLite file."""

from __future__ import annotations

from pathlib import Path

from tests.functional.cli_calls import invoke, invoke_json


class TestPaymentPolicyCli:
    def test_shows_and_changes_the_unlinked_token_policy(self, cli_database: Path) -> None:
        shown = invoke_json("operator", "payment-policy")
        fee = invoke_json("operator", "payment-policy", "--unlinked", "fixed-fee", "--fee",
                          "EUR:2.00")  # fmt: skip
        refused = invoke_json("operator", "payment-policy", "--unlinked", "refuse")
        text = invoke("operator", "payment-policy")

        assert shown == {"unlinked": "free", "fee_amount": None, "fee_currency": None}
        assert fee == {"unlinked": "fixed_fee", "fee_amount": "2.00", "fee_currency": "EUR"}
        assert refused["unlinked"] == "refuse"
        assert text.stdout.strip() == "unlinked tokens: refuse; fixed fee EUR 2.00 (VAT included)"

    def test_refuses_a_bad_fee_and_changes_nothing(self, cli_database: Path) -> None:
        no_fee = invoke("operator", "payment-policy", "--unlinked", "fixed-fee")
        garbled = invoke("operator", "payment-policy", "--fee", "two euros")
        too_much = invoke("operator", "payment-policy", "--fee", "EUR:5000")

        assert [r.exit_code != 0 for r in (no_fee, garbled, too_much)] == [True] * 3
        assert "fee" in no_fee.output
        assert invoke_json("operator", "payment-policy")["unlinked"] == "free"

    def test_sets_and_clears_a_drivers_preference(self, cli_database: Path) -> None:
        driver = invoke_json("driver", "add", "--name", "Ada")

        wallet = invoke_json("driver", "update", str(driver["id"]), "--pays-by", "wallet")
        cleared = invoke_json("driver", "update", str(driver["id"]), "--clear", "pays-by")

        assert wallet["payment_preference"] == "wallet"
        assert cleared["payment_preference"] is None
