"""Run the Alembic migrations shipped with evbilling."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

_ROOT = Path(__file__).resolve().parents[2]


def alembic_config(*, url: str) -> Config:
    config = Config(str(_ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(_ROOT / "migrations"))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(*, url: str, revision: str = "head") -> None:
    """Blocking; call from a thread when inside an event loop."""
    command.upgrade(alembic_config(url=url), revision)
