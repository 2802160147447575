"""Settings from EVBILLING_* environment variables; read only by cli/ and main.py."""

from __future__ import annotations

from pydantic import SecretStr
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
    # HMAC key for API-key digests, the same on every server of one database (at least 32
    # characters). Unset: a SQLite database keeps a generated one beside it (api-key-secret,
    # mode 0600); PostgreSQL requires it.
    api_key_secret: SecretStr | None = None
    api_url: str = "http://127.0.0.1:8080"
    api_key: str | None = None


def load_settings() -> Settings:
    return Settings()
