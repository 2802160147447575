"""The catalog through the `evbilling` command line, against a migrated SQLite file."""

from __future__ import annotations

import json
import shutil
import sqlite3
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from evbilling.cli import app
from evbilling.infra.secrets import verify_secret
from evbilling.tariffs.domain import loads_ocpi
from tests.fixtures import OCPI_EXAMPLES

runner = CliRunner()
EXAMPLES = OCPI_EXAMPLES
EXAMPLE_FILES = sorted(path.name for path in EXAMPLES.glob("tariff_*.json"))


@pytest.fixture
def database(sqlite_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A migrated database file (a copy of the session's `upgrade`d template) for the CLI."""
    path = tmp_path / "cli.sqlite3"
    shutil.copyfile(sqlite_template, path)
    monkeypatch.setenv("EVBILLING_DATABASE_URL", f"sqlite+aiosqlite:///{path}")
    return path


def invoke(*args: str) -> Result:
    return runner.invoke(app, list(args))


def invoke_json(*args: str) -> Any:
    result = invoke(*args, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def invoke_exact(*args: str) -> Any:
    """--json output with its numbers as exact Decimals (tariffs print OCPI numbers)."""
    result = invoke(*args, "--json")
    assert result.exit_code == 0, result.output
    return loads_ocpi(result.stdout)


def exact(value: Any) -> Any:
    """JSON data with each Decimal as its digits, so 2.00 and 2.0 compare unequal."""
    if isinstance(value, Decimal):
        return ("decimal", str(value))
    if isinstance(value, dict):
        return {key: exact(item) for key, item in value.items()}
    if isinstance(value, list):
        return [exact(item) for item in value]
    return value


def add_station(identity: str = "CP-1", *extra: str) -> dict[str, Any]:
    location = invoke_json("location", "add", "--name", "Depot", "--time-zone", "Europe/Berlin")
    created: dict[str, Any] = invoke_json(
        "station", "add", "--identity", identity, "--location", str(location["id"]), *extra
    )
    return created


def stored_password_hash(database: Path, identity: str) -> str:
    with sqlite3.connect(database) as connection:
        row = connection.execute(
            "SELECT password_hash FROM stations WHERE identity = ?", (identity,)
        ).fetchone()
    assert row is not None
    value: str = row[0]
    return value


class TestStationCli:
    def test_registers_a_station_and_prints_its_password_once(self, database: Path) -> None:
        # Act
        created = add_station("CP-1", "--connectors", "2", "--max-power-w", "11000")
        shown = invoke_json("station", "show", "CP-1")

        # Assert
        password = created["password"]
        assert [e["connector_id"] for e in created["station"]["evses"]] == [1, 2]
        assert {e["max_power_w"] for e in created["station"]["evses"]} == {11000}
        assert "password" not in shown
        assert "password_hash" not in shown
        stored = stored_password_hash(database, "CP-1")
        assert stored.startswith("$argon2id$")
        assert verify_secret(secret=password, secret_hash=stored)

    def test_prints_the_password_in_text_mode(self, database: Path) -> None:
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

    def test_set_password_rotates_by_identity(self, database: Path) -> None:
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
        stored = stored_password_hash(database, "CP-1")
        assert verify_secret(secret="another-password-16", secret_hash=stored)

    def test_rejects_duplicate_identity(self, database: Path) -> None:
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

    def test_rejects_a_weak_password_naming_the_field(self, database: Path) -> None:
        # Arrange
        add_station("CP-1")

        # Act
        result = invoke("station", "set-password", "CP-1", "--password", "short")

        # Assert
        assert result.exit_code == 1
        assert "password" in result.stderr

    def test_unknown_station_exits_with_error(self, database: Path) -> None:
        result = invoke("station", "show", "NOPE")

        assert result.exit_code == 1
        assert "station NOPE not found" in result.stderr

    def test_moves_and_clears_tariff(self, database: Path) -> None:
        # Arrange
        tariff = invoke_json(
            "tariff", "add", "--name", "T", "--currency", "EUR", "--energy-price", "0.3"
        )
        add_station("CP-1", "--tariff", str(tariff["id"]))

        # Act
        cleared = invoke_json("station", "update", "CP-1", "--clear", "tariff")

        # Assert
        assert cleared["tariff_id"] is None

    def test_switches_the_price_display(self, database: Path) -> None:
        # Arrange
        created = add_station("CP-1", "--pricing-display")

        # Act
        switched = invoke_json("station", "update", "CP-1", "--no-pricing-display")

        # Assert
        assert created["station"]["pricing_display"] is True
        assert switched["pricing_display"] is False

    def test_lists_stations_as_a_table(self, database: Path) -> None:
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
    def test_adds_and_updates_an_evse_of_a_station_by_identity(self, database: Path) -> None:
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


class TestTariffCli:
    def test_adds_from_simple_prices_with_exact_money(self, database: Path) -> None:
        # Act
        created = invoke_exact(
            "tariff", "add", "--name", "Standard", "--currency", "EUR",
            "--energy-price", "0.350", "--session-fee", "1.00", "--time-price", "1.20",
            "--parking-price", "6.00", "--vat", "19", "--default",
        )  # fmt: skip
        listed = invoke_exact("tariff", "list")

        # Assert
        components = created["ocpi"]["elements"][0]["price_components"]
        assert [(c["type"], str(c["price"])) for c in components] == [
            ("ENERGY", "0.350"),
            ("FLAT", "1.00"),
            ("TIME", "1.20"),
            ("PARKING_TIME", "6.00"),
        ]
        assert (created["is_default"], created["version"], created["currency"]) == (
            True,
            1,
            "EUR",
        )
        assert listed["total"] == 1
        assert exact(listed["items"][0]) == exact(created)

    @pytest.mark.parametrize("name", EXAMPLE_FILES)
    def test_export_imports_back_unchanged(self, database: Path, tmp_path: Path, name: str) -> None:
        # Arrange
        source = EXAMPLES / name
        original = loads_ocpi(source.read_bytes())
        imported = invoke_exact("tariff", "import", str(source))
        exported_file = tmp_path / "exported.json"

        # Act
        printed = invoke("tariff", "export", str(imported["id"]))
        invoke("tariff", "export", str(imported["id"]), "--output", str(exported_file))
        again = invoke_exact(
            "tariff", "import", str(exported_file), "--update", str(imported["id"])
        )

        # Assert
        assert printed.exit_code == 0, printed.output
        if "last_updated" not in original:  # the PUT example: stamped on arrival
            original["last_updated"] = imported["ocpi"]["last_updated"]
        assert exact(loads_ocpi(printed.stdout)) == exact(original)
        assert exported_file.read_text() == printed.stdout
        assert imported["name"] == source.stem
        assert again["version"] == 1  # the same document is no new version

    def test_a_new_document_is_a_new_version(self, database: Path, tmp_path: Path) -> None:
        # Arrange
        created = invoke_exact(
            "tariff", "add", "--name", "T", "--currency", "EUR", "--energy-price", "0.30"
        )
        newer = tmp_path / "newer.json"
        newer.write_text(
            '{"currency": "EUR", "elements": [{"price_components": '
            '[{"type": "ENERGY", "price": 0.45, "step_size": 1}]}]}'
        )

        # Act
        updated = invoke_exact(
            "tariff", "update", str(created["id"]), "--ocpi", str(newer), "--name", "Peak"
        )
        versions = invoke_exact("tariff", "versions", str(created["id"]))
        first = invoke("tariff", "export", str(created["id"]), "--version", "1")
        table_text = invoke("tariff", "versions", str(created["id"]))

        # Assert
        assert (updated["version"], updated["name"]) == (2, "Peak")
        assert updated["ocpi"]["id"] == created["ocpi"]["id"]
        assert [v["version"] for v in versions["items"]] == [1, 2]
        assert '"price": 0.30' in first.stdout
        assert table_text.stdout.splitlines()[0].split() == ["version", "created_at", "elements"]

    def test_shows_a_tariff_with_its_document(self, database: Path) -> None:
        # Arrange
        created = invoke_exact(
            "tariff", "add", "--name", "T", "--currency", "EUR", "--energy-price", "0.30"
        )

        # Act
        result = invoke("tariff", "show", str(created["id"]))

        # Assert
        assert result.exit_code == 0, result.output
        assert "OCPI tariff" in result.stdout
        assert '"price": 0.30' in result.stdout

    def test_rejects_an_invalid_file_naming_every_field(
        self, database: Path, tmp_path: Path
    ) -> None:
        # Arrange
        bad = tmp_path / "bad.json"
        bad.write_text(
            '{"currency": "EUR", "elements": [{"price_components": '
            '[{"type": "ENERGY", "price": -1, "vat": 101, "step_size": 1}]}]}'
        )

        # Act
        result = invoke("tariff", "import", str(bad))

        # Assert
        assert result.exit_code == 1
        assert "ocpi.elements[0].price_components[0].price" in result.stderr
        assert "ocpi.elements[0].price_components[0].vat" in result.stderr
        assert invoke_json("tariff", "list")["total"] == 0

    def test_rejects_out_of_range_vat_and_changes_nothing(self, database: Path) -> None:
        # Act
        result = invoke(
            "tariff", "add", "--name", "T", "--currency", "EUR", "--energy-price", "0.3",
            "--vat", "150",
        )  # fmt: skip

        # Assert
        assert result.exit_code == 1
        assert "vat_percent" in result.stderr
        assert invoke_json("tariff", "list")["total"] == 0

    @pytest.mark.parametrize(
        "args",
        [
            ("--currency", "EUR", "--energy-price", "x"),
            ("--currency", "EUR"),
            ("--ocpi", str(EXAMPLES / "tariff_1_simple_2hour.json"), "--currency", "EUR"),
        ],
    )
    def test_rejects_bad_options(self, database: Path, args: tuple[str, ...]) -> None:
        result = invoke("tariff", "add", "--name", "T", *args)

        assert result.exit_code == 2


class TestDriverGroupCli:
    def test_groups_drivers_under_a_tariff(self, database: Path) -> None:
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
    def test_adds_blocks_and_filters_tokens(self, database: Path) -> None:
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

    def test_rejects_an_expiry_without_time_zone(self, database: Path) -> None:
        result = invoke("token", "add", "--uid", "04A2B3C4", "--expires", "2027-01-01T00:00:00")

        assert result.exit_code == 2


class TestLocationAndDriverCli:
    def test_updates_and_clears_location_fields(self, database: Path) -> None:
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

    def test_refuses_an_unknown_clear_field(self, database: Path) -> None:
        location = invoke_json("location", "add", "--name", "Depot", "--time-zone", "UTC")

        result = invoke("location", "update", str(location["id"]), "--clear", "name")

        assert result.exit_code == 2

    def test_updates_a_driver(self, database: Path) -> None:
        # Arrange
        driver = invoke_json("driver", "add", "--name", "Ada", "--email", "ada@example.com")

        # Act
        updated = invoke_json("driver", "update", str(driver["id"]), "--clear", "email")
        listed = invoke_json("driver", "list")

        # Assert
        assert updated["email"] is None
        assert listed["items"] == [updated]
