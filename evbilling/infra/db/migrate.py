"""Run the Alembic migrations shipped with evbilling."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

_MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"


def alembic_config(*, url: str) -> Config:
    # No alembic.ini needed: everything Alembic reads ships inside the package.
    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(*, url: str, revision: str = "head") -> None:
    """Blocking; call from a thread when inside an event loop."""
    command.upgrade(alembic_config(url=url), revision)
