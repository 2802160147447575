"""Calls the CLI tests of the slices share: `evbilling ...` invoked in-process, its JSON read
back (exactly, for OCPI numbers)."""

from __future__ import annotations

import json
import sqlite3
from decimal import Decimal
from pathlib import Path
from typing import Any

from typer.testing import CliRunner, Result

from evbilling.cli import app
from evbilling.tariffs.domain import loads_ocpi
from tests.fixtures import OCPI_EXAMPLES

runner = CliRunner()
EXAMPLES = OCPI_EXAMPLES
EXAMPLE_FILES = sorted(path.name for path in EXAMPLES.glob("tariff_*.json"))


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
