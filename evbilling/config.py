"""Settings from EVBILLING_* environment variables; read only by cli/ and main.py."""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="EVBILLING_", extra="ignore")

    database_url: str = "sqlite+aiosqlite:///var/evbilling.sqlite3"
    host: str = "127.0.0.1"
    port: int = 8080
    log_level: str = "INFO"
    # JSON lines when true, readable lines when false; unset: JSON unless stderr is a terminal.
    log_json: bool | None = None
    # Key for the pseudonyms of RFID UIDs, e-mails and addresses in logs; unset: random per
    # process (lines then correlate within one run only).
    log_pseudonym_key: SecretStr | None = None
    heartbeat_interval_s: int = 300
    # Seconds the server waits for a station to answer an operator command.
    command_timeout_s: float = 30.0
    # Failed station logins tolerated per window before refusing (per station id and per address).
    auth_failures_allowed: int = 5
    auth_failure_window_s: float = 60.0
    # An active session nothing was heard about for this long is closed as abandoned.
    session_abandon_after_s: float = Field(default=86_400.0, gt=0)
    api_url: str = "http://127.0.0.1:8080"
    api_key: str | None = None


def load_settings() -> Settings:
    return Settings()
