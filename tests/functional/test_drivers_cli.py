"""Drivers, driver groups and tokens through the `evbilling` command line, against a migrated
SQLite file."""

from __future__ import annotations

from pathlib import Path

from tests.functional.cli_calls import (
    invoke,
    invoke_json,
)


class TestDriverGroupCli:
    def test_groups_drivers_under_a_tariff(self, cli_database: Path) -> None:
        # Arrange
        tariff = invoke_json(
            "tariff", "add", "--name", "Fleet", "--currency", "EUR", "--energy-price", "0.25"
        )

        # Act
        group = invoke_json("group", "add", "--name", "Taxis", "--tariff", str(tariff["id"]))
        driver = invoke_json("driver", "add", "--name", "Ada", "--group", str(group["id"]))
        cleared = invoke_json("group", "update", str(group["id"]), "--clear", "tariff")
        moved = invoke_json("driver", "update", str(driver["id"]), "--clear", "group")

        # Assert
        assert group["tariff_id"] == tariff["id"]
        assert driver["group_id"] == group["id"]
        assert cleared["tariff_id"] is None
        assert moved["group_id"] is None
        assert invoke_json("group", "show", str(group["id"])) == cleared
        assert invoke_json("group", "list")["items"] == [cleared]


class TestTokenCli:
    def test_adds_blocks_and_filters_tokens(self, cli_database: Path) -> None:
        # Arrange
        driver = invoke_json("driver", "add", "--name", "Ada", "--email", "ada@example.com")

        # Act
        token = invoke_json(
            "token", "add", "--uid", "04a2b3c4", "--driver", str(driver["id"]),
            "--expires", "2027-01-01T00:00:00Z",
        )  # fmt: skip
        invoke_json("token", "add", "--uid", "OTHER")
        blocked = invoke_json("token", "update", str(token["id"]), "--status", "blocked")
        of_driver = invoke_json("token", "list", "--driver", str(driver["id"]))
        by_status = invoke_json("token", "list", "--status", "active")

        # Assert
        assert token["uid"] == "04A2B3C4"
        assert token["expires_at"] == "2027-01-01T00:00:00+00:00"
        assert blocked["status"] == "blocked"
        assert [t["uid"] for t in of_driver["items"]] == ["04A2B3C4"]
        assert [t["uid"] for t in by_status["items"]] == ["OTHER"]

    def test_rejects_an_expiry_without_time_zone(self, cli_database: Path) -> None:
        result = invoke("token", "add", "--uid", "04A2B3C4", "--expires", "2027-01-01T00:00:00")

        assert result.exit_code == 2


class TestDriverCli:
    def test_updates_a_driver(self, cli_database: Path) -> None:
        # Arrange
        driver = invoke_json("driver", "add", "--name", "Ada", "--email", "ada@example.com")

        # Act
        updated = invoke_json("driver", "update", str(driver["id"]), "--clear", "email")
        listed = invoke_json("driver", "list")

        # Assert
        assert updated["email"] is None
        assert listed["items"] == [updated]
