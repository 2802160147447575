"""`evbilling wallet show|credit|movements|close`: the same wallet the API shows, goodwill
with a reason, refusals that change nothing, and the closure of a goodwill-only wallet (an
operator payout: no card to refund)."""

from __future__ import annotations

from pathlib import Path

from tests.functional.cli_calls import invoke, invoke_json


def new_driver() -> int:
    created = invoke_json("driver", "add", "--name", "Ada")
    return int(created["id"])


class TestWalletCommands:
    def test_credit_show_movements_and_close(self, cli_database: Path) -> None:
        driver_id = str(new_driver())

        credited = invoke_json(
            "wallet", "credit", driver_id, "--amount", "EUR:10", "--reason", "broken charger"
        )
        shown = invoke_json("wallet", "show", driver_id)
        moved = invoke_json("wallet", "movements", driver_id)
        closed = invoke_json("wallet", "close", driver_id)

        assert credited["kind"] == "goodwill"
        assert shown["available"] == "10.00"
        assert [row["amount"] for row in moved["items"]] == ["10.00"]
        assert closed == {
            "driver_id": int(driver_id),
            "currency": "EUR",
            "balance": "10.00",
            "refunded": "0.00",
            "payout": "10.00",
        }
        assert invoke_json("wallet", "show", driver_id)["status"] == "closed"

    def test_refuses_without_a_reason_or_above_the_maximum(self, cli_database: Path) -> None:
        driver_id = str(new_driver())

        for options in (
            ["--amount", "EUR:10", "--reason", " "],
            ["--amount", "EUR:500.01", "--reason", "too much"],
            ["--amount", "ten", "--reason", "r"],
        ):
            refused = invoke("wallet", "credit", driver_id, *options)
            assert refused.exit_code != 0, options

        assert invoke("wallet", "show", driver_id).exit_code == 1
