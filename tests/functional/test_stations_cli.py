"""Stations and EVSEs through the `evbilling` command line, against a migrated SQLite file."""

from __future__ import annotations

from pathlib import Path

from evbilling.infra.secrets import verify_secret
from tests.functional.cli_calls import (
    add_station,
    invoke,
    invoke_json,
    stored_password_hash,
)


class TestStationCli:
    def test_registers_a_station_and_prints_its_password_once(self, cli_database: Path) -> None:
        # Act
        created = add_station("CP-1", "--connectors", "2", "--max-power-w", "11000")
        shown = invoke_json("station", "show", "CP-1")

        # Assert
        password = created["password"]
        assert [e["connector_id"] for e in created["station"]["evses"]] == [1, 2]
        assert {e["max_power_w"] for e in created["station"]["evses"]} == {11000}
        assert "password" not in shown
        assert "password_hash" not in shown
        stored = stored_password_hash(cli_database, "CP-1")
        assert stored.startswith("$argon2id$")
        assert verify_secret(secret=password, secret_hash=stored)

    def test_prints_the_password_in_text_mode(self, cli_database: Path) -> None:
        # Arrange
        location = invoke_json("location", "add", "--name", "Depot", "--time-zone", "UTC")

        # Act
        result = invoke(
            "station", "add", "--identity", "CP-1", "--location", str(location["id"]),
            "--password", "a-chosen-password-16",
        )  # fmt: skip

        # Assert
        assert result.exit_code == 0, result.output
        assert "CP-1" in result.stdout
        assert result.stdout.count("a-chosen-password-16") == 1

    def test_set_password_rotates_by_identity(self, cli_database: Path) -> None:
        # Arrange
        created = add_station("CP-1")

        # Act
        generated = invoke_json("station", "set-password", "CP-1")
        chosen = invoke_json(
            "station", "set-password", str(created["station"]["id"]),
            "--password", "another-password-16",
        )  # fmt: skip

        # Assert
        assert generated["password"] != created["password"]
        assert chosen == {
            "station_id": created["station"]["id"],
            "identity": "CP-1",
            "password": "another-password-16",
        }
        stored = stored_password_hash(cli_database, "CP-1")
        assert verify_secret(secret="another-password-16", secret_hash=stored)

    def test_rejects_duplicate_identity(self, cli_database: Path) -> None:
        # Arrange
        created = add_station("CP-1")

        # Act
        result = invoke(
            "station", "add", "--identity", "CP-1",
            "--location", str(created["station"]["location_id"]),
        )  # fmt: skip

        # Assert
        assert result.exit_code == 1
        assert "already registered" in result.stderr
        assert invoke_json("station", "list")["total"] == 1

    def test_refuses_an_identity_with_a_trailing_newline_and_creates_nothing(
        self, cli_database: Path
    ) -> None:
        # Arrange
        location = invoke_json("location", "add", "--name", "Depot", "--time-zone", "UTC")

        # Act
        result = invoke("station", "add", "--identity", "CP-9\n", "--location", str(location["id"]))

        # Assert
        assert result.exit_code == 2
        assert "--identity" in result.stderr
        assert "must be 1 to 48 characters of A-Z a-z 0-9" in result.stderr
        assert invoke_json("station", "list")["total"] == 0

    def test_rejects_a_weak_password_naming_the_field(self, cli_database: Path) -> None:
        # Arrange
        add_station("CP-1")

        # Act
        result = invoke("station", "set-password", "CP-1", "--password", "short")

        # Assert
        assert result.exit_code == 1
        assert "password" in result.stderr

    def test_unknown_station_exits_with_error(self, cli_database: Path) -> None:
        result = invoke("station", "show", "NOPE")

        assert result.exit_code == 1
        assert "station NOPE not found" in result.stderr

    def test_moves_and_clears_tariff(self, cli_database: Path) -> None:
        # Arrange
        tariff = invoke_json(
            "tariff", "add", "--name", "T", "--currency", "EUR", "--energy-price", "0.3"
        )
        add_station("CP-1", "--tariff", str(tariff["id"]))

        # Act
        cleared = invoke_json("station", "update", "CP-1", "--clear", "tariff")

        # Assert
        assert cleared["tariff_id"] is None

    def test_switches_the_price_display(self, cli_database: Path) -> None:
        # Arrange
        created = add_station("CP-1", "--pricing-display")

        # Act
        switched = invoke_json("station", "update", "CP-1", "--no-pricing-display")

        # Assert
        assert created["station"]["pricing_display"] is True
        assert switched["pricing_display"] is False

    def test_lists_stations_as_a_table(self, cli_database: Path) -> None:
        # Arrange
        add_station("CP-1")

        # Act
        result = invoke("station", "list")

        # Assert
        assert result.exit_code == 0, result.output
        header, row, footer = result.stdout.strip().splitlines()
        assert header.split()[:2] == ["id", "identity"]
        assert row.split()[:2] == ["1", "CP-1"]
        assert footer == "(1-1 of 1)"


class TestEvseCli:
    def test_adds_and_updates_an_evse_of_a_station_by_identity(self, cli_database: Path) -> None:
        # Arrange
        add_station("CP-1")

        # Act
        added = invoke_json(
            "evse", "add", "--station", "CP-1", "--power-type", "DC", "--max-power-w", "50000"
        )
        updated = invoke_json("evse", "update", str(added["id"]), "--uid", "de*abc*e2")
        listed = invoke_json("evse", "list", "--station", "CP-1")

        # Assert
        assert added["connector_id"] == 2
        assert updated["uid"] == "DE*ABC*E2"
        assert [e["connector_id"] for e in listed["items"]] == [1, 2]
