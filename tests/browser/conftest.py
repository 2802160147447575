"""Browser tests run on SQLite only: what they check is the pages in a real browser, and the
use cases behind them are tested on both databases (tests/integration/payments)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest


@pytest.fixture
def database_url(sqlite_template: Path, tmp_path: Path) -> str:
    target = tmp_path / "evbilling.sqlite3"
    shutil.copyfile(sqlite_template, target)
    return f"sqlite+aiosqlite:///{target}"
