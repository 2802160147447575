"""Locations through the `evbilling` command line, against a migrated SQLite file."""

from __future__ import annotations

from pathlib import Path

from tests.functional.cli_calls import (
    invoke,
    invoke_json,
)


class TestLocationCli:
    def test_updates_and_clears_location_fields(self, cli_database: Path) -> None:
        # Arrange
        location = invoke_json(
            "location", "add", "--name", "Depot", "--time-zone", "Europe/Berlin",
            "--country", "DEU", "--city", "Berlin",
        )  # fmt: skip

        # Act
        updated = invoke_json(
            "location", "update", str(location["id"]), "--name", "Yard", "--clear", "city"
        )
        shown = invoke_json("location", "show", str(location["id"]))

        # Assert
        assert (updated["name"], updated["city"], updated["country"]) == ("Yard", None, "DEU")
        assert shown == updated

    def test_refuses_an_unknown_clear_field(self, cli_database: Path) -> None:
        location = invoke_json("location", "add", "--name", "Depot", "--time-zone", "UTC")

        result = invoke("location", "update", str(location["id"]), "--clear", "name")

        assert result.exit_code == 2
