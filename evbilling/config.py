"""Settings from EVBILLING_* environment variables; read only by cli/ and main.py."""

from __future__ import annotations

from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="EVBILLING_", extra="ignore")

    database_url: str = "sqlite+aiosqlite:///var/evbilling.sqlite3"
    host: str = "127.0.0.1"
    port: int = 8080
    log_level: str = "INFO"
    heartbeat_interval_s: int = 300
    # Seconds the server waits for a station to answer an operator command.
    command_timeout_s: float = 30.0
    # Failed station logins tolerated per window before refusing (per station id and per address).
    auth_failures_allowed: int = 5
    auth_failure_window_s: float = 60.0
    api_url: str = "http://127.0.0.1:8080"
    api_key: str | None = None


def load_settings() -> Settings:
    return Settings()
