"""Postpaid accounts through the `evbilling postpaid` command line, against a migrated SQLite
file."""

from __future__ import annotations

from pathlib import Path

from tests.functional.cli_calls import invoke, invoke_json


class TestPostpaidCli:
    def test_creates_links_issues_and_marks_paid(self, cli_database: Path) -> None:
        # Arrange
        driver = invoke_json("driver", "add", "--name", "Ada")
        token = invoke_json("token", "add", "--uid", "0A1B2C3D")

        # Act
        account = invoke_json(
            "postpaid", "create", "--name", "Taxi fleet", "--currency", "EUR",
            "--limit", "5000.00", "--email", "billing@example.com",
        )  # fmt: skip
        linked = invoke("postpaid", "link-driver", str(account["id"]), str(driver["id"]))
        invoke("postpaid", "link-token", str(account["id"]), str(token["id"]))
        statement = invoke_json("postpaid", "statement", str(account["id"]), "--period", "2025-11")
        again = invoke_json("postpaid", "statement", str(account["id"]), "--period", "2025-11")
        paid = invoke_json(
            "postpaid", "mark-paid", str(account["id"]), "--amount", "25.00",
            "--reference", "SEPA-2025-11", "--statement", str(statement["id"]),
        )  # fmt: skip

        # Assert
        assert account["credit_limit_minor"] == 500_000
        assert linked.exit_code == 0, linked.output
        assert (statement["session_count"], statement["total_minor"]) == (0, 0)
        assert again["id"] == statement["id"]
        assert (paid["amount_minor"], paid["method"]) == (2500, "bank_transfer")
        shown = invoke_json("postpaid", "show", str(account["id"]))
        assert shown["outstanding_minor"] == -2500
        preview = invoke_json("postpaid", "preview", str(account["id"]))
        assert (preview["session_count"], preview["closing_balance_minor"]) == (0, -2500)
        assert "id" not in preview  # a preview is not a statement: nothing was issued
        assert [item["id"] for item in invoke_json("postpaid", "list")["items"]] == [account["id"]]

    def test_refuses_an_unbounded_limit_and_creates_nothing(self, cli_database: Path) -> None:
        result = invoke(
            "postpaid", "create", "--name", "Fleet", "--currency", "EUR", "--limit", "1e12"
        )

        assert result.exit_code != 0
        assert "credit_limit" in result.output
        assert invoke_json("postpaid", "list")["items"] == []

    def test_an_unknown_account_is_not_found(self, cli_database: Path) -> None:
        for command in (["statement", "999", "--period", "2025-11"], ["preview", "999"]):
            result = invoke("postpaid", *command)

            assert result.exit_code == 1
            assert "not found" in result.output
