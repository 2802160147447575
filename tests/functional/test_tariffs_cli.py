"""Tariffs through the `evbilling` command line, against a migrated SQLite file."""

from __future__ import annotations

from pathlib import Path

import pytest

from evbilling.tariffs.domain import loads_ocpi
from tests.functional.cli_calls import (
    EXAMPLE_FILES,
    EXAMPLES,
    exact,
    invoke,
    invoke_exact,
    invoke_json,
)


class TestTariffCli:
    def test_adds_from_simple_prices_with_exact_money(self, cli_database: Path) -> None:
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
    def test_export_imports_back_unchanged(
        self, cli_database: Path, tmp_path: Path, name: str
    ) -> None:
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

    def test_a_new_document_is_a_new_version(self, cli_database: Path, tmp_path: Path) -> None:
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

    def test_shows_a_tariff_with_its_document(self, cli_database: Path) -> None:
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
        self, cli_database: Path, tmp_path: Path
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
        assert result.exit_code == 2
        assert "ocpi.elements[0].price_components[0].price" in result.stderr
        assert "ocpi.elements[0].price_components[0].vat" in result.stderr
        assert invoke_json("tariff", "list")["total"] == 0

    def test_rejects_out_of_range_vat_and_changes_nothing(self, cli_database: Path) -> None:
        # Act
        result = invoke(
            "tariff", "add", "--name", "T", "--currency", "EUR", "--energy-price", "0.3",
            "--vat", "150",
        )  # fmt: skip

        # Assert
        assert result.exit_code == 2
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
    def test_rejects_bad_options(self, cli_database: Path, args: tuple[str, ...]) -> None:
        result = invoke("tariff", "add", "--name", "T", *args)

        assert result.exit_code == 2
